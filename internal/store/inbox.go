package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/inboxlog"
)

// InboxRow is a webhook body as it was received.
type InboxRow struct {
	ID         int64
	ReceivedAt time.Time
	Body       []byte
}

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

// inboxFiles is a SQLite database's inbox log, opened on first use.
type inboxFiles struct {
	dir    string // "" on PostgreSQL
	legacy string
	temp   bool // dir is a temporary one, removed on close (":memory:")
	opts   inboxlog.Options

	mu  sync.Mutex
	log *inboxlog.Log
}

// take returns the inbox log held by this process, opening it (and taking
// its lock) on first use. floor, when not nil, gives the id the log's ids
// must go on after; it is applied before any other caller sees the log.
func (in *inboxFiles) take(floor func() (int64, error)) (*inboxlog.Log, error) {
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
func (in *inboxFiles) view() (*inboxlog.Log, error) {
	ro := in.opts
	ro.ReadOnly = true
	return inboxlog.Open(in.dir, ro)
}

// withInboxLog runs fn on the inbox log, taking it for this process on
// first use. When another process holds it (a server, beside an admin
// command) fn gets a read-only view of it as it is now: reads work,
// appends fail.
func (s *Store) withInboxLog(ctx context.Context, fn func(*inboxlog.Log) error) error {
	// Ids go on after every id the processor has applied, even if the log
	// lost its tail to a power loss (without sync mode) or was removed.
	l, err := s.inbox.take(func() (int64, error) { return s.Cursor(ctx) })
	if errors.Is(err, inboxlog.ErrLocked) {
		if l, err = s.inbox.view(); err == nil {
			defer l.Close()
		}
	}
	if err != nil {
		return err
	}
	return fn(l)
}

// peekInboxLog runs fn on the inbox log when this process holds it, and
// otherwise on a read-only view, without taking it: an admin command that
// only asks how far the inbox got never keeps a server from taking it.
func (s *Store) peekInboxLog(fn func(*inboxlog.Log) error) error {
	in := &s.inbox
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

func (in *inboxFiles) close() error {
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

// migrateInbox moves into the inbox log the webhooks an earlier ticks kept
// in SQLite — a table of the main database, or later a file of its own —
// with their ids, and then drops them. It runs once; stopped half way, the
// next run goes on (rows the log already has are skipped). New ids come
// after every id the old inbox, its sequence or the cursor used.
func (s *Store) migrateInbox(ctx context.Context) error {
	var table int
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'webhook_inbox'`).Scan(&table); err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	_, statErr := os.Stat(s.inbox.legacy)
	file := statErr == nil
	if table == 0 && !file {
		return nil
	}
	// The log is taken without the cursor's floor: the rows keep their ids,
	// applied or not, and the floor comes after them.
	l, err := s.inbox.take(nil)
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
		db, err := sql.Open("sqlite", "file:"+url.PathEscape(s.inbox.legacy)+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return fmt.Errorf("migrate inbox: %w", err)
		}
		err = moveInbox(ctx, db, l)
		db.Close()
		if err != nil {
			return err
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(s.inbox.legacy + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
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
		rows, err := db.QueryContext(ctx, `SELECT id, received_at, body FROM webhook_inbox WHERE id > ? ORDER BY id LIMIT 500`, after)
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

// appendChunk is how many bodies one inbox statement inserts.
const appendChunk = 32

// appendQuery inserts n bodies and returns their ids.
func appendQuery(n int) string {
	return `INSERT INTO webhook_inbox (received_at, body) VALUES ` +
		strings.TrimSuffix(strings.Repeat(`(?, ?),`, n), ",") + ` RETURNING id`
}

// AppendInbox durably stores webhook bodies, all at once: the group commit
// that lets many concurrent webhooks share one write (and one disk sync).
// It returns their IDs, in the order of bodies. On SQLite they go to the
// inbox log, on PostgreSQL to the inbox table in one transaction.
func (s *Store) AppendInbox(ctx context.Context, bodies [][]byte, received time.Time) ([]int64, error) {
	if len(bodies) == 0 {
		return nil, nil
	}
	if s.dialect == SQLite {
		var first int64
		err := s.withInboxLog(ctx, func(l *inboxlog.Log) (err error) {
			first, err = l.Append(bodies, received)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("append inbox: %w", err)
		}
		ids := make([]int64, len(bodies))
		for i := range ids {
			ids[i] = first + int64(i)
		}
		return ids, nil
	}
	stmts := map[int]*sql.Stmt{}
	for start := 0; start < len(bodies); start += appendChunk {
		n := min(appendChunk, len(bodies)-start)
		if stmts[n] != nil {
			continue
		}
		q := appendQuery(n)
		st := s.cached(s.w, q)
		if st == nil {
			var err error
			if st, err = s.prepare(ctx, s.w, q); err != nil {
				return nil, fmt.Errorf("append inbox: %w", err)
			}
		}
		stmts[n] = st
	}
	ids := make([]int64, 0, len(bodies))
	err := txOn(ctx, s.w, func(tx *sql.Tx) error {
		args := make([]any, 0, 2*appendChunk)
		for start := 0; start < len(bodies); start += appendChunk {
			part := bodies[start:min(start+appendChunk, len(bodies))]
			args = args[:0]
			for _, body := range part {
				args = append(args, ms(received), body)
			}
			rows, err := tx.StmtContext(ctx, stmts[len(part)]).QueryContext(ctx, args...)
			if err != nil {
				return fmt.Errorf("append inbox: %w", err)
			}
			first := len(ids)
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return fmt.Errorf("append inbox: %w", err)
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("append inbox: %w", err)
			}
			// One statement numbers its rows in order; RETURNING's own
			// order is not promised, so sort.
			slices.Sort(ids[first:])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// ReadInbox returns up to limit inbox rows with an ID above after, in order.
func (s *Store) ReadInbox(ctx context.Context, after int64, limit int) ([]InboxRow, error) {
	if s.dialect == SQLite {
		var out []InboxRow
		err := s.withInboxLog(ctx, func(l *inboxlog.Log) error {
			recs, err := l.Read(after, limit)
			for _, r := range recs {
				out = append(out, InboxRow(r))
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read inbox: %w", err)
		}
		return out, nil
	}
	query := `SELECT id, received_at, body FROM webhook_inbox WHERE id > ? ORDER BY id LIMIT ?`
	st := s.cached(s.r, query)
	if st == nil {
		var err error
		if st, err = s.prepare(ctx, s.r, query); err != nil {
			return nil, fmt.Errorf("read inbox: %w", err)
		}
	}
	rows, err := st.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	defer rows.Close()
	var out []InboxRow
	for rows.Next() {
		var r InboxRow
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.Body); err != nil {
			return nil, fmt.Errorf("read inbox: %w", err)
		}
		r.ReceivedAt = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// InboxStats tells how far the inbox and its processor got.
type InboxStats struct {
	LastID  int64 // the newest stored webhook
	Applied int64 // the last one applied
}

// Pending is how many stored webhooks wait to be applied (ids are dense in
// the SQLite inbox log, but for a jump after a tail lost to a power loss; on
// PostgreSQL an id lost to a rolled-back commit counts too).
func (st InboxStats) Pending() int64 { return max(st.LastID-st.Applied, 0) }

// InboxStats reports how far the processor got. It is cheap (an index
// entry, or the log's last id), so /readyz and pollers may call it often.
func (s *Store) InboxStats(ctx context.Context) (InboxStats, error) {
	var st InboxStats
	var err error
	if s.dialect == SQLite {
		err = s.peekInboxLog(func(l *inboxlog.Log) error {
			st.LastID = l.LastID()
			return nil
		})
	} else {
		err = s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM webhook_inbox`).Scan(&st.LastID)
	}
	if err != nil {
		return st, fmt.Errorf("inbox stats: %w", err)
	}
	st.Applied, err = s.Cursor(ctx)
	return st, err
}

const cursorKey = "ingest.cursor"

// Cursor returns the ID of the last inbox row the processor applied.
func (s *Store) Cursor(ctx context.Context) (int64, error) {
	var v string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT value FROM kv WHERE key = ?`), cursorKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cursor: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}

// SetCursor moves the processor's cursor, e.g. back to 0 to replay the inbox.
func (s *Store) SetCursor(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.setCursorTx(ctx, tx, id) })
}

func (s *Store) setCursorTx(ctx context.Context, tx *sql.Tx, id int64) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO kv (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`), cursorKey, strconv.FormatInt(id, 10))
	if err != nil {
		return fmt.Errorf("set cursor: %w", err)
	}
	return nil
}

// PruneInbox deletes applied webhooks received before cutoff and returns
// how many went. The SQLite inbox log removes whole files of them, oldest
// first: a file goes once every webhook in it is applied and the file after
// it began before cutoff.
func (s *Store) PruneInbox(ctx context.Context, cutoff time.Time) (int64, error) {
	cur, err := s.Cursor(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	if s.dialect == SQLite {
		err := s.withInboxLog(ctx, func(l *inboxlog.Log) (err error) {
			n, err = l.Prune(cur, cutoff)
			return err
		})
		return n, err
	}
	err = txOn(ctx, s.w, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_inbox WHERE id <= ? AND received_at < ?`), cur, ms(cutoff))
		if err != nil {
			return fmt.Errorf("prune inbox: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
