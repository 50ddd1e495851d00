package inboxlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func body(i int) []byte {
	return fmt.Appendf(nil, `{"webhook":%d,"pad":"%s"}`, i, bytes.Repeat([]byte("x"), i%50))
}

func mustOpen(t *testing.T, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// appendN stores bodies from..to-1 in commits of per, and checks their ids.
func appendN(t *testing.T, l *Log, from, to, per int, at time.Time) {
	t.Helper()
	for i := from; i < to; i += per {
		var bs [][]byte
		for j := i; j < min(i+per, to); j++ {
			bs = append(bs, body(j))
		}
		first, err := l.Append(bs, at)
		if err != nil {
			t.Fatal(err)
		}
		if first != int64(i+1) {
			t.Fatalf("commit of %d..: first id %d, want %d", i, first, i+1)
		}
	}
}

// readAll reads every record after after in pages of page.
func readAll(t *testing.T, l *Log, after int64, page int) []Record {
	t.Helper()
	var out []Record
	for {
		recs, err := l.Read(after, page)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
		after = recs[len(recs)-1].ID
	}
}

// checkRecords checks that recs are bodies from..to-1 with ids from+1...
func checkRecords(t *testing.T, recs []Record, from, to int) {
	t.Helper()
	if len(recs) != to-from {
		t.Fatalf("%d records, want %d", len(recs), to-from)
	}
	for k, r := range recs {
		i := from + k
		if r.ID != int64(i+1) || !bytes.Equal(r.Body, body(i)) {
			t.Fatalf("record %d: id %d body %q, want id %d body %q", k, r.ID, r.Body, i+1, body(i))
		}
	}
}

func TestAppendReadAcrossSegmentsAndReopen(t *testing.T) {
	dir := t.TempDir()
	at := time.UnixMilli(1_760_000_000_123).UTC()
	l := mustOpen(t, dir, Options{SegmentBytes: 4 << 10})
	appendN(t, l, 0, 1000, 7, at)
	if l.LastID() != 1000 {
		t.Fatalf("last id %d, want 1000", l.LastID())
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(segs) < 10 {
		t.Fatalf("%d segments of 4 KiB for ~50 KiB, want more", len(segs))
	}
	for _, page := range []int{1, 13, 2000} {
		recs := readAll(t, l, 0, page)
		checkRecords(t, recs, 0, 1000)
		if !recs[0].ReceivedAt.Equal(at) {
			t.Fatalf("received at %v, want %v", recs[0].ReceivedAt, at)
		}
	}
	// Reads from anywhere, in any order (the hint must not mislead).
	for _, after := range []int64{999, 0, 500, 17, 998, 401, 402, 1000, 1500} {
		recs, err := l.Read(after, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := min(3, max(0, 1000-int(after)))
		if len(recs) != want || (want > 0 && recs[0].ID != after+1) {
			t.Fatalf("read after %d: %d records starting %v, want %d from %d", after, len(recs), recs, want, after+1)
		}
	}
	l.Close()

	l = mustOpen(t, dir, Options{SegmentBytes: 4 << 10})
	if l.LastID() != 1000 {
		t.Fatalf("reopened: last id %d, want 1000", l.LastID())
	}
	appendN(t, l, 1000, 1010, 3, at)
	checkRecords(t, readAll(t, l, 990, 4), 990, 1010)
}

// A process killed inside a write leaves part of a record at the end of
// the last segment. That write was never acknowledged: opening the log cuts
// it off, keeps every record before it, and goes on with the next id.
func TestTornWriteAtEveryByte(t *testing.T) {
	src := t.TempDir()
	l := mustOpen(t, src, Options{})
	appendN(t, l, 0, 5, 5, time.Now())
	full, err := os.ReadFile(filepath.Join(src, segmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	lastStart := len(full) - recordHead - len(body(4))
	for cut := lastStart; cut < len(full); cut++ {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		l := mustOpen(t, dir, Options{})
		if l.LastID() != 4 {
			t.Fatalf("cut at %d: last id %d, want 4", cut, l.LastID())
		}
		appendN(t, l, 4, 6, 1, time.Now())
		checkRecords(t, readAll(t, l, 0, 100), 0, 6)
		l.Close()
	}
}

// A damaged byte anywhere in a record is never read as a record.
func TestDamagedRecordIsNotRead(t *testing.T) {
	src := t.TempDir()
	l := mustOpen(t, src, Options{})
	appendN(t, l, 0, 3, 3, time.Now())
	l.Close()
	path := filepath.Join(src, segmentName(1))
	full, _ := os.ReadFile(path)
	second := headerSize + recordHead + len(body(0))
	for at := second; at < second+recordHead+len(body(1)); at++ {
		dir := t.TempDir()
		damaged := slices.Clone(full)
		damaged[at] ^= 0x40
		os.WriteFile(filepath.Join(dir, segmentName(1)), damaged, 0o600)
		l := mustOpen(t, dir, Options{ReadOnly: true})
		recs := readAll(t, l, 0, 10)
		if len(recs) != 1 || recs[0].ID != 1 {
			t.Fatalf("byte %d damaged: read %d records, want only the first", at, len(recs))
		}
		l.Close()
	}
}

// In sync mode every commit waits for the disk; what it stores is the same.
func TestSyncMode(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Sync: true, SegmentBytes: 1 << 10})
	appendN(t, l, 0, 50, 4, time.Now())
	l.Close()
	l = mustOpen(t, dir, Options{Sync: true})
	checkRecords(t, readAll(t, l, 0, 100), 0, 50)
}

func TestOneProcessHoldsTheLog(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	appendN(t, l, 0, 10, 5, time.Now())
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	ro := mustOpen(t, dir, Options{ReadOnly: true})
	if ro.LastID() != 10 {
		t.Fatalf("read-only view: last id %d, want 10", ro.LastID())
	}
	checkRecords(t, readAll(t, ro, 0, 100), 0, 10)
	if _, err := ro.Append([][]byte{[]byte("x")}, time.Now()); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("append read-only: %v, want ErrReadOnly", err)
	}
	l.Close()
	l2 := mustOpen(t, dir, Options{})
	appendN(t, l2, 10, 11, 1, time.Now())
	// A read-only view of a directory nobody created is empty.
	empty := mustOpen(t, filepath.Join(t.TempDir(), "none"), Options{ReadOnly: true})
	if empty.LastID() != 0 {
		t.Fatal("empty view has records")
	}
}

// The floor keeps ids above the applied cursor even when the log lost its
// tail; ids may then skip.
func TestFloor(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	appendN(t, l, 0, 3, 3, time.Now())
	l.SetFloor(10)
	first, err := l.Append([][]byte{[]byte("eleven"), []byte("twelve")}, time.Now())
	if err != nil || first != 11 {
		t.Fatalf("after floor 10: first id %d, %v; want 11", first, err)
	}
	l.SetFloor(5) // never lowers
	recs := readAll(t, l, 2, 10)
	if ids := []int64{recs[0].ID, recs[1].ID, recs[2].ID}; len(recs) != 3 || !slices.Equal(ids, []int64{3, 11, 12}) {
		t.Fatalf("records after 2: %v", recs)
	}
	l.Close()
	l = mustOpen(t, dir, Options{})
	if first, _ := l.Append([][]byte{[]byte("x")}, time.Now()); first != 13 {
		t.Fatalf("reopened: next id %d, want 13", first)
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentBytes: 1}) // a segment per commit
	now := time.Now()
	appendN(t, l, 0, 2, 2, now.Add(-50*time.Hour)) // segment 1: ids 1-2
	appendN(t, l, 2, 5, 3, now.Add(-49*time.Hour)) // segment 3: ids 3-5
	appendN(t, l, 5, 6, 1, now)                    // segment 6: id 6
	cutoff := now.Add(-time.Hour)
	// Nothing applied: nothing goes.
	if n, err := l.Prune(0, cutoff); n != 0 || err != nil {
		t.Fatalf("pruned %d, %v with nothing applied", n, err)
	}
	// All applied: the first segment goes; the second is kept because the
	// one after it began after the cutoff; the last is always kept.
	if n, err := l.Prune(6, cutoff); n != 2 || err != nil {
		t.Fatalf("pruned %d, %v; want the 2 webhooks of the first segment", n, err)
	}
	checkRecords(t, readAll(t, l, 0, 10), 2, 6)
	if _, err := os.Stat(filepath.Join(dir, segmentName(1))); !os.IsNotExist(err) {
		t.Fatalf("first segment still there: %v", err)
	}
	if n, _ := l.Prune(6, now.Add(time.Hour)); n != 3 {
		t.Fatalf("pruned %d with a later cutoff, want 3", n)
	}
	checkRecords(t, readAll(t, l, 0, 10), 5, 6)
	appendN(t, l, 6, 7, 1, now)
	l.Close()
	l = mustOpen(t, dir, Options{})
	checkRecords(t, readAll(t, l, 0, 10), 5, 7)
}

// A segment rolls over when its first record is older than SegmentAge.
func TestSegmentAge(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentAge: time.Minute})
	t0 := time.Now()
	appendN(t, l, 0, 1, 1, t0)
	appendN(t, l, 1, 2, 1, t0.Add(30*time.Second))
	appendN(t, l, 2, 3, 1, t0.Add(61*time.Second))
	segs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(segs) != 2 || filepath.Base(segs[1]) != segmentName(3) {
		t.Fatalf("segments %v, want two, the second from id 3", segs)
	}
}

// Readers run while commits are written and see only whole commits, in
// order, with nothing missing.
func TestReadWhileAppending(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{SegmentBytes: 8 << 10})
	const total = 5000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		appendN(t, l, 0, total, 11, time.Now())
	}()
	var got []Record
	after := int64(0)
	for len(got) < total {
		recs, err := l.Read(after, 97)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, recs...)
		if len(recs) > 0 {
			after = recs[len(recs)-1].ID
		}
	}
	wg.Wait()
	checkRecords(t, got, 0, total)
}

func BenchmarkAppend(b *testing.B) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const perCommit = 16
	bodies := make([][]byte, perCommit)
	for i := range bodies {
		bodies[i] = bytes.Repeat([]byte("w"), 560) // a status webhook's size
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		if _, err := l.Append(bodies, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perCommit)/1000, "µs/webhook")
}

// A process killed while it started a segment leaves it empty or with half
// a header: the log opens, keeps what came before, and writes on in it.
func TestSegmentStartedWhenKilled(t *testing.T) {
	for _, size := range []int{0, headerSize / 2, headerSize} {
		dir := t.TempDir()
		l := mustOpen(t, dir, Options{})
		appendN(t, l, 0, 3, 3, time.Now())
		l.Close()
		if err := os.WriteFile(filepath.Join(dir, segmentName(4)), fileHeader()[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, dir, Options{})
		appendN(t, l, 3, 5, 2, time.Now())
		l.Close()
		l = mustOpen(t, dir, Options{})
		checkRecords(t, readAll(t, l, 0, 100), 0, 5)
		l.Close()
	}
}
