package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/store"
)

// ExportOptions configures the export benchmark.
type ExportOptions struct {
	DatabaseURL string   // a database seeded by Seed
	Rows        int64    // about how many rows to export: the newest whole hours holding them
	Formats     []string // csv, xlsx, pdf
}

// ExportTiming is one export's measurement.
type ExportTiming struct {
	Format  string
	Rows    int64 // rows written
	Bytes   int64 // file size
	Elapsed time.Duration
	PeakRSS int64 // the process's peak resident memory during the export, in bytes (0 when unknown)
}

// ExportResult is a run of the export benchmark.
type ExportResult struct {
	Dialect  store.Dialect
	From, To time.Time
	Timings  []ExportTiming
}

// ExportTargets are SPEC section 6's bars, in rows per second.
var ExportTargets = map[string]float64{"csv": 400_000, "xlsx": 80_000}

// Export measures the detailed report's exports end to end, the way a
// download runs them: the count, reading the rows from the database,
// turning them into the report's cells in pt-BR and writing the file
// (to a counter, not to a disk or a network).
func Export(ctx context.Context, o ExportOptions) (*ExportResult, error) {
	st, err := openSeeded(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	db, err := rawDB(st.Dialect(), o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	sa, err := benchSubaccount(ctx, db)
	if err != nil {
		return nil, err
	}
	from, to, err := newestHours(ctx, db, st.Dialect(), sa, o.Rows)
	if err != nil {
		return nil, err
	}
	res := &ExportResult{Dialect: st.Dialect(), From: from, To: to}
	loc, _ := time.LoadLocation("America/Sao_Paulo")
	scope := []int64{sa}
	names, err := reports.LoadNames(ctx, st, scope)
	if err != nil {
		return nil, err
	}
	for _, format := range o.Formats {
		req := &reports.ExportRequest{Filter: &domain.MessageFilter{Subaccounts: scope, Direction: domain.DirectionMT, From: from, To: to},
			Format: format, Lang: "pt-BR", Location: loc, Names: names}
		runtime.GC()
		resetPeakRSS()
		t0 := time.Now()
		e, err := reports.NewExport(ctx, st, req)
		if err != nil {
			return nil, err
		}
		var cw countingWriter
		rows, err := e.Write(ctx, &cw)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", format, err)
		}
		res.Timings = append(res.Timings, ExportTiming{Format: format, Rows: rows, Bytes: cw.n, Elapsed: time.Since(t0), PeakRSS: peakRSS()})
	}
	return res, nil
}

// Print writes the result as a table.
func (r *ExportResult) Print(w io.Writer) {
	fmt.Fprintf(w, "database  %s\nrange     %s to %s (MT, one subaccount)\n", r.Dialect,
		r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339))
	for _, t := range r.Timings {
		rate := float64(t.Rows) / t.Elapsed.Seconds()
		verdict := ""
		if target, ok := ExportTargets[t.Format]; ok {
			verdict = fmt.Sprintf("  target %.0f rows/s: %s", target, map[bool]string{true: "met", false: "NOT met"}[rate >= target])
		}
		fmt.Fprintf(w, "%-5s %9d rows  %8.1f MB  %8v  %9.0f rows/s  peak RSS %.0f MB%s\n", t.Format, t.Rows,
			float64(t.Bytes)/1e6, t.Elapsed.Round(time.Millisecond), rate, float64(t.PeakRSS)/1e6, verdict)
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// openSeeded opens a database Seed filled, with its rollup folded as the
// server folds it, so reads measure the steady state.
func openSeeded(ctx context.Context, dsn string) (*store.Store, error) {
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := st.FoldRollup(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// benchSubaccount is the id of the subaccount Seed fills.
func benchSubaccount(ctx context.Context, db *sql.DB) (int64, error) {
	var sa int64
	if err := db.QueryRowContext(ctx, `SELECT id FROM subaccounts WHERE name = 'bench'`).Scan(&sa); err != nil {
		return 0, errors.New("no subaccount named bench: seed the database first (ticks bench seed)")
	}
	return sa, nil
}

// newestHours returns the newest whole UTC hours of the subaccount's MT
// messages that hold at least rows messages, by the rollup.
func newestHours(ctx context.Context, db *sql.DB, d store.Dialect, sa, rows int64) (time.Time, time.Time, error) {
	query := `SELECT hour, CAST(SUM(n) AS BIGINT) FROM message_rollup_status WHERE subaccount_id = $1 AND direction = 'mt'
		GROUP BY hour ORDER BY hour DESC`
	r, err := db.QueryContext(ctx, query, sa)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	defer r.Close()
	const hourMS = 3_600_000
	var first, hour, n, sum int64
	for r.Next() {
		if err := r.Scan(&hour, &n); err != nil {
			return time.Time{}, time.Time{}, err
		}
		if first == 0 {
			first = hour
		}
		if sum += n; sum >= rows {
			break
		}
	}
	if err := r.Err(); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if first == 0 {
		return time.Time{}, time.Time{}, errors.New("no MT messages: seed the database first (ticks bench seed)")
	}
	return time.UnixMilli(hour * hourMS), time.UnixMilli((first + 1) * hourMS), nil
}

// resetPeakRSS starts a new peak for peakRSS (Linux; a no-op elsewhere).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's peak resident set size since resetPeakRSS, in
// bytes; 0 when the system does not say.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
