package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/store"
)

// ExtractOptions configures the report manager's benchmark.
type ExtractOptions struct {
	DatabaseURL   string   // a database seeded by Seed
	Type          string   // the table: notifications_summary by default
	Days          int      // the period, ending on the seed's newest day: 90 by default
	Formats       []string // csv, xlsx
	Dir           string   // where the files are written (a temporary folder when empty)
	CompressAbove int64    // extracts.Service.CompressAbove (its default when 0)
}

// ExtractTiming is one extraction's measurement.
type ExtractTiming struct {
	Format  string
	File    string // the stored name: .csv.gz when gzipped
	Rows    int64
	Bytes   int64
	Elapsed time.Duration
	CPU     time.Duration // the process's CPU time, user and system, during it
	PeakRSS int64
}

// ExtractResult is a run of the benchmark.
type ExtractResult struct {
	Dialect  store.Dialect
	Type     string
	From, To string
	Timings  []ExtractTiming
}

// ExtractTargets are issue 18's bars: rows per second, and the peak
// resident memory.
var (
	ExtractTargets   = map[string]float64{"csv": 300_000, "xlsx": 80_000}
	ExtractRSSTarget = int64(200e6)
)

// Extract runs the report manager's extraction of the seeded subaccount
// over the last Days days of its messages, as its background job does
// (Service.Run: the count, the rows read window by window, the cells in
// pt-BR, the file written, gzipped past CompressAbove, and stored), once
// per format, and measures each.
func Extract(ctx context.Context, o ExtractOptions) (*ExtractResult, error) {
	if o.Type == "" {
		o.Type = "notifications_summary"
	}
	if o.Days <= 0 {
		o.Days = 90
	}
	st, err := openSeeded(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	// A seed older than the extractions' last migration gets it.
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	db, err := rawDB(st.Dialect(), o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	sa, err := benchSubaccount(ctx, db)
	if err != nil {
		return nil, err
	}
	var newest int64
	if err := db.QueryRowContext(ctx, `SELECT MAX(at) FROM messages WHERE subaccount_id = $1 AND direction = 'mt'`, sa).Scan(&newest); err != nil {
		return nil, fmt.Errorf("newest message: %w", err)
	}
	loc, _ := time.LoadLocation("America/Sao_Paulo")
	last := time.UnixMilli(newest).In(loc)
	first := last.AddDate(0, 0, -(o.Days - 1))
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ticks-bench-extract-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	svc := extracts.New(st, filepath.Join(dir, "extractions"), loc)
	svc.Now = func() time.Time { return last.Add(time.Minute) }
	svc.CompressAbove = o.CompressAbove
	svc.Enqueue = func(context.Context, int64) error { return nil }
	p := &access.Principal{Role: domain.RoleAdmin, Scope: []int64{sa}}
	res := &ExtractResult{Dialect: st.Dialect(), Type: o.Type, From: first.Format(time.DateOnly), To: last.Format(time.DateOnly)}
	for _, format := range o.Formats {
		e, err := svc.Request(ctx, p, extracts.Input{Type: o.Type, From: res.From, To: res.To, Format: format, Lang: "pt-BR"})
		if err != nil {
			return nil, err
		}
		runtime.GC()
		resetPeakRSS()
		t0, cpu0 := time.Now(), cpuTime()
		if err := svc.Run(ctx, e.ID); err != nil {
			return nil, fmt.Errorf("extract %s: %w", format, err)
		}
		elapsed, cpu := time.Since(t0), cpuTime()-cpu0
		rss := peakRSS()
		if e, err = st.Extraction(ctx, e.ID); err != nil {
			return nil, err
		}
		if e.Status != domain.ExtractionReady {
			return nil, fmt.Errorf("extract %s: %s %s", format, e.Status, e.Error)
		}
		res.Timings = append(res.Timings, ExtractTiming{Format: format, File: e.File, Rows: e.RowsWritten, Bytes: e.Bytes,
			Elapsed: elapsed, CPU: cpu, PeakRSS: rss})
		if err := svc.Delete(ctx, p, e.ID); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Print writes the result as a table.
func (r *ExtractResult) Print(w io.Writer) {
	fmt.Fprintf(w, "database  %s\ntable     %s, %s to %s (one subaccount)\n", r.Dialect, r.Type, r.From, r.To)
	for _, t := range r.Timings {
		rate := float64(t.Rows) / t.Elapsed.Seconds()
		verdict := ""
		if target, ok := ExtractTargets[t.Format]; ok {
			met := rate >= target && t.PeakRSS < ExtractRSSTarget
			verdict = fmt.Sprintf("  target %.0f rows/s, < %.0f MB: %s", target, float64(ExtractRSSTarget)/1e6,
				map[bool]string{true: "met", false: "NOT met"}[met])
		}
		fmt.Fprintf(w, "%-5s %9d rows  %8.1f MB %-6s %8v  %9.0f rows/s  CPU %v (%.0f rows per CPU second)  peak RSS %.0f MB%s\n",
			t.Format, t.Rows, float64(t.Bytes)/1e6, map[bool]string{true: "(gzip)", false: ""}[filepath.Ext(t.File) == ".gz"],
			t.Elapsed.Round(time.Millisecond), rate, t.CPU.Round(time.Millisecond), float64(t.Rows)/t.CPU.Seconds(),
			float64(t.PeakRSS)/1e6, verdict)
	}
}
