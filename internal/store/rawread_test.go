package store

import (
	"context"
	"testing"

	"zombiezen.com/go/sqlite"
)

// The raw readers bind $N to the Nth argument, as database/sql does on
// modernc.org/sqlite and PostgreSQL does, though SQLite numbers $N
// parameters in the order they first appear; and ? to the argument of its
// own index (apply.go's preload, until its SQL uses $N).
func TestRawReadersBindByNumber(t *testing.T) {
	ctx := context.Background()
	s := migratedSQLite(t)
	for _, c := range []struct {
		query string
		args  []any
		want  [2]int64
	}{
		{`SELECT $2 - $1, $1`, []any{int64(10), int64(3)}, [2]int64{-7, 10}},
		{`SELECT $1 - $2, $2 + $2`, []any{int64(10), 3}, [2]int64{7, 6}},
		{`SELECT ? - ?, ?`, []any{int64(10), int64(3), int64(5)}, [2]int64{7, 5}},
	} {
		var raw, std [2]int64
		err := s.raw.query(ctx, c.query, false, c.args, func(st *sqlite.Stmt) error {
			raw = [2]int64{st.ColumnInt64(0), st.ColumnInt64(1)}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if err := s.r.QueryRowContext(ctx, c.query, c.args...).Scan(&std[0], &std[1]); err != nil {
			t.Fatalf("%s through database/sql: %v", c.query, err)
		}
		if raw != c.want || std != c.want {
			t.Errorf("%s %v: raw %v, database/sql %v, want %v", c.query, c.args, raw, std, c.want)
		}
	}
	for _, query := range []string{`SELECT $3`, `SELECT :name`} {
		err := s.raw.query(ctx, query, false, []any{int64(1)}, func(*sqlite.Stmt) error { return nil })
		if err == nil {
			t.Errorf("%s with one argument: no error", query)
		}
	}
}
