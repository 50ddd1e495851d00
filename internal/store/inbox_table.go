package store

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The webhook inbox of a PostgreSQL database: the webhook_inbox table, its
// ids from the table's sequence. SQLite's is a log of files (inbox_log.go).

// inboxTable is the inbox as a table of the store's database.
type inboxTable struct{ s *Store }

// appendChunk is how many bodies one inbox statement inserts.
const appendChunk = 32

// appendQuery inserts n bodies and returns their ids.
func appendQuery(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO webhook_inbox (received_at, body) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(`, `)
		}
		b.WriteString(`($` + strconv.Itoa(2*i+1) + `, $` + strconv.Itoa(2*i+2) + `)`)
	}
	b.WriteString(` RETURNING id`)
	return b.String()
}

// append inserts the bodies in one transaction.
func (t *inboxTable) append(ctx context.Context, bodies [][]byte, received time.Time) ([]int64, error) {
	s := t.s
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
				return nil, err
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
				return err
			}
			first := len(ids)
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
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

func (t *inboxTable) read(ctx context.Context, after int64, limit int) ([]InboxRow, error) {
	st, err := t.s.readStmt(ctx, `SELECT id, received_at, body FROM webhook_inbox WHERE id > $1 ORDER BY id LIMIT $2`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	return scanInboxRows(rows)
}

func (t *inboxTable) lastID(ctx context.Context) (int64, error) {
	var id int64
	err := t.s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM webhook_inbox`).Scan(&id)
	return id, err
}

func (t *inboxTable) prune(ctx context.Context, applied int64, cutoff time.Time) (int64, error) {
	var n int64
	err := txOn(ctx, t.s.w, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_inbox WHERE id <= $1 AND received_at < $2`, applied, ms(cutoff))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// migrate has nothing to do: the table is made by the migrations.
func (t *inboxTable) migrate(context.Context) error { return nil }

func (t *inboxTable) close() error { return nil }

// scanInboxRows reads rows of (id, received_at in ms, body) and closes them.
func scanInboxRows(rows *sql.Rows) ([]InboxRow, error) {
	defer rows.Close()
	var out []InboxRow
	for rows.Next() {
		var r InboxRow
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.Body); err != nil {
			return nil, err
		}
		r.ReceivedAt = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
