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

// AppendInbox durably stores webhook bodies, all in one transaction: the
// group commit that lets many concurrent webhooks share one disk sync. It
// returns the rows' IDs, in the order of bodies.
func (s *Store) AppendInbox(ctx context.Context, bodies [][]byte, received time.Time) ([]int64, error) {
	if len(bodies) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(bodies))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		const chunk = 32
		args := make([]any, 0, 2*chunk)
		for start := 0; start < len(bodies); start += chunk {
			part := bodies[start:min(start+chunk, len(bodies))]
			args = args[:0]
			for _, body := range part {
				args = append(args, ms(received), body)
			}
			query := `INSERT INTO webhook_inbox (received_at, body) VALUES ` +
				strings.TrimSuffix(strings.Repeat(`(?, ?),`, len(part)), ",") + ` RETURNING id`
			rows, err := s.txQuery(ctx, tx, query, args...)
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
	st, err := s.readStmt(ctx, `SELECT id, received_at, body FROM webhook_inbox WHERE id > ? ORDER BY id LIMIT ?`)
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
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
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM webhook_inbox`).Scan(&st.LastID)
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
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_inbox WHERE id <= ? AND received_at < ?`), cur, ms(cutoff))
		if err != nil {
			return fmt.Errorf("prune inbox: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
