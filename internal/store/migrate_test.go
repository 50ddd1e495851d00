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
	st, err := Open(ctx, filepath.Join(t.TempDir(), "ticks.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
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
