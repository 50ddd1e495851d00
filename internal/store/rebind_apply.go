package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// Temporary, for apply.go alone: its SQL is still written with ?
// placeholders, which SQLite takes and PostgreSQL does not, so the
// functions below rewrite it to $1, $2, … on PostgreSQL. The rest of the
// store writes $N itself (dialect.go). Once apply.go's SQL is written
// with $N and calls stmtExec, stmtQueryRow and stmtQuery (and its IN
// lists whereBuilder.list), this file goes, with Store.rebound.

// txExec is stmtExec for apply.go's ? SQL.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	return s.stmtExec(ctx, tx, s.rebind(query), args...)
}

// txQueryRow is stmtQueryRow for apply.go's ? SQL.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	return s.stmtQueryRow(ctx, tx, s.rebind(query), args...)
}

// txQuery is stmtQuery for apply.go's ? SQL.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	return s.stmtQuery(ctx, tx, s.rebind(query), args...)
}

// placeholders is n ? placeholders, comma-separated, for apply.go's IN
// lists and VALUES rows.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// rebind rewrites a query written with ? placeholders for PostgreSQL, once
// per query text.
func (s *Store) rebind(query string) string {
	if s.dialect != Postgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c == '\'' {
			inStr = !inStr
		}
		if c == '?' && !inStr {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	s.rebound.Store(query, out)
	return out
}
