package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/switchboard-cc/switchboard/crmstore"
)

func init() {
	register("seed", command{
		summary: "load demo data: staff, queues, scripts and customers with their history",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			cfg := DefaultConfig()
			fs := flag.NewFlagSet("seed", flag.ContinueOnError)
			cfg.bindDatabaseFlags(fs)
			opts := crmstore.SeedOptions{Customers: 1000, Rand: 1}
			fs.IntVar(&opts.Customers, "customers", opts.Customers, "how many demo customers to add")
			fs.Uint64Var(&opts.Rand, "rand", opts.Rand, "random seed: the same seed gives the same data")
			fs.IntVar(&opts.Workers, "workers", 2, "database connections loading in parallel")
			fs.StringVar(&opts.Region, "phone-region", cfg.PhoneRegion, "phone `region` of the numbers")
			if err := parseCommandFlags(fs, args, stdout); err != nil {
				return err
			}
			if opts.Customers < 0 {
				return errUsage{fmt.Errorf("invalid -customers %d: must not be negative", opts.Customers)}
			}
			if err := validateDatabaseURL(cfg.DatabaseURL); err != nil {
				return errUsage{err}
			}
			db, err := openDB(ctx, cfg.DatabaseURL)
			if err != nil {
				return err
			}
			defer db.Close()
			if _, err := crmstore.Migrate(ctx, db.Pool); err != nil {
				return err
			}
			rep, err := crmstore.Seed(ctx, db, opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "seeded %d agents, %d queues, %d scripts, %d customers (%d numbers, %d addresses, %d interactions) in %s\n",
				rep.Agents, rep.Queues, rep.Scripts, rep.Customers, rep.Phones, rep.Emails, rep.Interactions, rep.Elapsed.Round(1e6))
			return nil
		},
	})
}
