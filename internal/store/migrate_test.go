package store

import (
	"context"
	"path/filepath"
	"testing"
)

// TestMigrateOutOfOrder: a database migrated by a ticks that did not have
// a migration numbered below its newest (migrations are numbered in
// ranges, a capability each) gets it from the next ticks.
func TestMigrateOutOfOrder(t *testing.T) {
	ctx := context.Background()
	st := migratedSQLite(t)
	// As a ticks before 00032 left it, with 00040 and later applied.
	for _, q := range []string{`DROP INDEX tracking_events_contact`, `DELETE FROM goose_db_version WHERE version_id = 32`} {
		if _, err := st.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("a migration below the newest applied: %v", err)
	}
	var n int
	if err := st.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version WHERE version_id = 32 AND is_applied`).Scan(&n); err != nil || n != 1 {
		t.Errorf("00032 applied %d times (%v), want once", n, err)
	}
	if _, err := st.w.ExecContext(ctx, `DROP INDEX tracking_events_contact`); err != nil {
		t.Errorf("00032's index is not there: %v", err)
	}
}

// TestMigrateAnalyzesNewIndexes: in a database someone analyzed, an index
// created since (as migration 00009 recreates the content type's) gets
// statistics when ticks migrates (without them SQLite misplans its table's
// other queries); a database never analyzed stays without any.
func TestMigrateAnalyzesNewIndexes(t *testing.T) {
	ctx := context.Background()
	st := migratedSQLite(t)
	var stats int
	st.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'`).Scan(&stats)
	if stats != 0 {
		t.Fatal("a new database has statistics: Migrate analyzed what nobody asked it to")
	}
	for _, q := range []string{`CREATE TABLE t (x, y)`, `CREATE INDEX t_x ON t (x)`, `INSERT INTO t VALUES (1, 2)`,
		`ANALYZE`, `CREATE INDEX t_y ON t (y)`} {
		if _, err := st.w.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_stat1 WHERE idx = 't_y'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the new index has %d rows of statistics (%v), want 1", n, err)
	}
}

// migratedSQLite opens a new SQLite database with every migration applied,
// closed when the test ends.
func migratedSQLite(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "ticks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}
