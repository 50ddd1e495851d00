package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The writer no longer checkpoints at 1,000 pages; the checkpointer must,
// or the write-ahead log grows with every transaction until the writer's
// bound (16,384 pages).
func TestCheckpointerKeepsTheLogShort(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE blobs (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	const each = 1 << 20 // 256 pages a transaction
	for i := 0; i < 5; i++ {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO blobs VALUES (zeroblob(?))`, each); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * walCheckpointEvery)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// Checkpointed between transactions, the log starts over each time and
	// holds about one transaction; never checkpointed, it holds all five.
	if fi.Size() > 3*each {
		t.Fatalf("write-ahead log %d bytes after five transactions of %d: not checkpointed", fi.Size(), each)
	}
}
