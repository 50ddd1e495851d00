package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// CampaignRowMessage is one audience row of a campaign and the message it
// became (Found false: not yet sent).
type CampaignRowMessage struct {
	Row         domain.CampaignRow
	Found       bool
	ContactID   int64
	Status      domain.Status
	ErrorCode   int
	ErrorTitle  string
	SentAt      time.Time
	DeliveredAt *time.Time
	ReadAt      *time.Time
}

// CampaignRowMessages calls fn with each audience row of campaign id, in
// file order, and its message: found by the idempotency key the dispatch
// gives each row's send ("campaign-<id>-<seq>"), one index look-up a row.
func (s *Store) CampaignRowMessages(ctx context.Context, subaccountID, id int64, fn func(CampaignRowMessage) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT r.seq, r.line, r.phone, r.name, r.correlation_id, r.vars,
		m.contact_id, m.status, m.error_code, m.error_title, m.at, m.delivered_at, m.read_at
		FROM campaign_rows r LEFT JOIN messages m ON m.subaccount_id = $1
			AND m.idempotency_key = 'campaign-' || CAST(r.campaign_id AS TEXT) || '-' || CAST(r.seq AS TEXT)
		WHERE r.campaign_id = $2 ORDER BY r.seq`, subaccountID, id)
	if err != nil {
		return fmt.Errorf("campaign messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var x CampaignRowMessage
		var vars string
		var contact, code, at, delivered, read sql.NullInt64
		var status, title sql.NullString
		if err := rows.Scan(&x.Row.Seq, &x.Row.Line, &x.Row.Phone, &x.Row.Name, &x.Row.CorrelationID, &vars,
			&contact, &status, &code, &title, &at, &delivered, &read); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(vars), &x.Row.Vars); err != nil {
			return fmt.Errorf("campaign %d row %d: %w", id, x.Row.Seq, err)
		}
		if contact.Valid {
			x.Found, x.ContactID, x.Status = true, contact.Int64, domain.Status(status.String)
			x.ErrorCode, x.ErrorTitle, x.SentAt = int(code.Int64), title.String, fromMS(at.Int64)
			x.DeliveredAt, x.ReadAt = ptrMS(delivered), ptrMS(read)
		}
		if err := fn(x); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CampaignReply is a contact's first answer to a campaign, and the text of
// the first quick-reply button it pressed ("" for none).
type CampaignReply struct {
	At     time.Time
	Button string
}

// CampaignReplies returns, by contact, the first answer to campaign id
// (inbound messages the ingestion attributed to it) and the first button.
func (s *Store) CampaignReplies(ctx context.Context, subaccountID, id int64) (map[int64]CampaignReply, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT contact_id, at, content_type, text FROM messages
		WHERE campaign_id = $1 AND subaccount_id = $2 AND direction = 'mo' ORDER BY at`, id, subaccountID)
	if err != nil {
		return nil, fmt.Errorf("campaign replies: %w", err)
	}
	defer rows.Close()
	out := map[int64]CampaignReply{}
	for rows.Next() {
		var contact, at int64
		var kind, text string
		if err := rows.Scan(&contact, &at, &kind, &text); err != nil {
			return nil, err
		}
		r, seen := out[contact]
		if !seen {
			r.At = fromMS(at)
		}
		if kind == "button" && r.Button == "" {
			r.Button = text
		}
		out[contact] = r
	}
	return out, rows.Err()
}

// CampaignRowClicks returns a campaign's link clicks by audience row (every
// button's together).
func (s *Store) CampaignRowClicks(ctx context.Context, subaccountID, id int64) (map[int]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, clicks FROM campaign_clicks WHERE campaign_id = $1 AND subaccount_id = $2`, id, subaccountID)
	if err != nil {
		return nil, fmt.Errorf("campaign clicks: %w", err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var seq int
		var n int64
		if err := rows.Scan(&seq, &n); err != nil {
			return nil, err
		}
		out[seq] += n
	}
	return out, rows.Err()
}
