// Package storetest opens real databases for tests: a fresh SQLite file by
// default, or a fresh schema on the PostgreSQL server named by
// TICKS_TEST_POSTGRES_URL, so the same tests run against both.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
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

// MigratedDSN is DSN with, on SQLite, the schema already in place: the
// file is a copy of a database this test binary migrated once. Migrating
// a SQLite database costs some 50 ms, but five seconds under -race (the
// driver is C translated to Go, and the race detector watches all of it),
// so a package that opens a database per test spent most of the race
// step migrating. Whoever opens it still runs Migrate, which finds every
// migration applied. On PostgreSQL it is DSN: an empty schema.
func MigratedDSN(tb testing.TB) string {
	tb.Helper()
	return storeOnly.dsn(tb)
}

var storeOnly = &template{}

// Template returns a function like MigratedDSN whose template database,
// once the store's migrations are in, is also given to extra: a
// package's tests that start a whole server copy River's tables too
// (jobs.Migrate, another few seconds under -race), which this package
// cannot import.
func Template(extra func(context.Context, *store.Store) error) func(testing.TB) string {
	return (&template{extra: extra}).dsn
}

// template is a SQLite database the test binary migrates once, held as the
// bytes of its file (and of a write-ahead log, should closing it leave
// one), migrated and closed; the inbox log's folder holds only a lock file
// then, and the store makes it again.
type template struct {
	extra func(context.Context, *store.Store) error
	once  sync.Once
	db    []byte
	wal   []byte
	err   error
}

func (tp *template) dsn(tb testing.TB) string {
	tb.Helper()
	dsn := DSN(tb)
	if os.Getenv(EnvPostgres) != "" {
		return dsn
	}
	tp.once.Do(tp.migrate)
	if tp.err != nil {
		tb.Fatalf("migrate the template database: %v", tp.err)
	}
	if err := os.WriteFile(dsn, tp.db, 0o644); err != nil {
		tb.Fatal(err)
	}
	if len(tp.wal) > 0 {
		if err := os.WriteFile(dsn+"-wal", tp.wal, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dsn
}

func (tp *template) migrate() {
	dir, err := os.MkdirTemp("", "storetest-")
	if err != nil {
		tp.err = err
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ticks.db")
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		tp.err = err
		return
	}
	err = st.Migrate(ctx)
	if err == nil && tp.extra != nil {
		err = tp.extra(ctx, st)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tp.err = err
		return
	}
	// A write-ahead log a close left behind goes with the file: SQLite
	// reads it back at the next open.
	if tp.wal, err = os.ReadFile(path + "-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		tp.err = err
		return
	}
	tp.db, tp.err = os.ReadFile(path)
}

// Open returns a migrated store on a fresh database.
func Open(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), MigratedDSN(tb))
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
