package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// InboxRow is a webhook body as it was received.
type InboxRow struct {
	ID         int64
	ReceivedAt time.Time
	Body       []byte
}

// webhookInbox is where webhook bodies wait for the processor. The two
// databases keep it in different storage, not just different SQL: a log of
// files beside a SQLite database (inboxLog, inbox_log.go), so that the
// webhooks' group commits do not take the database's single writer, and a
// table on PostgreSQL (inboxTable, inbox_table.go).
type webhookInbox interface {
	// append stores bodies durably, all at once, and returns their ids in
	// order.
	append(ctx context.Context, bodies [][]byte, received time.Time) ([]int64, error)
	// read returns up to limit rows with an id above after, in order.
	read(ctx context.Context, after int64, limit int) ([]InboxRow, error)
	// lastID is the id of the newest stored webhook.
	lastID(ctx context.Context) (int64, error)
	// prune deletes webhooks up to applied received before cutoff, and
	// returns how many went.
	prune(ctx context.Context, applied int64, cutoff time.Time) (int64, error)
	// migrate moves in what an earlier ticks kept elsewhere.
	migrate(ctx context.Context) error
	close() error
}

// AppendInbox durably stores webhook bodies, all at once: the group commit
// that lets many concurrent webhooks share one write (and one disk sync).
// It returns their IDs, in the order of bodies.
func (s *Store) AppendInbox(ctx context.Context, bodies [][]byte, received time.Time) ([]int64, error) {
	if len(bodies) == 0 {
		return nil, nil
	}
	ids, err := s.inbox.append(ctx, bodies, received)
	if err != nil {
		return nil, fmt.Errorf("append inbox: %w", err)
	}
	return ids, nil
}

// ReadInbox returns up to limit inbox rows with an ID above after, in order.
func (s *Store) ReadInbox(ctx context.Context, after int64, limit int) ([]InboxRow, error) {
	rows, err := s.inbox.read(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	return rows, nil
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
	if st.LastID, err = s.inbox.lastID(ctx); err != nil {
		return st, fmt.Errorf("inbox stats: %w", err)
	}
	st.Applied, err = s.Cursor(ctx)
	return st, err
}

const cursorKey = "ingest.cursor"

// Cursor returns the ID of the last inbox row the processor applied.
func (s *Store) Cursor(ctx context.Context) (int64, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = $1`, cursorKey).Scan(&v)
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
	_, err := tx.ExecContext(ctx, `INSERT INTO kv (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, cursorKey, strconv.FormatInt(id, 10))
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
	n, err := s.inbox.prune(ctx, cur, cutoff)
	if err != nil {
		return n, fmt.Errorf("prune inbox: %w", err)
	}
	return n, nil
}
