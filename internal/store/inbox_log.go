package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/inboxlog"
)

// The webhook inbox of a SQLite database: a log of files beside it
// (package inboxlog), opened when first needed, so that only the process
// that serves webhooks holds it. PostgreSQL's is a table (inbox_table.go).

// InboxDir is the directory of a SQLite database's webhook inbox log: next
// to it, named after it ("ticks.db" → "ticks-inbox"). Back both up together.
func InboxDir(path string) string {
	if base, ok := strings.CutSuffix(path, ".db"); ok {
		return base + "-inbox"
	}
	return path + "-inbox.d"
}

// legacyInboxPath is where an earlier ticks kept the inbox of a SQLite
// database: a SQLite file beside it. Migrate moves its rows into the log.
func legacyInboxPath(path string) string {
	if base, ok := strings.CutSuffix(path, ".db"); ok {
		return base + "-inbox.db"
	}
	return path + "-inbox"
}

// inboxLog is a SQLite database's inbox log, opened on first use.
type inboxLog struct {
	s      *Store
	dir    string
	legacy string
	temp   bool // dir is a temporary one, removed on close (":memory:")
	opts   inboxlog.Options

	mu  sync.Mutex
	log *inboxlog.Log
}

// take returns the inbox log held by this process, opening it (and taking
// its lock) on first use. floor, when not nil, gives the id the log's ids
// must go on after; it is applied before any other caller sees the log.
func (in *inboxLog) take(floor func() (int64, error)) (*inboxlog.Log, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.log != nil {
		return in.log, nil
	}
	l, err := inboxlog.Open(in.dir, in.opts)
	if err != nil {
		return nil, err
	}
	if floor != nil {
		id, err := floor()
		if err != nil {
			l.Close()
			return nil, err
		}
		l.SetFloor(id)
	}
	in.log = l
	return l, nil
}

// view opens a read-only view of the inbox log as it is now, without
// taking it; the caller closes it.
func (in *inboxLog) view() (*inboxlog.Log, error) {
	ro := in.opts
	ro.ReadOnly = true
	return inboxlog.Open(in.dir, ro)
}

// with runs fn on the inbox log, taking it for this process on first use.
// When another process holds it (a server, beside an admin command) fn
// gets a read-only view of it as it is now: reads work, appends fail.
func (in *inboxLog) with(ctx context.Context, fn func(*inboxlog.Log) error) error {
	// Ids go on after every id the processor has applied, even if the log
	// lost its tail to a power loss (without sync mode) or was removed.
	l, err := in.take(func() (int64, error) { return in.s.Cursor(ctx) })
	if errors.Is(err, inboxlog.ErrLocked) {
		if l, err = in.view(); err == nil {
			defer l.Close()
		}
	}
	if err != nil {
		return err
	}
	return fn(l)
}

// peek runs fn on the inbox log when this process holds it, and otherwise
// on a read-only view, without taking it: an admin command that only asks
// how far the inbox got never keeps a server from taking it.
func (in *inboxLog) peek(fn func(*inboxlog.Log) error) error {
	in.mu.Lock()
	l := in.log
	in.mu.Unlock()
	if l == nil {
		var err error
		if l, err = in.view(); err != nil {
			return err
		}
		defer l.Close()
	}
	return fn(l)
}

func (in *inboxLog) close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	var err error
	if in.log != nil {
		err = in.log.Close()
		in.log = nil
	}
	if in.temp {
		os.RemoveAll(in.dir)
	}
	return err
}

func (in *inboxLog) append(ctx context.Context, bodies [][]byte, received time.Time) ([]int64, error) {
	var first int64
	err := in.with(ctx, func(l *inboxlog.Log) (err error) {
		first, err = l.Append(bodies, received)
		return err
	})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(bodies))
	for i := range ids {
		ids[i] = first + int64(i)
	}
	return ids, nil
}

func (in *inboxLog) read(ctx context.Context, after int64, limit int) ([]InboxRow, error) {
	var out []InboxRow
	err := in.with(ctx, func(l *inboxlog.Log) error {
		recs, err := l.Read(after, limit)
		for _, r := range recs {
			out = append(out, InboxRow(r))
		}
		return err
	})
	return out, err
}

func (in *inboxLog) lastID(context.Context) (int64, error) {
	var id int64
	err := in.peek(func(l *inboxlog.Log) error {
		id = l.LastID()
		return nil
	})
	return id, err
}

// prune removes whole files of the log, oldest first: a file goes once
// every webhook in it is applied and the file after it began before
// cutoff.
func (in *inboxLog) prune(ctx context.Context, applied int64, cutoff time.Time) (int64, error) {
	var n int64
	err := in.with(ctx, func(l *inboxlog.Log) (err error) {
		n, err = l.Prune(applied, cutoff)
		return err
	})
	return n, err
}

// migrate moves into the inbox log the webhooks an earlier ticks kept in
// SQLite — a table of the main database, or later a file of its own — with
// their ids, and then drops them. It runs once; stopped half way, the next
// run goes on (rows the log already has are skipped). New ids come after
// every id the old inbox, its sequence or the cursor used.
func (in *inboxLog) migrate(ctx context.Context) error {
	s := in.s
	var table int
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'webhook_inbox'`).Scan(&table); err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	_, statErr := os.Stat(in.legacy)
	file := statErr == nil
	if table == 0 && !file {
		return nil
	}
	// The log is taken without the cursor's floor: the rows keep their ids,
	// applied or not, and the floor comes after them.
	l, err := in.take(nil)
	if err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	if table > 0 {
		if err := moveInbox(ctx, s.w, l); err != nil {
			return err
		}
		if _, err := s.w.ExecContext(ctx, `DROP TABLE webhook_inbox`); err != nil {
			return fmt.Errorf("migrate inbox: %w", err)
		}
	}
	if file {
		db, err := sql.Open("sqlite", "file:"+url.PathEscape(in.legacy)+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return fmt.Errorf("migrate inbox: %w", err)
		}
		err = moveInbox(ctx, db, l)
		db.Close()
		if err != nil {
			return err
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(in.legacy + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("migrate inbox: %w", err)
			}
		}
	}
	cur, err := s.Cursor(ctx)
	if err != nil {
		return err
	}
	l.SetFloor(cur)
	return nil
}

// moveInbox appends the rows of db's webhook_inbox table that l lacks to l,
// keeping their ids, and raises l's floor to the table's sequence. It syncs
// l before returning, since the caller then drops the rows.
func moveInbox(ctx context.Context, db *sql.DB, l *inboxlog.Log) error {
	var exists int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'webhook_inbox'`).Scan(&exists); err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	if exists == 0 {
		return nil
	}
	for after := l.LastID(); ; {
		rows, err := db.QueryContext(ctx, `SELECT id, received_at, body FROM webhook_inbox WHERE id > $1 ORDER BY id LIMIT 500`, after)
		if err != nil {
			return fmt.Errorf("migrate inbox: %w", err)
		}
		var batch []inboxlog.Record
		for rows.Next() {
			var r inboxlog.Record
			var at int64
			if err := rows.Scan(&r.ID, &at, &r.Body); err != nil {
				rows.Close()
				return fmt.Errorf("migrate inbox: %w", err)
			}
			r.ReceivedAt = fromMS(at)
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("migrate inbox: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		// One append per run of consecutive ids received together (the old
		// inbox's group commits).
		for i := 0; i < len(batch); {
			j := i + 1
			for j < len(batch) && batch[j].ID == batch[j-1].ID+1 && batch[j].ReceivedAt.Equal(batch[i].ReceivedAt) {
				j++
			}
			bodies := make([][]byte, 0, j-i)
			for _, r := range batch[i:j] {
				bodies = append(bodies, r.Body)
			}
			l.SetFloor(batch[i].ID - 1)
			first, err := l.Append(bodies, batch[i].ReceivedAt)
			if err != nil {
				return fmt.Errorf("migrate inbox: %w", err)
			}
			if first != batch[i].ID {
				return fmt.Errorf("migrate inbox: webhook %d would be stored as %d: the inbox log was written before the migration", batch[i].ID, first)
			}
			i = j
		}
		after = batch[len(batch)-1].ID
	}
	// The table was made with AUTOINCREMENT, so sqlite_sequence holds the
	// last id it gave, pruned or rolled back since.
	var seq int64
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'webhook_inbox'`).Scan(&seq)
	if err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	l.SetFloor(seq)
	if err := l.Sync(); err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	return nil
}
