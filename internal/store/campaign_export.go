package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"zombiezen.com/go/sqlite"

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
// On SQLite the rows are read on the exports' own connections (rawread.go):
// through database/sql, handing over these 13 columns cost more CPU than
// SQLite's finding of the rows.
func (s *Store) CampaignRowMessages(ctx context.Context, subaccountID, id int64, fn func(CampaignRowMessage) error) error {
	const query = `SELECT r.seq, r.line, r.phone, r.name, r.correlation_id, r.vars,
		m.contact_id, m.status, m.error_code, m.error_title, m.at, m.delivered_at, m.read_at
		FROM campaign_rows r LEFT JOIN messages m ON m.subaccount_id = $1
			AND m.idempotency_key = 'campaign-' || CAST(r.campaign_id AS TEXT) || '-' || CAST(r.seq AS TEXT)
		WHERE r.campaign_id = $2 ORDER BY r.seq`
	var x CampaignRowMessage
	var vars string
	var contact, code, at, delivered, read sql.NullInt64
	var status, title sql.NullString
	// each hands the row just scanned to fn.
	each := func() error {
		var err error
		if x.Row.Vars, err = decodeVars(vars); err != nil {
			return fmt.Errorf("campaign %d row %d: %w", id, x.Row.Seq, err)
		}
		x.Found, x.ContactID, x.Status, x.ErrorCode, x.ErrorTitle = false, 0, "", 0, ""
		x.SentAt, x.DeliveredAt, x.ReadAt = time.Time{}, nil, nil
		if contact.Valid {
			x.Found, x.ContactID, x.Status = true, contact.Int64, domain.Status(status.String)
			x.ErrorCode, x.ErrorTitle, x.SentAt = int(code.Int64), title.String, fromMS(at.Int64)
			x.DeliveredAt, x.ReadAt = ptrMS(delivered), ptrMS(read)
		}
		return fn(x)
	}
	if s.raw != nil {
		err := s.raw.query(ctx, query, false, []any{subaccountID, id}, func(st *sqlite.Stmt) error {
			x.Row.Seq, x.Row.Line = int(st.ColumnInt64(0)), int(st.ColumnInt64(1))
			x.Row.Phone, x.Row.Name, x.Row.CorrelationID, vars = st.ColumnText(2), st.ColumnText(3), st.ColumnText(4), st.ColumnText(5)
			contact, code, at, delivered, read = nullInt64(st, 6), nullInt64(st, 8), nullInt64(st, 10), nullInt64(st, 11), nullInt64(st, 12)
			status.String, title.String = st.ColumnText(7), st.ColumnText(9)
			return each()
		})
		if err != nil {
			return fmt.Errorf("campaign messages: %w", err)
		}
		return nil
	}
	rows, err := s.r.QueryContext(ctx, query, subaccountID, id)
	if err != nil {
		return fmt.Errorf("campaign messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&x.Row.Seq, &x.Row.Line, &x.Row.Phone, &x.Row.Name, &x.Row.CorrelationID, &vars,
			&contact, &status, &code, &title, &at, &delivered, &read); err != nil {
			return err
		}
		if err := each(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// decodeVars reads an audience row's variables, a JSON array of strings as
// json.Marshal writes it. Without a backslash in it no string holds a
// quote (nor a control character): the array is split at its '","'
// without a JSON decoder, which took a sixth of a download's CPU.
func decodeVars(s string) ([]string, error) {
	if s == "[]" {
		return []string{}, nil
	}
	if len(s) >= 4 && s[0] == '[' && s[1] == '"' && s[len(s)-2] == '"' && s[len(s)-1] == ']' && !strings.Contains(s, `\`) {
		return strings.Split(s[2:len(s)-2], `","`), nil
	}
	var vars []string
	err := json.Unmarshal([]byte(s), &vars)
	return vars, err
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
