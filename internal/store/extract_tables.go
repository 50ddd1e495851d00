package store

import (
	"context"
	"fmt"
	"time"
)

// scopeIDs returns the subaccounts of a scope: itself, or every
// subaccount for nil, so that reads use the indexes that start with
// subaccount_id.
func (s *Store) scopeIDs(ctx context.Context, scope []int64) ([]int64, error) {
	if scope != nil {
		return scope, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM subaccounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("subaccount ids: %w", err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// NotificationUsersRow is one line of the report manager's notifications
// users table: the outbound messages of one template and bot in a period.
type NotificationUsersRow struct {
	Template                               string
	BotID                                  int64 // 0: sent by a user or a campaign without an API token
	Sent, Failed, Delivered, Read, Replied int64
}

// NotificationUsers groups the outbound messages of scope (nil: all) in
// [from, to) by template and bot, counting them, the failed ones, those
// delivered, read and replied to (an inbound message quoting them).
func (s *Store) NotificationUsers(ctx context.Context, scope []int64, from, to time.Time) ([]NotificationUsersRow, error) {
	ids, err := s.scopeIDs(ctx, scope)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	w := &whereBuilder{}
	w.in(`m.subaccount_id`, len(ids), func(i int) any { return ids[i] })
	w.add(`m.direction = 'mt'`)
	w.add(`m.at >= ` + w.arg(ms(from)))
	w.add(`m.at < ` + w.arg(ms(to)))
	rows, err := s.r.QueryContext(ctx, `SELECT m.template_name, COALESCE(m.bot_id, 0), COUNT(*),
		SUM(CASE WHEN m.state = 'failed' THEN 1 ELSE 0 END),
		SUM(CASE WHEN m.delivered_at IS NOT NULL THEN 1 ELSE 0 END),
		SUM(CASE WHEN m.read_at IS NOT NULL THEN 1 ELSE 0 END),
		SUM(CASE WHEN m.wamid IS NOT NULL AND EXISTS (SELECT 1 FROM messages r WHERE r.context_wamid = m.wamid) THEN 1 ELSE 0 END)
		FROM messages m`+w.sql()+` GROUP BY m.template_name, COALESCE(m.bot_id, 0) ORDER BY 1, 2`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("notification users: %w", err)
	}
	defer rows.Close()
	var out []NotificationUsersRow
	for rows.Next() {
		var r NotificationUsersRow
		if err := rows.Scan(&r.Template, &r.BotID, &r.Sent, &r.Failed, &r.Delivered, &r.Read, &r.Replied); err != nil {
			return nil, fmt.Errorf("notification users: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
