package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
)

func init() {
	register("migrate", command{
		summary: "apply pending database migrations",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			cfg := DefaultConfig()
			fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
			cfg.bindDatabaseFlags(fs)
			if err := parseCommandFlags(fs, args, stdout); err != nil {
				return err
			}
			if err := validateDatabaseURL(cfg.DatabaseURL); err != nil {
				return errUsage{err}
			}
			db, err := openDB(ctx, cfg.DatabaseURL)
			if err != nil {
				return err
			}
			defer db.Close()
			applied, err := crmstore.Migrate(ctx, db.Pool)
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(stdout, "database is up to date")
			} else {
				fmt.Fprintf(stdout, "applied %d migrations: %s\n", len(applied), strings.Join(applied, ", "))
			}
			return nil
		},
	})
}

// openDB connects with a bounded wait, so an unreachable server fails the start with one line instead of hanging.
func openDB(ctx context.Context, url string) (*crmstore.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return crmstore.Open(ctx, url)
}
