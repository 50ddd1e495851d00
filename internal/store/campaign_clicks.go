package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RecordCampaignClick counts a click on link button of campaign id by its
// audience row seq at at: the row's clicks, and the button's clicks and
// (on the row's first click) contacts. It reports whether this was the
// row's first click on the button.
func (s *Store) RecordCampaignClick(ctx context.Context, subaccountID, id int64, button, seq int, at time.Time) (bool, error) {
	var first bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int64
		err := tx.QueryRowContext(ctx, `INSERT INTO campaign_clicks (campaign_id, button, seq, subaccount_id, clicks, first_at, last_at)
			VALUES ($1, $2, $3, $4, 1, $5, $5)
			ON CONFLICT (campaign_id, button, seq) DO UPDATE SET clicks = campaign_clicks.clicks + 1, last_at = excluded.last_at
			RETURNING clicks`, id, button, seq, subaccountID, ms(at)).Scan(&n)
		if err != nil {
			return fmt.Errorf("record click: %w", err)
		}
		first = n == 1
		contacts := 0
		if first {
			contacts = 1
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO campaign_link_counts (campaign_id, button, subaccount_id, contacts, clicks)
			VALUES ($1, $2, $3, $4, 1)
			ON CONFLICT (campaign_id, button) DO UPDATE SET contacts = campaign_link_counts.contacts + excluded.contacts,
				clicks = campaign_link_counts.clicks + 1`, id, button, subaccountID, contacts)
		if err != nil {
			return fmt.Errorf("count click: %w", err)
		}
		return nil
	})
	return first, err
}

// CampaignLinkCount is one link button's clicks: how many contacts clicked
// it, and how many times in all.
type CampaignLinkCount struct {
	Button   int
	Contacts int64
	Clicks   int64
}

// CampaignLinkCounts returns the clicks of a campaign's link buttons, by
// button, from the counters clicks keep.
func (s *Store) CampaignLinkCounts(ctx context.Context, subaccountID, id int64) (map[int]CampaignLinkCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT button, contacts, clicks FROM campaign_link_counts
		WHERE subaccount_id = $1 AND campaign_id = $2`, subaccountID, id)
	if err != nil {
		return nil, fmt.Errorf("campaign link counts: %w", err)
	}
	defer rows.Close()
	out := map[int]CampaignLinkCount{}
	for rows.Next() {
		var c CampaignLinkCount
		if err := rows.Scan(&c.Button, &c.Contacts, &c.Clicks); err != nil {
			return nil, err
		}
		out[c.Button] = c
	}
	return out, rows.Err()
}

// CampaignClick is a contact (an audience row) who clicked a campaign's
// link button.
type CampaignClick struct {
	Button        int
	Seq           int
	Phone         string
	Name          string
	CorrelationID string
	Clicks        int64
	FirstAt       time.Time
	LastAt        time.Time
}

// CampaignClickFilter selects a campaign's clicks for the drill-down.
type CampaignClickFilter struct {
	Subaccount int64
	Campaign   int64
	Button     int // -1: every button
	// After is the (button, seq) the previous page ended at; the list goes
	// by button, then audience row.
	AfterButton, AfterSeq int
	Limit                 int // 0: all
}

// CampaignClicks calls fn with each contact who clicked a link of the
// campaign, by button and then audience row, with the row's phone, name
// and correlation id.
func (s *Store) CampaignClicks(ctx context.Context, f CampaignClickFilter, fn func(CampaignClick) error) error {
	var w whereBuilder
	w.add("k.subaccount_id = " + w.arg(f.Subaccount))
	w.add("k.campaign_id = " + w.arg(f.Campaign))
	if f.Button >= 0 {
		w.add("k.button = " + w.arg(f.Button))
	}
	if f.AfterButton > 0 || f.AfterSeq > 0 {
		b := w.arg(f.AfterButton)
		w.add("(k.button > " + b + " OR k.button = " + b + " AND k.seq > " + w.arg(f.AfterSeq) + ")")
	}
	q := `SELECT k.button, k.seq, r.phone, r.name, r.correlation_id, k.clicks, k.first_at, k.last_at
		FROM campaign_clicks k JOIN campaign_rows r ON r.campaign_id = k.campaign_id AND r.seq = k.seq` + w.sql() +
		` ORDER BY k.button, k.seq`
	if f.Limit > 0 {
		q += ` LIMIT ` + w.arg(f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, w.args...)
	if err != nil {
		return fmt.Errorf("campaign clicks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c CampaignClick
		var first, last int64
		if err := rows.Scan(&c.Button, &c.Seq, &c.Phone, &c.Name, &c.CorrelationID, &c.Clicks, &first, &last); err != nil {
			return err
		}
		c.FirstAt, c.LastAt = fromMS(first), fromMS(last)
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CampaignOptedOutContact is a contact of a campaign's messages who opted
// out after its start.
type CampaignOptedOutContact struct {
	ID            int64
	Phone         string
	Name          string
	CorrelationID string
	At            time.Time // when it opted out
}

// CampaignOptedOutContacts calls fn with the contacts CampaignOptedOut
// counts, by id after after, at most limit of them (0: all).
func (s *Store) CampaignOptedOutContacts(ctx context.Context, subaccountID, id int64, since time.Time, after int64, limit int,
	fn func(CampaignOptedOutContact) error) error {
	q := `SELECT c.id, c.phone, c.name, c.correlation_id, c.preference_at FROM contacts c
		WHERE c.subaccount_id = $1 AND c.opted_out AND c.preference_at >= $2 AND c.id > $3
		AND EXISTS (SELECT 1 FROM messages m WHERE m.contact_id = c.id AND m.campaign_id = $4 AND m.direction = 'mt')
		ORDER BY c.id`
	args := []any{subaccountID, since.UnixMilli(), after, id}
	if limit > 0 {
		q += ` LIMIT $5`
		args = append(args, limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("campaign opted-out contacts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c CampaignOptedOutContact
		var at int64
		if err := rows.Scan(&c.ID, &c.Phone, &c.Name, &c.CorrelationID, &at); err != nil {
			return err
		}
		c.At = fromMS(at)
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}
