package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/bench"
)

// benchEvents runs the event tracks' benchmarks: intake (batches posted to
// the API against a no-op handler), seed (a generated history in a SQLite
// file) and report (the custom report and a funnel timed over a seed).
func benchEvents(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: ticks bench events intake|seed|report [flags]")
	}
	fs := flag.NewFlagSet("ticks bench events "+args[0], flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	switch args[0] {
	case "intake":
		o := bench.EventsIntakeOptions{}
		fs.IntVar(&o.Events, "events", 200000, "events")
		fs.IntVar(&o.Batch, "batch", 100, "events a request")
		fs.IntVar(&o.Clients, "clients", 16, "concurrent HTTP clients")
		fs.IntVar(&o.Contacts, "contacts", 20000, "distinct contacts")
		fs.StringVar(&o.DatabaseURL, "database-url", "", "database (default: a fresh SQLite file)")
		fs.StringVar(&o.SQLiteSync, "sqlite-sync", "normal", "SQLite synchronous mode: normal or full")
		fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of ticks's part to this file")
		fs.BoolVar(&o.FoldAfter, "fold-after", false, "hold the event folder until every batch is answered: measure the answers and the fold each alone")
		runs := fs.Int("runs", 1, "runs")
		if err := fs.Parse(args[1:]); err != nil {
			return errUsage
		}
		dialect := "sqlite (synchronous=" + o.SQLiteSync + ")"
		if strings.HasPrefix(o.DatabaseURL, "postgres") {
			dialect = "postgresql"
		}
		for range *runs {
			res, err := bench.EventsIntake(ctx, o)
			if err != nil {
				return err
			}
			res.Print(out, o, dialect)
		}
		return nil
	case "seed":
		o := bench.EventsSeedOptions{Progress: os.Stderr}
		fs.StringVar(&o.Path, "db", "", "SQLite file to create")
		fs.IntVar(&o.Events, "events", 1000000, "events")
		fs.IntVar(&o.Days, "days", 90, "days of history, ending today")
		fs.IntVar(&o.Contacts, "contacts", 200000, "contacts")
		fs.IntVar(&o.Bots, "bots", 3, "bots")
		fs.BoolVar(&o.Raw, "raw", false, "also write every event's row (funnels and hourly reports read them)")
		if err := fs.Parse(args[1:]); err != nil || o.Path == "" {
			return errUsage
		}
		res, err := bench.EventsSeed(ctx, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "seeded %d events over %d days (%d contacts, %d bots, raw rows %v): %d hourly rows, %d contact counters, %v\n",
			res.Events, o.Days, o.Contacts, o.Bots, o.Raw, res.HourRows, res.ContactRows, res.Took.Round(time.Second))
		return nil
	case "report":
		path := fs.String("db", "", "a seeded SQLite file")
		days := fs.Int("days", 90, "days the reports cover, ending today")
		runs := fs.Int("runs", 7, "runs of each query")
		raw := fs.Bool("raw", false, "the seed has the events' rows: time a funnel and an hourly report too")
		only := fs.String("only", "", "time only the queries whose name starts with this (\"funnel\", \"report, day\")")
		profile := fs.String("cpuprofile", "", "write a CPU profile of the queries to this file")
		if err := fs.Parse(args[1:]); err != nil || *path == "" {
			return errUsage
		}
		stop, err := bench.StartCPUProfile(*profile)
		if err != nil {
			return err
		}
		list, err := bench.EventsReports(ctx, *path, time.Now(), *days, *runs, *raw, *only)
		stop()
		if err != nil {
			return err
		}
		for _, t := range list {
			fmt.Fprintf(out, "%-30s median %8v  min %8v  (%d rows; %s)\n", t.Name, t.Median.Round(100*time.Microsecond),
				t.Min.Round(100*time.Microsecond), t.Rows, t.Detail)
		}
		return nil
	}
	return fmt.Errorf("usage: ticks bench events intake|seed|report [flags]")
}
