package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ticksapp/ticks/internal/bench"
	"github.com/ticksapp/ticks/internal/reports"
)

func benchCmd(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "send":
			return benchSend(ctx, args[1:], out)
		case "seed":
			return benchSeed(ctx, args[1:], out)
		case "report":
			return benchReport(ctx, args[1:], out)
		case "export":
			return benchExport(ctx, args[1:], out)
		case "extract":
			return benchExtract(ctx, args[1:], out)
		case "events":
			return benchEvents(ctx, args[1:], out)
		case "desk":
			return benchDesk(ctx, args[1:], out)
		case "campaign":
			return benchCampaign(ctx, args[1:], out)
		case "consumption":
			return benchConsumption(ctx, args[1:], out)
		}
	}
	if len(args) == 0 || args[0] != "ingest" {
		return fmt.Errorf("usage: ticks bench ingest|send|seed|report|export|extract|events|desk|campaign|consumption [flags]  (-h for each)")
	}
	fs := flag.NewFlagSet("ticks bench ingest", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o := bench.IngestOptions{}
	fs.IntVar(&o.Messages, "messages", 50000, "messages; each gets sent, delivered and read statuses")
	fs.IntVar(&o.PerBody, "per-body", 1, "status events per webhook body")
	fs.BoolVar(&o.Unknown, "unknown", false, "statuses of messages ticks did not send (each sent status creates its message)")
	fs.IntVar(&o.Statuses, "statuses", 3, "statuses per message: sent, delivered, read, the first 1 to 3 of them (-unknown -statuses 1: every event creates its message)")
	fs.IntVar(&o.Clients, "clients", 64, "concurrent HTTP clients")
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("TICKS_DATABASE_URL"), "database (default: a fresh SQLite file)")
	fs.StringVar(&o.SQLiteSync, "sqlite-sync", "normal", "SQLite synchronous mode: normal or full")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of ticks's part of the run (from its first request until all is applied) to this file")
	fs.DurationVar(&o.Gather, "gather", 0, "how long the inbox gathers a group commit (default: the server's, 250µs)")
	fs.DurationVar(&o.Linger, "linger", 0, "how long the processor waits after a short batch (default: the server's, 50ms)")
	fs.IntVar(&o.DeskAgents, "desk-agents", 0, "help-desk agents with their desk page's live stream open during ticks's part; times their active messages' read status to the page")
	runs := fs.Int("runs", 1, "runs of the pair (no-op handler, then ticks); the median ratios are printed last")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if o.Messages < 1 || o.PerBody < 1 || o.Clients < 1 || *runs < 1 {
		return fmt.Errorf("-messages, -per-body, -clients and -runs must be positive")
	}
	dialect := "sqlite (synchronous=" + o.SQLiteSync + ")"
	if strings.HasPrefix(o.DatabaseURL, "postgres") {
		dialect = "postgresql"
	}
	var results []*bench.IngestResult
	for run := 1; run <= *runs; run++ {
		res, err := bench.Ingest(ctx, o)
		if err != nil {
			return err
		}
		if *runs > 1 {
			fmt.Fprintf(out, "run %d of %d\n", run, *runs)
		}
		res.Print(out, o, dialect)
		results = append(results, res)
	}
	if *runs > 1 {
		bench.PrintMedians(out, results)
	}
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

func benchSeed(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticks bench seed", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o := bench.SeedOptions{Progress: os.Stderr}
	fs.IntVar(&o.Messages, "messages", 1000000, "messages in the main subaccount (a small second one gets 1% more)")
	fs.IntVar(&o.Days, "days", 90, "days the messages span, ending now")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed gives the same data")
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("TICKS_DATABASE_URL"), "an empty database: SQLite file path or postgres:// URL")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if o.DatabaseURL == "" {
		return fmt.Errorf("-database-url is required")
	}
	res, err := bench.Seed(ctx, o)
	if err != nil {
		return err
	}
	res.Print(out)
	return nil
}

func benchReport(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticks bench report", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o := bench.ReportOptions{}
	fs.IntVar(&o.Runs, "runs", 7, "timed runs of each case, after one warm-up")
	fs.IntVar(&o.Limit, "limit", 50, "page size")
	fs.StringVar(&o.Only, "only", "", "run only the cases whose name contains this")
	fs.BoolVar(&o.Combos, "combos", true, "also every combination of one to three of status, content type, conversation type and session")
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("TICKS_DATABASE_URL"), "a database seeded by ticks bench seed")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if o.DatabaseURL == "" {
		return fmt.Errorf("-database-url is required")
	}
	res, err := bench.Report(ctx, o)
	if err != nil {
		return err
	}
	res.Print(out)
	return nil
}

func benchExport(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticks bench export", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o := bench.ExportOptions{}
	fs.Int64Var(&o.Rows, "rows", 1000000, "about how many rows to export (the newest whole hours holding them)")
	formats := fs.String("formats", "csv,xlsx", "formats to export, comma-separated: csv, xlsx, pdf")
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("TICKS_DATABASE_URL"), "a database seeded by ticks bench seed")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	overHTTP := fs.Bool("http", false, "download through a running server, as a client does, instead of writing in process")
	concurrent := fs.Int("concurrent", 1, "with -http: downloads at once (peak RSS of server and client together)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if o.DatabaseURL == "" {
		return fmt.Errorf("-database-url is required")
	}
	if *overHTTP {
		stop, err := bench.StartCPUProfile(*cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
		for _, f := range strings.Split(*formats, ",") {
			res, err := bench.ExportHTTP(ctx, bench.HTTPExportOptions{DatabaseURL: o.DatabaseURL, Rows: o.Rows, Format: f, Concurrent: *concurrent})
			if err != nil {
				return err
			}
			res.Print(out)
		}
		return nil
	}
	for _, f := range strings.Split(*formats, ",") {
		if _, ok := reports.Formats[f]; !ok {
			return fmt.Errorf("unknown format %q: csv, xlsx or pdf", f)
		}
		o.Formats = append(o.Formats, f)
	}
	stop, err := bench.StartCPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stop()
	res, err := bench.Export(ctx, o)
	if err != nil {
		return err
	}
	res.Print(out)
	return nil
}

// benchExtract measures the report manager's extractions on a seeded
// database (issue 18's benchmark).
func benchExtract(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticks bench extract", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o := bench.ExtractOptions{}
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("TICKS_DATABASE_URL"), "a database seeded by ticks bench seed")
	fs.StringVar(&o.Type, "type", "notifications_summary", "the table to extract")
	fs.IntVar(&o.Days, "days", 90, "the period's days, ending on the seed's newest")
	formats := fs.String("formats", "csv,xlsx", "formats, comma-separated: csv, xlsx")
	fs.StringVar(&o.Dir, "dir", "", "where to write the files (a temporary folder, removed, when empty)")
	fs.Int64Var(&o.CompressAbove, "compress-above", 0, "gzip a CSV larger than this many bytes (the server's default, 32 MiB, when 0)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if o.DatabaseURL == "" {
		return fmt.Errorf("-database-url is required")
	}
	o.Formats = strings.Split(*formats, ",")
	stop, err := bench.StartCPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stop()
	res, err := bench.Extract(ctx, o)
	if err != nil {
		return err
	}
	res.Print(out)
	return nil
}

func benchCampaign(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "dispatch" && args[0] != "page") {
		return fmt.Errorf("usage: ticks bench campaign import|dispatch|page [flags]")
	}
	mode := args[0]
	fs := flag.NewFlagSet("ticks bench campaign "+mode, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o := bench.CampaignOptions{}
	def := map[string]int{"import": 1_000_000, "dispatch": 100_000, "page": 1_000_000}[mode]
	fs.IntVar(&o.Rows, "rows", def, "audience rows")
	fs.IntVar(&o.Parallel, "parallel", 0, "dispatch: sends of the campaign in flight at once (0: as a server does, from the channel's throughput)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured part to this file")
	fs.IntVar(&o.Requests, "requests", 20, "page: page loads measured (after one that warms up)")
	fs.StringVar(&o.Phones, "phones", "e164", "how the audience writes its numbers: e164 (+5511987654321) or national ((11) 98765-4321)")
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("TICKS_DATABASE_URL"), "database (default: a fresh SQLite file)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if o.Phones != "e164" && o.Phones != "national" {
		return fmt.Errorf("-phones must be e164 or national")
	}
	if o.Rows < 1 || o.Parallel < 0 || o.Requests < 1 {
		return fmt.Errorf("-rows and -requests must be positive, -parallel not negative")
	}
	dialect := "sqlite"
	if strings.HasPrefix(o.DatabaseURL, "postgres") {
		dialect = "postgresql"
	}
	run := map[string]func(context.Context, bench.CampaignOptions) (*bench.CampaignResult, error){
		"import": bench.CampaignImport, "dispatch": bench.CampaignDispatch, "page": bench.CampaignPage}[mode]
	res, err := run(ctx, o)
	if err != nil {
		return err
	}
	res.Print(out, o, dialect)
	return nil
}
