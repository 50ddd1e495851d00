package inboxlog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzOpenDamaged opens a last segment holding any bytes after its header
// (a torn write, a damaged disk): opening must not fail or panic, the
// records it keeps must be whole and increasing, and a webhook appended
// after must read back.
func FuzzOpenDamaged(f *testing.F) {
	var valid []byte
	for i := int64(1); i <= 3; i++ {
		valid = appendRecord(valid, i, 1_760_000_000_000+i, body(int(i)))
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-7])
	f.Add(append(bytes.Clone(valid), 0, 0, 0, 0))
	f.Add(appendRecord(nil, 5, 0, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), append(fileHeader(), data...), 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer l.Close()
		kept, err := l.Read(0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range kept {
			if r.ID < 1 || (i > 0 && r.ID <= kept[i-1].ID) {
				t.Fatalf("record %d has id %d after %v", i, r.ID, kept[:i])
			}
		}
		first, err := l.Append([][]byte{[]byte("after")}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(kept) > 0 && first <= kept[len(kept)-1].ID {
			t.Fatalf("appended as %d after %d records", first, len(kept))
		}
		again, err := l.Read(0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(again) != len(kept)+1 || string(again[len(again)-1].Body) != "after" {
			t.Fatalf("after the append: %d records, want %d", len(again), len(kept)+1)
		}
	})
}
