// Command switchboard is the Switchboard contact-center server and its tools, in one binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"

	"github.com/switchboard-cc/switchboard/cti"
)

// command is one subcommand of the binary.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name string, c command) { commands[name] = c }

func commandSummary(name string) string { return commands[name].summary }

// errUsage marks errors in how the command was called: exit status 2.
type errUsage struct{ error }

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(runCommand(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// The collector's defaults: GOGC=100 suits small tools, but a server allocating for hundreds of calls a second collected
// 40+ times a second at it (see docs/performance.md, "switchboard load"). The live heap is small (tens of KB a live call),
// so the process collects when the heap has grown by defaultGCPercent of it, and defaultMemoryLimit keeps that growth from
// taking memory the machine does not have: near the limit the collector runs as often as it must. GOGC and GOMEMLIMIT,
// the runtime's own variables, override either.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 1 << 30
)

func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// runCommand dispatches to a subcommand and turns its error into one line on stderr and an exit status.
func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			return runCommand(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		printHelp(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "switchboard: unknown command %q (see switchboard help)\n", args[0])
		return 2
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	var usage errUsage
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "switchboard %s: %v\n", args[0], err)
		return 2
	case cti.ErrorCode(err) != cti.EINTERNAL:
		fmt.Fprintf(stderr, "switchboard %s: %s\n", args[0], cti.ErrorMessage(err))
		return 1
	default:
		fmt.Fprintf(stderr, "switchboard %s: %v\n", args[0], err)
		return 1
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "Switchboard: a contact-center server for Asterisk.")
	fmt.Fprintln(w, "\nUsage: switchboard <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --help. Settings are also read from SWITCHBOARD_* environment variables.")
}

// parseCommandFlags parses a subcommand's flags and marks failures as usage errors.
func parseCommandFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	if err := parseFlags(fs, args, stdout, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage{err}
	}
	return nil
}
