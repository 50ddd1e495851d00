package store

import (
	"context"
	"os"
	"testing"

	"github.com/ticksapp/ticks/internal/domain"
)

// BenchmarkReadExportColumns reads the export columns of the newest three
// days of a database seeded by `ticks bench seed`, named by TICKS_BENCH_DB,
// on one goroutine: through the direct reader exports use on SQLite, and
// through database/sql as before.
//
//	TICKS_BENCH_DB=/tmp/rb/s10m.db go test -run '^$' -bench ReadExportColumns -benchtime 3x ./internal/store/
func BenchmarkReadExportColumns(b *testing.B) {
	path := os.Getenv("TICKS_BENCH_DB")
	if path == "" {
		b.Skip("TICKS_BENCH_DB is not set: a SQLite database seeded by ticks bench seed")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if s.raw == nil {
		b.Skip("not a SQLite file")
	}
	var hi int64
	if err := s.r.QueryRowContext(ctx, `SELECT MAX(at) FROM messages`).Scan(&hi); err != nil {
		b.Fatal(err)
	}
	query := `SELECT ` + exportColumns + ` FROM messages m WHERE m.at >= $1 AND m.at < $2 ORDER BY m.at DESC, m.id DESC`
	args := []any{hi - 3*24*hourMS, hi + 1}
	for _, c := range []struct {
		name string
		read func(each func(*domain.Message, int64)) error
	}{
		{"direct", func(each func(*domain.Message, int64)) error { return s.raw.rawExport(ctx, query, args, false, each) }},
		{"database-sql", func(each func(*domain.Message, int64)) error { return s.queryExport(ctx, query, args, false, each) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			rows := 0
			for range b.N {
				if err := c.read(func(*domain.Message, int64) { rows++ }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
