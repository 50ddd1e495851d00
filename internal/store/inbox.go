package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InboxRow is a webhook body as it was received.
type InboxRow struct {
	ID         int64
	ReceivedAt time.Time
	Body       []byte
}

// InboxPath is the file of a SQLite database's webhook inbox: next to
// it, named after it ("ticks.db" → "ticks-inbox.db"). Back both up together.
func InboxPath(path string) string {
	if path == ":memory:" {
		return path
	}
	if base, ok := strings.CutSuffix(path, ".db"); ok {
		return base + "-inbox.db"
	}
	return path + "-inbox"
}

// inboxSchema creates the inbox of a SQLite inbox file. The ids go on from
// those the main database's inbox table used before the inbox had a file
// of its own (migrateInbox), so the processor's cursor stays meaningful.
const inboxSchema = `CREATE TABLE IF NOT EXISTS webhook_inbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    body        BLOB NOT NULL
)`

// migrateInbox creates the inbox file's table and moves into it any rows
// of the main database's inbox table, which it then drops: once on a
// database from before the inbox file, and right after the first migration
// on a new one. The inbox's ids start after every id the old table or the
// cursor used.
func (s *Store) migrateInbox(ctx context.Context) error {
	if _, err := s.iw.ExecContext(ctx, inboxSchema); err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	var old int
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'webhook_inbox'`).Scan(&old); err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	if old == 0 {
		return nil
	}
	var seq int64
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'webhook_inbox'`).Scan(&seq); err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	cur, err := s.Cursor(ctx)
	if err != nil {
		return err
	}
	for after := int64(0); ; {
		rows, err := s.w.QueryContext(ctx, `SELECT id, received_at, body FROM webhook_inbox WHERE id > ? ORDER BY id LIMIT 500`, after)
		if err != nil {
			return fmt.Errorf("migrate inbox: %w", err)
		}
		var batch []InboxRow
		for rows.Next() {
			var r InboxRow
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
		err = txOn(ctx, s.iw, func(tx *sql.Tx) error {
			for _, r := range batch {
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO webhook_inbox (id, received_at, body) VALUES (?, ?, ?)`,
					r.ID, ms(r.ReceivedAt), r.Body); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrate inbox: %w", err)
		}
		after = batch[len(batch)-1].ID
	}
	err = txOn(ctx, s.iw, func(tx *sql.Tx) error {
		// AUTOINCREMENT goes on from its sequence: raise it to what the old
		// table (or the cursor) used.
		floor := max(seq, cur)
		if _, err := tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'webhook_inbox'`, floor); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) SELECT 'webhook_inbox', ?
			WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'webhook_inbox')`, floor)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `DROP TABLE webhook_inbox`); err != nil {
		return fmt.Errorf("migrate inbox: %w", err)
	}
	return nil
}

// txOn runs fn in a write transaction on db, committing when it returns nil.
func txOn(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
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

// AppendInbox durably stores webhook bodies, all in one transaction: the
// group commit that lets many concurrent webhooks share one disk sync. It
// returns the rows' IDs, in the order of bodies.
func (s *Store) AppendInbox(ctx context.Context, bodies [][]byte, received time.Time) ([]int64, error) {
	if len(bodies) == 0 {
		return nil, nil
	}
	// The statements are prepared before the transaction, which holds the
	// inbox writer's only connection on SQLite.
	stmts := map[int]*sql.Stmt{}
	for start := 0; start < len(bodies); start += appendChunk {
		n := min(appendChunk, len(bodies)-start)
		if stmts[n] != nil {
			continue
		}
		q := appendQuery(n)
		st := s.cached(s.iw, q)
		if st == nil {
			var err error
			if st, err = s.prepare(ctx, s.iw, q); err != nil {
				return nil, fmt.Errorf("append inbox: %w", err)
			}
		}
		stmts[n] = st
	}
	ids := make([]int64, 0, len(bodies))
	err := txOn(ctx, s.iw, func(tx *sql.Tx) error {
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
	query := `SELECT id, received_at, body FROM webhook_inbox WHERE id > ? ORDER BY id LIMIT ?`
	st := s.cached(s.ir, query)
	if st == nil {
		var err error
		if st, err = s.prepare(ctx, s.ir, query); err != nil {
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

// Pending is how many stored webhooks wait to be applied (ids are dense
// on SQLite; on PostgreSQL an id lost to a rolled-back commit counts too).
func (st InboxStats) Pending() int64 { return max(st.LastID-st.Applied, 0) }

// InboxStats reports how far the processor got. It reads two index
// entries, so /readyz and pollers may call it often.
func (s *Store) InboxStats(ctx context.Context) (InboxStats, error) {
	var st InboxStats
	err := s.ir.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM webhook_inbox`).Scan(&st.LastID)
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

// PruneInbox deletes applied inbox rows received before cutoff.
func (s *Store) PruneInbox(ctx context.Context, cutoff time.Time) (int64, error) {
	cur, err := s.Cursor(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = txOn(ctx, s.iw, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_inbox WHERE id <= ? AND received_at < ?`), cur, ms(cutoff))
		if err != nil {
			return fmt.Errorf("prune inbox: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
