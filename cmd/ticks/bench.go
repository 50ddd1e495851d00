package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/ticksapp/ticks/internal/bench"
)

func benchCmd(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "send" {
		return benchSend(ctx, args[1:], out)
	}
	if len(args) == 0 || args[0] != "ingest" {
		return fmt.Errorf("usage: ticks bench ingest|send [flags]  (-h for each)")
	}
	fs := flag.NewFlagSet("ticks bench ingest", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o := bench.IngestOptions{}
	fs.IntVar(&o.Messages, "messages", 50000, "messages; each gets sent, delivered and read statuses")
	fs.IntVar(&o.PerBody, "per-body", 1, "status events per webhook body")
	fs.IntVar(&o.Clients, "clients", 64, "concurrent HTTP clients")
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("TICKS_DATABASE_URL"), "database (default: a fresh SQLite file)")
	fs.StringVar(&o.SQLiteSync, "sqlite-sync", "normal", "SQLite synchronous mode: normal or full")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if o.Messages < 1 || o.PerBody < 1 || o.Clients < 1 {
		return fmt.Errorf("-messages, -per-body and -clients must be positive")
	}
	res, err := bench.Ingest(ctx, o)
	if err != nil {
		return err
	}
	dialect := "sqlite (synchronous=" + o.SQLiteSync + ")"
	if strings.HasPrefix(o.DatabaseURL, "postgres") {
		dialect = "postgresql"
	}
	res.Print(out, o, dialect)
	return nil
}

func benchSend(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticks bench send", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o := bench.SendOptions{}
	fs.IntVar(&o.Messages, "messages", 30000, "messages to send")
	fs.IntVar(&o.Numbers, "numbers", 4, "business numbers, each at Meta's maximum of 1,000 messages/s")
	fs.IntVar(&o.Senders, "senders", 64, "concurrent senders")
	fs.IntVar(&o.Contacts, "contacts", 20000, "distinct contacts")
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("TICKS_DATABASE_URL"), "database (default: a fresh SQLite file)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if o.Messages < 1 || o.Numbers < 1 || o.Senders < 1 || o.Contacts < 1 {
		return fmt.Errorf("-messages, -numbers, -senders and -contacts must be positive")
	}
	res, err := bench.Send(ctx, o)
	if err != nil {
		return err
	}
	dialect := "sqlite"
	if strings.HasPrefix(o.DatabaseURL, "postgres") {
		dialect = "postgresql"
	}
	res.Print(out, o, dialect)
	return nil
}
