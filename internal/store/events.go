package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// WebhookEvent is an account-level or unmodelled webhook change kept for
// admins: template, quality and tier updates, account errors, preference
// changes, fields ticks does not model, and webhooks set aside. (Messages
// for phone numbers no channel owns are messages of the unassigned
// subaccount, not events.)
type WebhookEvent struct {
	ID           int64           `json:"id,string"`
	SubaccountID int64           `json:"subaccount_id"`
	ChannelID    *int64          `json:"channel_id,omitempty"`
	Field        string          `json:"field"`
	Event        string          `json:"event"`
	Detail       string          `json:"detail"`
	Payload      json.RawMessage `json:"payload"`
	At           time.Time       `json:"at"`
}

// WebhookEvents lists the newest events of the given subaccounts (all when
// nil), optionally of one field.
func (s *Store) WebhookEvents(ctx context.Context, subaccounts []int64, field string, limit int) ([]WebhookEvent, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return []WebhookEvent{}, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	if field != "" {
		w.add(`field = ` + w.arg(field))
	}
	query := `SELECT id, subaccount_id, channel_id, field, event, detail, payload, at
		FROM webhook_events` + w.sql() + ` ORDER BY at DESC, id DESC LIMIT ` + w.arg(limit)
	rows, err := s.r.QueryContext(ctx, query, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list webhook events: %w", err)
	}
	defer rows.Close()
	out := []WebhookEvent{}
	for rows.Next() {
		var e WebhookEvent
		var ch sql.NullInt64
		var payload string
		var at int64
		if err := rows.Scan(&e.ID, &e.SubaccountID, &ch, &e.Field, &e.Event, &e.Detail, &payload, &at); err != nil {
			return nil, err
		}
		if ch.Valid {
			e.ChannelID = &ch.Int64
		}
		e.Payload, e.At = json.RawMessage(payload), fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
