package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

func TestInboxAppendReadPrune(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	old, now := time.Now().Add(-48*time.Hour), time.Now()
	first, err := st.AppendInbox(ctx, [][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`)}, old)
	if err != nil {
		t.Fatal(err)
	}
	bodies := make([][]byte, 70) // more than one statement's worth
	for i := range bodies {
		bodies[i] = []byte(`{"b":` + string(rune('0'+i%10)) + `}`)
	}
	second, err := st.AppendInbox(ctx, bodies, now)
	if err != nil {
		t.Fatal(err)
	}
	ids := append(slices.Clone(first), second...)
	if len(ids) != 72 || !slices.IsSorted(ids) || slices.Compact(slices.Clone(ids))[71] != ids[71] {
		t.Fatalf("ids %v: want 72 increasing ids", ids)
	}
	rows, err := st.ReadInbox(ctx, first[1], 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 70 || rows[0].ID != second[0] || string(rows[69].Body) != string(bodies[69]) {
		t.Fatalf("read after %d: %d rows, first %d", first[1], len(rows), rows[0].ID)
	}
	stats, err := st.InboxStats(ctx)
	if err != nil || stats.LastID != ids[71] {
		t.Fatalf("stats %+v, %v: want last id %d", stats, err, ids[71])
	}
	// Only applied rows older than the cutoff go.
	if err := st.SetCursor(ctx, first[0]); err != nil {
		t.Fatal(err)
	}
	n, err := st.PruneInbox(ctx, now.Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v: want 1", n, err)
	}
	rows, _ = st.ReadInbox(ctx, 0, 1)
	if rows[0].ID != first[1] {
		t.Fatalf("after pruning the first row is %d, want %d", rows[0].ID, first[1])
	}
}

// A SQLite database from before the inbox had a file of its own keeps its
// webhooks: they move to the inbox file with their ids, and new ones come
// after every id the old table or the cursor used.
func TestInboxMovesToItsOwnFile(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) != "" {
		t.Skip("SQLite only: PostgreSQL keeps the inbox in the database")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ticks.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SetCursor(ctx, 6); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Put back the old table, as an older ticks left it: rows 5 to 7, the
	// sequence at 9 (rows 8 and 9 pruned... or never committed).
	if err := os.Remove(store.InboxPath(path)); err != nil {
		t.Fatal(err)
	}
	os.Remove(store.InboxPath(path) + "-wal")
	os.Remove(store.InboxPath(path) + "-shm")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE webhook_inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, body BLOB NOT NULL)`,
		`INSERT INTO webhook_inbox VALUES (5, 1, 'five'), (6, 1, 'six'), (7, 1, 'seven')`,
		`UPDATE sqlite_sequence SET seq = 9 WHERE name = 'webhook_inbox'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()

	st, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := st.ReadInbox(ctx, 6, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ID != 7 || string(rows[0].Body) != "seven" {
		t.Fatalf("after the cursor: %+v, want row 7", rows)
	}
	ids, err := st.AppendInbox(ctx, [][]byte{[]byte("ten")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != 10 {
		t.Fatalf("new row id %d, want 10", ids[0])
	}
	// Migrating again changes nothing.
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if rows, _ := st.ReadInbox(ctx, 0, 10); len(rows) != 4 {
		t.Fatalf("%d rows after a second migration, want 4", len(rows))
	}
}
