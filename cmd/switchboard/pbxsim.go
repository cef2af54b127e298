package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/switchboard-cc/switchboard/cti/arisim"
)

func init() {
	register("pbxsim", command{
		summary: "run the ARI emulator (a strict stand-in for Asterisk) with optional demo traffic",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := flag.NewFlagSet("pbxsim", flag.ContinueOnError)
			addr := fs.String("listen", "127.0.0.1:8088", "`address` the emulated ARI listens on (its URL is http://ADDRESS/ari)")
			user := fs.String("ari-user", "switchboard", "ARI user the emulator accepts")
			password := fs.String("ari-password", "switchboard", "ARI password the emulator accepts")
			rate := fs.Float64("calls-per-minute", 4, "demo traffic: mean new calls a minute; 0 for none")
			scale := fs.Float64("time-scale", 1, "multiplies every simulated duration (0.1: ten times faster)")
			if err := parseCommandFlags(fs, args, stdout); err != nil {
				return err
			}
			if *scale <= 0 {
				return errUsage{fmt.Errorf("invalid -time-scale %g: must be positive", *scale)}
			}
			if *rate < 0 {
				return errUsage{fmt.Errorf("invalid -calls-per-minute %g: must not be negative", *rate)}
			}
			log := slog.New(slog.NewTextHandler(stderr, nil))
			sim := arisim.New(arisim.Config{Username: *user, Password: *password, TimeScale: *scale, Endpoints: pbxsimEndpoints(), Logger: log})
			defer sim.Close()
			got, err := sim.Start(ctx, *addr)
			if err != nil {
				return fmt.Errorf("listen on -listen %s: %w", *addr, err)
			}
			fmt.Fprintf(stdout, "ARI emulator at http://%s/ari (user %s)\n", got, *user)
			if *rate > 0 {
				err := sim.Demo(ctx, arisim.DemoConfig{CallsPerMinute: *rate})
				if err != nil && !errors.Is(err, context.Canceled) {
					return err
				}
			}
			<-ctx.Done()
			return nil
		},
	})
}

// demoEndpoints are the demo agents' emulated desk phones (the seeded agent1–agent3 have PJSIP/1001–1003): they ring until the
// agent accepts the offer in the browser, which answers them, as a softphone would.
func demoEndpoints() map[string]arisim.Behaviour {
	return map[string]arisim.Behaviour{
		"PJSIP/1001": {Registered: true, NoAnswer: true},
		"PJSIP/1002": {Registered: true, NoAnswer: true},
		"PJSIP/1003": {Registered: true, NoAnswer: true},
	}
}

// pbxsimEndpoints are the demo agents' desk phones for a standalone emulator: with no browser to answer them, they pick up a few
// seconds after they ring and hang up a while later.
func pbxsimEndpoints() map[string]arisim.Behaviour {
	return map[string]arisim.Behaviour{
		"PJSIP/1001": {Registered: true, AnswerAfter: 3 * time.Second, HangupAfter: 90 * time.Second},
		"PJSIP/1002": {Registered: true, AnswerAfter: 4 * time.Second, HangupAfter: 120 * time.Second},
		"PJSIP/1003": {Registered: true, AnswerAfter: 5 * time.Second, HangupAfter: 60 * time.Second},
	}
}
