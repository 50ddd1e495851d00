// Package storetest opens real databases for tests: a fresh SQLite file by
// default, or a fresh schema on the PostgreSQL server named by
// TICKS_TEST_POSTGRES_URL, so the same tests run against both.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/ticksapp/ticks/internal/store"
)

// EnvPostgres names the variable that switches tests to PostgreSQL.
const EnvPostgres = "TICKS_TEST_POSTGRES_URL"

// DSN returns a database for one test, removed when the test ends.
func DSN(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		return filepath.Join(tb.TempDir(), "ticks.db")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	// Tests need no disk syncs; this machine's can take a second.
	base = withParam(base, "synchronous_commit", "off")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	return withParam(base, "search_path", schema)
}

func withParam(dsn, key, value string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		panic(EnvPostgres + ": " + err.Error())
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a migrated store on a fresh database.
func Open(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), DSN(tb))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		st.Close()
		tb.Fatalf("migrate: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}
