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
	ctx := context.Background()
	// On SQLite a file of the inbox log per commit, so that pruning (whole
	// files) can be seen.
	st, err := store.Open(ctx, storetest.MigratedDSN(t), store.WithInboxSegmentBytes(1))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	first, err := st.AppendInbox(ctx, [][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`)}, now.Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	bodies := make([][]byte, 70) // more than one statement's worth on PostgreSQL
	for i := range bodies {
		bodies[i] = []byte(`{"b":` + string(rune('0'+i%10)) + `}`)
	}
	second, err := st.AppendInbox(ctx, bodies, now.Add(-47*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	third, err := st.AppendInbox(ctx, [][]byte{[]byte(`{"c":1}`)}, now)
	if err != nil {
		t.Fatal(err)
	}
	ids := slices.Concat(first, second, third)
	if len(ids) != 73 || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != 73 {
		t.Fatalf("ids %v: want 73 increasing ids", ids)
	}
	rows, err := st.ReadInbox(ctx, first[1], 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 71 || rows[0].ID != second[0] || string(rows[69].Body) != string(bodies[69]) || rows[70].ID != third[0] {
		t.Fatalf("read after %d: %d rows, first %d", first[1], len(rows), rows[0].ID)
	}
	if !rows[0].ReceivedAt.Equal(now.Add(-47 * time.Hour).Truncate(time.Millisecond)) {
		t.Fatalf("received at %v, want %v", rows[0].ReceivedAt, now.Add(-47*time.Hour))
	}
	stats, err := st.InboxStats(ctx)
	if err != nil || stats.LastID != ids[72] {
		t.Fatalf("stats %+v, %v: want last id %d", stats, err, ids[72])
	}
	// Nothing goes before it is applied.
	if n, err := st.PruneInbox(ctx, now.Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("pruned %d, %v with nothing applied", n, err)
	}
	// Only applied webhooks older than the cutoff go.
	if err := st.SetCursor(ctx, first[1]); err != nil {
		t.Fatal(err)
	}
	n, err := st.PruneInbox(ctx, now.Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v: want 2", n, err)
	}
	rows, _ = st.ReadInbox(ctx, 0, 1)
	if rows[0].ID != second[0] {
		t.Fatalf("after pruning the first row is %d, want %d", rows[0].ID, second[0])
	}
}

// A SQLite database from an earlier ticks keeps its webhooks, whether they
// are in a table of the main database (the first releases) or in a SQLite
// file of their own beside it (later ones): they move to the inbox log
// with their ids, the old inbox is dropped, and new webhooks get ids after
// every id the old inbox or the cursor used.
func TestInboxMovesToTheLog(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) != "" {
		t.Skip("SQLite only: PostgreSQL keeps the inbox in the database")
	}
	for _, where := range []string{"table", "file"} {
		t.Run(where, func(t *testing.T) {
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
			if err := os.RemoveAll(store.InboxDir(path)); err != nil {
				t.Fatal(err)
			}
			// Put back the old inbox as an older ticks left it: rows 5 to 7,
			// the sequence at 9 (rows 8 and 9 pruned... or never committed).
			old := path
			if where == "file" {
				old = filepath.Join(filepath.Dir(path), "ticks-inbox.db")
			}
			db, err := sql.Open("sqlite", old)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`CREATE TABLE webhook_inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, body BLOB NOT NULL)`,
				`INSERT INTO webhook_inbox VALUES (5, 1000, 'five'), (6, 1000, 'six'), (7, 2000, 'seven')`,
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
			defer func() { st.Close() }()
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			rows, err := st.ReadInbox(ctx, 6, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].ID != 7 || string(rows[0].Body) != "seven" || rows[0].ReceivedAt.UnixMilli() != 2000 {
				t.Fatalf("after the cursor: %+v, want row 7", rows)
			}
			ids, err := st.AppendInbox(ctx, [][]byte{[]byte("ten")}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if ids[0] != 10 {
				t.Fatalf("new row id %d, want 10", ids[0])
			}
			if where == "file" {
				if _, err := os.Stat(old); !os.IsNotExist(err) {
					t.Fatalf("the old inbox file is still there: %v", err)
				}
			} else {
				var n int
				st.Close()
				db, _ := sql.Open("sqlite", path)
				db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'webhook_inbox'`).Scan(&n)
				db.Close()
				if n != 0 {
					t.Fatal("the old inbox table is still there")
				}
				if st, err = store.Open(ctx, path); err != nil {
					t.Fatal(err)
				}
			}
			// Migrating again changes nothing.
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if rows, _ := st.ReadInbox(ctx, 0, 10); len(rows) != 4 || rows[0].ID != 5 || rows[3].ID != 10 {
				t.Fatalf("%v after a second migration, want rows 5, 6, 7, 10", rows)
			}
		})
	}
}

// Only one process writes a SQLite database's inbox: a second one (an admin
// command beside the server) can tell how far it got, but not store webhooks.
func TestInboxIsHeldByOneProcess(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) != "" {
		t.Skip("SQLite only: PostgreSQL keeps the inbox in the database")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ticks.db")
	server, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if err := server.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := server.AppendInbox(ctx, [][]byte{[]byte("one"), []byte("two")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	admin, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	stats, err := admin.InboxStats(ctx)
	if err != nil || stats.LastID != 2 {
		t.Fatalf("stats from a second process: %+v, %v; want last id 2", stats, err)
	}
	if rows, err := admin.ReadInbox(ctx, 0, 10); err != nil || len(rows) != 2 || string(rows[1].Body) != "two" {
		t.Fatalf("read from a second process: %v, %v", rows, err)
	}
	if _, err := admin.AppendInbox(ctx, [][]byte{[]byte("three")}, time.Now()); err == nil {
		t.Fatal("a second process stored a webhook in the inbox the server holds")
	}
	if _, err := server.AppendInbox(ctx, [][]byte{[]byte("three")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if stats, _ := admin.InboxStats(ctx); stats.LastID != 3 {
		t.Fatalf("the second process sees last id %d, want 3", stats.LastID)
	}

	// Asking how far the inbox got does not take it: a server started after
	// the admin command still can.
	server.Close()
	if stats, err := admin.InboxStats(ctx); err != nil || stats.LastID != 3 {
		t.Fatalf("stats with no server: %+v, %v", stats, err)
	}
	next, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if ids, err := next.AppendInbox(ctx, [][]byte{[]byte("four")}, time.Now()); err != nil || ids[0] != 4 {
		t.Fatalf("a server after the admin command's stats: %v, %v", ids, err)
	}
}
