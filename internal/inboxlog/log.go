// Package inboxlog is the webhook inbox of a SQLite deployment: an
// append-only log of webhook bodies in segment files, each body under an
// increasing id.
//
// Storing a webhook is the one write Meta waits for, so it must be cheap: a
// group commit here is one write(2) of every body it gathered (and one
// fdatasync in sync mode), where a SQLite transaction cost two writes per
// page touched plus its checkpoints — about a seventh of ticks's CPU per
// status webhook. A write that returned is in the kernel's page cache, so a
// killed process loses nothing it acknowledged; sync mode also survives a
// power loss. (Without it, a segment is synced in the background when the
// next one starts, so a power loss can cost at most the newest segment.)
//
// A record carries a checksum over its id, time and body; opening the log
// drops a torn record at the end of the last segment (a write the process
// died in, never acknowledged). Segments roll over at a size or an age and
// are removed whole, oldest first, once every webhook in them is applied
// and old enough.
package inboxlog

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrLocked is returned by Open when another process holds the log.
var ErrLocked = errors.New("the webhook inbox is open in another ticks process")

// ErrReadOnly is returned by Append on a log opened read-only.
var ErrReadOnly = errors.New("the webhook inbox is open read-only")

// Options configure a log.
type Options struct {
	// Sync makes every Append wait for the disk (fdatasync), so that an
	// acknowledged webhook also survives a power loss.
	Sync bool
	// SegmentBytes is the size after which the next Append starts a new
	// segment (default 64 MiB).
	SegmentBytes int64
	// SegmentAge is the age of a segment's first record after which the
	// next Append starts a new segment (default an hour), so that a quiet
	// install's old webhooks can be removed too.
	SegmentAge time.Duration
	// ReadOnly opens the log without taking it: for a second process (an
	// admin command beside a running server) that only reads.
	ReadOnly bool
}

// Record is one stored webhook.
type Record struct {
	ID         int64
	ReceivedAt time.Time
	Body       []byte
}

// Log is an open inbox log. Append is called from one goroutine at a time
// (the inbox's group commit); Read, LastID and Prune may be called
// concurrently with it and with each other.
type Log struct {
	dir  string
	opts Options
	lock *os.File // holds the flock; nil when read-only

	wmu    sync.Mutex // serialises writers
	active *os.File   // the last segment, open for writing
	buf    []byte
	broken error // a write failed and its segment could not be mended

	mu   sync.Mutex // guards what readers see: segs, last, next, hint
	segs []*segment
	last int64 // the last id written and published
	next int64 // the id the next record gets
	hint readHint
}

// segment is one file of the log. Its fields change under Log.mu.
type segment struct {
	first     int64 // the id in its name: no record in it has a smaller one
	path      string
	firstAtMS int64 // the first record's receive time; 0 when it has none
	size      int64 // bytes of whole records (and the header) known
	marks     []mark
}

// mark notes where a record starts, so a read can begin near it instead of
// at the segment's start.
type mark struct{ id, off int64 }

// markEvery is the distance between marks in a segment.
const markEvery = 256 << 10

// readHint is where the last Read stopped, so the next one goes on from
// there.
type readHint struct {
	segFirst int64
	id, off  int64 // the last record returned, and the offset after it
}

// Open opens (creating it when missing) the log in dir. Unless read-only,
// it takes a lock on dir that only one process holds at a time, and cuts a
// torn record off the end.
func Open(dir string, opts Options) (*Log, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if opts.SegmentAge <= 0 {
		opts.SegmentAge = time.Hour
	}
	l := &Log{dir: dir, opts: opts, next: 1}
	if !opts.ReadOnly {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open inbox: %w", err)
		}
		lock, err := lockDir(filepath.Join(dir, "LOCK"))
		if err != nil {
			return nil, err
		}
		l.lock = lock
	}
	if err := l.load(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// segmentName is a segment's file name: its first id, zero-padded so the
// names sort as the ids do.
func segmentName(first int64) string { return fmt.Sprintf("%020d.log", first) }

// load reads the directory: every segment's first id and first record's
// time, and the last segment whole, to find where its records end.
func (l *Log) load() error {
	entries, err := os.ReadDir(l.dir)
	if errors.Is(err, os.ErrNotExist) && l.opts.ReadOnly {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open inbox: %w", err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || e.IsDir() {
			continue
		}
		first, err := strconv.ParseInt(name, 10, 64)
		if err != nil || first <= 0 {
			continue
		}
		l.segs = append(l.segs, &segment{first: first, path: filepath.Join(l.dir, e.Name())})
	}
	slices.SortFunc(l.segs, func(a, b *segment) int { return cmp.Compare(a.first, b.first) })
	for i, seg := range l.segs {
		if i == len(l.segs)-1 {
			if err := l.loadLast(seg); err != nil {
				return err
			}
			continue
		}
		if err := l.loadFirst(seg); err != nil {
			return err
		}
	}
	return nil
}

// loadFirst reads a segment's size and its first record's time.
func (l *Log) loadFirst(seg *segment) error {
	f, err := os.Open(seg.path)
	if err != nil {
		return fmt.Errorf("open inbox: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open inbox: %w", err)
	}
	seg.size = fi.Size()
	h := make([]byte, headerSize)
	if _, err := io.ReadFull(f, h); err != nil {
		return fmt.Errorf("open inbox %s: %w", seg.path, err)
	}
	if err := checkHeader(h); err != nil {
		return fmt.Errorf("open inbox %s: %w", seg.path, err)
	}
	rr := recordReader{r: f, off: headerSize}
	if _, at, _, err := rr.next(nil); err == nil {
		seg.firstAtMS = at
	}
	return nil
}

// loadLast reads the last segment to its last whole record, which sets the
// next id, and cuts off anything after it (a write the process died in).
func (l *Log) loadLast(seg *segment) error {
	flag := os.O_RDWR
	if l.opts.ReadOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(seg.path, flag, 0)
	if err != nil {
		return fmt.Errorf("open inbox: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open inbox: %w", err)
	}
	h := make([]byte, headerSize)
	_, err = io.ReadFull(f, h)
	switch {
	case err != nil && fi.Size() < headerSize && l.opts.ReadOnly:
		f.Close() // being created by its writer
		return nil
	case err != nil && fi.Size() < headerSize:
		// Created, and the process died before its header was written.
		if _, err := f.WriteAt(fileHeader(), 0); err != nil {
			f.Close()
			return fmt.Errorf("open inbox %s: %w", seg.path, err)
		}
		fi = nil
	case err != nil:
		f.Close()
		return fmt.Errorf("open inbox %s: %w", seg.path, err)
	default:
		if err := checkHeader(h); err != nil {
			f.Close()
			return fmt.Errorf("open inbox %s: %w", seg.path, err)
		}
	}
	seg.size = headerSize
	l.next = max(l.next, seg.first)
	size := int64(headerSize)
	if fi != nil {
		size = fi.Size()
	}
	rr := recordReader{r: bufio.NewReaderSize(io.NewSectionReader(f, headerSize, size-headerSize), 1<<20), off: headerSize}
	var body []byte
	for {
		off := rr.off
		id, at, b, err := rr.next(body)
		if errors.Is(err, errEnd) {
			break
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("open inbox %s: %w", seg.path, err)
		}
		if id < l.next {
			rr.off = off // a stale record: not part of the log
			break
		}
		body = b
		if seg.firstAtMS == 0 {
			seg.firstAtMS = at
		}
		seg.addMark(id, off)
		l.last, l.next = id, id+1
	}
	seg.size = rr.off
	if l.opts.ReadOnly {
		f.Close()
		return nil
	}
	if size > seg.size {
		slog.Warn("inbox: cut a torn write off the end of the log (it was never acknowledged)",
			slog.String("segment", seg.path), slog.Int64("bytes", size-seg.size))
		if err := f.Truncate(seg.size); err != nil {
			f.Close()
			return fmt.Errorf("open inbox %s: %w", seg.path, err)
		}
	}
	l.active = f
	return nil
}

func (s *segment) addMark(id, off int64) {
	if len(s.marks) == 0 || off-s.marks[len(s.marks)-1].off >= markEvery {
		s.marks = append(s.marks, mark{id, off})
	}
}

// SetFloor makes every id from now on greater than id. The store raises it
// to the applied cursor, so that a log that lost its tail (a power loss
// without sync mode) never reuses an id the processor has passed.
func (l *Log) SetFloor(id int64) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next = max(l.next, id+1)
}

// LastID returns the id of the newest record, 0 when there is none.
func (l *Log) LastID() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Append stores bodies under consecutive new ids, received at the given
// time, and returns the first id. When it returns nil the bodies are in the
// operating system's hands (and on disk, in sync mode).
func (l *Log) Append(bodies [][]byte, received time.Time) (int64, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.opts.ReadOnly {
		return 0, ErrReadOnly
	}
	if l.broken != nil {
		return 0, l.broken
	}
	l.mu.Lock()
	first, last := l.next, l.last
	l.mu.Unlock()
	if len(bodies) == 0 {
		return first, nil
	}
	at := received.UnixMilli()
	seg, err := l.segmentFor(first, last, at)
	if err != nil {
		return 0, err
	}
	start := seg.size // only the writer changes it
	buf := l.buf[:0]
	for i, b := range bodies {
		buf = appendRecord(buf, first+int64(i), at, b)
	}
	l.buf = buf
	if err := l.write(buf, start); err != nil {
		return 0, err
	}
	l.mu.Lock()
	off := start
	for i, b := range bodies {
		seg.addMark(first+int64(i), off)
		off += recordHead + int64(len(b))
	}
	if l.last < seg.first {
		seg.firstAtMS = at
	}
	seg.size = off
	l.last = first + int64(len(bodies)) - 1
	l.next = l.last + 1
	l.mu.Unlock()
	return first, nil
}

// write writes buf at off in the active segment. A failed write is cut
// off again, so the next one does not follow half a record.
func (l *Log) write(buf []byte, off int64) error {
	_, err := l.active.WriteAt(buf, off)
	if err == nil && l.opts.Sync {
		err = syncData(l.active)
	}
	if err == nil {
		return nil
	}
	if terr := l.active.Truncate(off); terr != nil {
		l.broken = fmt.Errorf("inbox: a failed write could not be undone (%v); restart ticks", terr)
	}
	return fmt.Errorf("store webhook: %w", err)
}

// segmentFor returns the segment the next records go to, starting a new one
// when there is none or the last is full or old.
func (l *Log) segmentFor(first, last, atMS int64) (*segment, error) {
	l.mu.Lock()
	var cur *segment
	if n := len(l.segs); n > 0 && l.active != nil {
		cur = l.segs[n-1]
	}
	l.mu.Unlock()
	if cur != nil && (last < cur.first || // nothing in it yet
		cur.size < l.opts.SegmentBytes && atMS-cur.firstAtMS < l.opts.SegmentAge.Milliseconds()) {
		return cur, nil
	}
	seg := &segment{first: first, path: filepath.Join(l.dir, segmentName(first)), size: headerSize}
	f, err := os.OpenFile(seg.path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store webhook: new inbox segment: %w", err)
	}
	if _, err := f.WriteAt(fileHeader(), 0); err != nil {
		f.Close()
		os.Remove(seg.path)
		return nil, fmt.Errorf("store webhook: new inbox segment: %w", err)
	}
	if l.opts.Sync {
		if err := errors.Join(syncData(f), syncDir(l.dir)); err != nil {
			f.Close()
			os.Remove(seg.path)
			return nil, fmt.Errorf("store webhook: new inbox segment: %w", err)
		}
	}
	if old := l.active; old != nil {
		if l.opts.Sync {
			old.Close()
		} else {
			// Without sync mode the kernel writes the segment out in its
			// own time; once it is closed, ask for it now, off the path
			// webhooks wait on, so a power loss can cost at most the
			// newest segment.
			go func() {
				syncData(old)
				syncDir(l.dir)
				old.Close()
			}()
		}
	}
	l.active = f
	l.mu.Lock()
	l.segs = append(l.segs, seg)
	l.mu.Unlock()
	return seg, nil
}

// view is what a reader may read: the segments and how far each was
// written when it looked.
type view struct {
	segs []segment
	last int64
	hint readHint
}

func (l *Log) view() view {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := view{segs: make([]segment, len(l.segs)), last: l.last, hint: l.hint}
	for i, s := range l.segs {
		v.segs[i] = *s // marks only grow: the copied slice stays valid
	}
	return v
}

// Read returns up to limit records with an id above after, in id order.
func (l *Log) Read(after int64, limit int) ([]Record, error) {
	v := l.view()
	if limit <= 0 || after >= v.last || len(v.segs) == 0 {
		return nil, nil
	}
	// The segment holding after+1: the last one starting at or before it.
	i, found := slices.BinarySearchFunc(v.segs, after+1, func(s segment, id int64) int {
		return cmp.Compare(s.first, id)
	})
	if !found && i > 0 {
		i--
	}
	var out []Record
	var hint readHint
	for ; i < len(v.segs) && len(out) < limit; i++ {
		seg := &v.segs[i]
		from := seg.startFor(after, v.hint)
		recs, end, err := l.readSegment(seg, from, after, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
		if len(recs) > 0 {
			hint = readHint{segFirst: seg.first, id: recs[len(recs)-1].ID, off: end}
		}
	}
	if hint.segFirst != 0 {
		l.mu.Lock()
		l.hint = hint
		l.mu.Unlock()
	}
	return out, nil
}

// startFor returns where to start reading seg for the records after after:
// the last read's end or the nearest mark before it, else the first record.
func (s *segment) startFor(after int64, h readHint) int64 {
	from := int64(headerSize)
	if j, _ := slices.BinarySearchFunc(s.marks, after+2, func(m mark, id int64) int {
		return cmp.Compare(m.id, id)
	}); j > 0 {
		from = s.marks[j-1].off
	}
	if h.segFirst == s.first && h.id <= after && h.off > from {
		from = h.off
	}
	return from
}

// readSegment reads seg from offset from up to the size the view saw,
// returning up to limit records with ids above after and the offset after
// the last one returned.
func (l *Log) readSegment(seg *segment, from, after int64, limit int) ([]Record, int64, error) {
	f, err := os.Open(seg.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, from, nil // pruned meanwhile: all of it was applied
	}
	if err != nil {
		return nil, from, fmt.Errorf("read inbox: %w", err)
	}
	defer f.Close()
	rr := recordReader{r: bufio.NewReaderSize(io.NewSectionReader(f, from, seg.size-from), 256<<10), off: from}
	var out []Record
	prev := int64(0)
	for len(out) < limit {
		id, at, body, err := rr.next(nil)
		if errors.Is(err, errEnd) {
			if rr.off < seg.size {
				slog.Error("inbox: a damaged record; the rest of its segment is skipped",
					slog.String("segment", seg.path), slog.Int64("offset", rr.off), slog.Int64("after_id", prev))
			}
			break
		}
		if err != nil {
			return nil, from, fmt.Errorf("read inbox %s: %w", seg.path, err)
		}
		if id <= prev {
			break
		}
		prev = id
		if id <= after {
			continue
		}
		out = append(out, Record{ID: id, ReceivedAt: time.UnixMilli(at).UTC(), Body: body})
	}
	return out, rr.off, nil
}

// Prune removes, oldest first, the segments whose every record has an id at
// most applied and was received before cutoff (the next segment began
// before it). The last segment is kept. It returns how many webhook ids the
// removed segments spanned.
func (l *Log) Prune(applied int64, cutoff time.Time) (int64, error) {
	if l.opts.ReadOnly {
		return 0, ErrReadOnly
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for len(l.segs) > 1 {
		seg, next := l.segs[0], l.segs[1]
		if next.first-1 > applied || next.firstAtMS >= cutoff.UnixMilli() || next.firstAtMS == 0 {
			break
		}
		if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, fmt.Errorf("prune inbox: %w", err)
		}
		n += next.first - seg.first
		l.segs = l.segs[1:]
	}
	return n, nil
}

// Close closes the log and releases its lock.
func (l *Log) Close() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	var err error
	if l.active != nil {
		err = l.active.Close()
		l.active = nil
	}
	if l.lock != nil {
		err = errors.Join(err, l.lock.Close())
		l.lock = nil
	}
	l.broken = errors.New("inbox closed")
	return err
}

// Sync waits until everything appended is on disk, whatever the mode.
func (l *Log) Sync() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.active == nil {
		return nil
	}
	return errors.Join(syncData(l.active), syncDir(l.dir))
}
