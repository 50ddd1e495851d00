package store

import (
	"context"
	"fmt"
	"time"
)

// Pruned counts the rows PruneHistory deleted, per table.
type Pruned struct {
	Messages, Events, Tickets, StatusChanges, Extractions int64
}

// pruneBatch is how many rows one statement of PruneHistory deletes: short
// transactions, so that ingestion's writes slip in between.
const pruneBatch = 5000

// PruneHistory deletes the history older than cutoff that the reports
// read (the report manager's five years): messages (the report's rollups
// follow, through their triggers), event tracks, closed and abandoned
// tickets (with their tags and events), status changes (each agent's last
// one before cutoff is kept: the status they were in at cutoff) and the
// extractions done before it. It works a subaccount and a batch at a
// time, through the indexes that start with the subaccount and the time.
func (s *Store) PruneHistory(ctx context.Context, cutoff time.Time) (Pruned, error) {
	var p Pruned
	ids, err := s.scopeIDs(ctx, nil)
	if err != nil {
		return p, err
	}
	c := ms(cutoff)
	drain := func(n *int64, query string, args ...any) error {
		for {
			res, err := s.w.ExecContext(ctx, query, append(args, pruneBatch)...)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			*n += k
			if k < pruneBatch {
				return nil
			}
		}
	}
	for _, sa := range ids {
		for _, dir := range []string{"mt", "mo"} {
			if err := drain(&p.Messages, `DELETE FROM messages WHERE id IN (SELECT id FROM messages
				WHERE subaccount_id = $1 AND direction = $2 AND at < $3 LIMIT $4)`, sa, dir, c); err != nil {
				return p, fmt.Errorf("prune messages: %w", err)
			}
		}
		if err := drain(&p.Events, `DELETE FROM tracking_events WHERE id IN (SELECT id FROM tracking_events
			WHERE subaccount_id = $1 AND at < $2 LIMIT $3)`, sa, c); err != nil {
			return p, fmt.Errorf("prune event tracks: %w", err)
		}
		if err := drain(&p.Tickets, `DELETE FROM desk_tickets WHERE id IN (SELECT id FROM desk_tickets
			WHERE subaccount_id = $1 AND opened_at < $2 AND state IN ('closed', 'abandoned') LIMIT $3)`, sa, c); err != nil {
			return p, fmt.Errorf("prune tickets: %w", err)
		}
	}
	if err := drain(&p.StatusChanges, `DELETE FROM desk_status_log WHERE id IN (SELECT l.id FROM desk_status_log l
		WHERE l.at < $1 AND l.id <> (SELECT k.id FROM desk_status_log k WHERE k.user_id = l.user_id AND k.at < $1
			ORDER BY k.at DESC, k.id DESC LIMIT 1) LIMIT $2)`, c); err != nil {
		return p, fmt.Errorf("prune status changes: %w", err)
	}
	if err := drain(&p.Extractions, `DELETE FROM extractions WHERE id IN (SELECT id FROM extractions
		WHERE created_at < $1 AND status IN ('expired', 'failed', 'canceled') LIMIT $2)`, c); err != nil {
		return p, fmt.Errorf("prune extractions: %w", err)
	}
	return p, nil
}
