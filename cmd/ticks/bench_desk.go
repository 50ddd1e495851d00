package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ticksapp/ticks/internal/bench"
)

// benchDesk times the help desk's attendance metrics over generated
// tickets (issue 16).
func benchDesk(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticks bench desk", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o := bench.DeskMetricsOptions{}
	fs.IntVar(&o.Tickets, "tickets", 1_000_000, "tickets to generate")
	fs.IntVar(&o.Days, "days", 90, "spread over this many days")
	fs.IntVar(&o.Agents, "agents", 200, "agents")
	fs.IntVar(&o.Teams, "teams", 10, "teams")
	fs.IntVar(&o.Runs, "runs", 5, "times the metrics are read")
	fs.StringVar(&o.DatabaseURL, "database-url", "", "database (default: a fresh SQLite file); postgres:// gets a fresh schema")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the metrics' reads to this file")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if o.Tickets < 1 || o.Days < 1 || o.Agents < 1 || o.Teams < 1 || o.Runs < 1 {
		return fmt.Errorf("-tickets, -days, -agents, -teams and -runs must be positive")
	}
	res, err := bench.DeskMetrics(ctx, o)
	if err != nil {
		return err
	}
	res.Print(out, o)
	return nil
}
