package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/switchboard-cc/switchboard/ivr"
)

func init() {
	register("ivr", command{
		summary: "check IVR flow files, or walk a flow offline (ivr check FILES…, ivr simulate FLOW)",
		run:     runIVR,
	})
}

func runIVR(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprint(stdout, `Usage: switchboard ivr check [--prompts FILE] FILES…
       switchboard ivr simulate [--caller NUMBER] [--dialed NUMBER] [--digits 1,2#] [--at TIME] [--prompts FILE] FLOW

check validates flow files (file:line:column and node for every problem) and exits non-zero on any.
simulate walks one flow offline, with no database: lookups find nobody, playbacks end at once, and
--digits lists what the caller types at each successive prompt, separated by commas.
`)
		return flag.ErrHelp
	}
	switch args[0] {
	case "check":
		fs := flag.NewFlagSet("ivr check", flag.ContinueOnError)
		prompts := fs.String("prompts", "", "prompt catalogue `file` (one sound name a line); empty: prompts are not checked")
		fs.SetOutput(io.Discard)
		if err := fs.Parse(args[1:]); err != nil {
			return errUsage{errors.New(flagError(err.Error()))}
		}
		cat, err := loadCatalogue(*prompts)
		if err != nil {
			return err
		}
		if code := ivr.Check(stdout, fs.Args(), cat); code != 0 {
			if code == 2 {
				return errUsage{errors.New("no flow files given")}
			}
			return errors.New("the flows have problems")
		}
		return nil
	case "simulate":
		fs := flag.NewFlagSet("ivr simulate", flag.ContinueOnError)
		caller := fs.String("caller", "+8613800138000", "caller `number`")
		dialed := fs.String("dialed", "", "dialed `number` (default: the flow's first number)")
		digits := fs.String("digits", "", "what the caller types at each prompt, comma separated, e.g. 1,2#")
		prompts := fs.String("prompts", "", "prompt catalogue `file`")
		at := fs.String("at", "", "the `time` of the call, RFC 3339 (default: now); business-hours branches depend on it")
		fs.SetOutput(io.Discard)
		// The flow may come before or after the flags.
		rest := args[1:]
		var flow string
		if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
			flow, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return errUsage{errors.New(flagError(err.Error()))}
		}
		if flow == "" && fs.NArg() == 1 {
			flow = fs.Arg(0)
		} else if fs.NArg() > 0 || flow == "" {
			return errUsage{errors.New("want exactly one FLOW file")}
		}
		cat, err := loadCatalogue(*prompts)
		if err != nil {
			return err
		}
		now := time.Now()
		if *at != "" {
			if now, err = time.Parse(time.RFC3339, *at); err != nil {
				return errUsage{fmt.Errorf("invalid -at %q: want RFC 3339 such as 2026-11-23T10:00:00+08:00", *at)}
			}
		}
		return ivr.Simulate(stdout, flow, *caller, *digits, now, ivr.SimOptions{Dialed: *dialed, Catalogue: cat})
	default:
		return errUsage{fmt.Errorf("unknown ivr command %q: want check or simulate", args[0])}
	}
}

func loadCatalogue(file string) (ivr.PromptCatalogue, error) {
	if file == "" {
		return nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ivr.ParseCatalogue(data), nil
}
