package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

const campaignColumns = `id, subaccount_id, name, channel_id, template, language, fallback_template, fallback_language,
	status, created_by, created_at, scheduled_at, started_at, finished_at, rows_total, audience, invalid, duplicates,
	opted_out, processed, links, link_key`

func scanCampaign(row interface{ Scan(...any) error }) (*domain.Campaign, error) {
	var c domain.Campaign
	var createdBy sql.NullInt64
	var created int64
	var scheduled, started, finished sql.NullInt64
	var links, key string
	if err := row.Scan(&c.ID, &c.SubaccountID, &c.Name, &c.ChannelID, &c.Template, &c.Language, &c.FallbackTemplate,
		&c.FallbackLanguage, &c.Status, &createdBy, &created, &scheduled, &started, &finished, &c.Rows, &c.Audience,
		&c.Invalid, &c.Duplicates, &c.OptedOut, &c.Processed, &links, &key); err != nil {
		return nil, err
	}
	if links != "" && links != "[]" {
		if err := json.Unmarshal([]byte(links), &c.Links); err != nil {
			return nil, fmt.Errorf("campaign %d links: %w", c.ID, err)
		}
	}
	if key != "" {
		var err error
		if c.LinkKey, err = hex.DecodeString(key); err != nil {
			return nil, fmt.Errorf("campaign %d link key: %w", c.ID, err)
		}
	}
	if createdBy.Valid {
		c.CreatedBy = &createdBy.Int64
	}
	c.CreatedAt = fromMS(created)
	c.ScheduledAt, c.StartedAt, c.FinishedAt = ptrMS(scheduled), ptrMS(started), ptrMS(finished)
	return &c, nil
}

// CreateCampaign stores a campaign with its audience: the valid rows and
// the rejected ones, all in one transaction. It sets c.ID.
func (s *Store) CreateCampaign(ctx context.Context, c *domain.Campaign, nameKey string, rows []domain.CampaignRow, rejected []domain.CampaignRowError) error {
	i := 0
	return s.CreateCampaignFrom(ctx, c, nameKey, func() (domain.CampaignRow, bool, error) {
		if i == len(rows) {
			return domain.CampaignRow{}, false, nil
		}
		i++
		return rows[i-1], true, nil
	}, func(*domain.Campaign) ([]domain.CampaignRowError, error) { return rejected, nil })
}

// CreateCampaignFrom is CreateCampaign with the valid rows read one by one
// from next (false when there are no more), so that they need not all be in
// memory, nor all read before the first is written. After the last row,
// finish completes c's counts (rows, audience, invalid, duplicates, opted
// out) and gives the rejected rows; an error from next or finish stores
// nothing. The rows are written 2,000 at a time on SQLite, by COPY on
// PostgreSQL (on one connection in one transaction with the campaign).
func (s *Store) CreateCampaignFrom(ctx context.Context, c *domain.Campaign, nameKey string, next func() (domain.CampaignRow, bool, error),
	finish func(*domain.Campaign) ([]domain.CampaignRowError, error)) error {
	c.ID = s.NewID()
	if s.dialect == Postgres {
		return s.onConn(ctx, func(conn *sql.Conn) error {
			return s.createCampaign(ctx, conn, c, nameKey, finish, func() error {
				return copyIn(ctx, conn, "campaign_rows", campaignRowColumns, func() ([]any, bool, error) {
					r, ok, err := next()
					if !ok || err != nil {
						return nil, ok, err
					}
					vars, _ := json.Marshal(r.Vars)
					return []any{c.ID, int64(r.Seq), int64(r.Line), r.Phone, r.Name, r.CorrelationID, string(vars)}, true, nil
				})
			})
		})
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.createCampaign(ctx, tx, c, nameKey, finish, func() error { return s.insertCampaignRows(ctx, tx, c.ID, next) })
	})
}

var campaignRowColumns = []string{"campaign_id", "seq", "line", "phone", "name", "correlation_id", "vars"}

// execer is a transaction, or a connection inside one.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// createCampaign writes c, its valid rows (by rows), its counts (by
// finish, once the rows are written) and its rejected rows on tx.
func (s *Store) createCampaign(ctx context.Context, tx execer, c *domain.Campaign, nameKey string,
	finish func(*domain.Campaign) ([]domain.CampaignRowError, error), rows func() error) error {
	links := []byte("[]")
	if len(c.Links) > 0 {
		links, _ = json.Marshal(c.Links)
	}
	// The campaign comes first (SQLite's audience rows have a foreign key
	// to it), its counts last: they are known only when the file has been
	// read to its end, which may be while its rows are being written.
	_, err := tx.ExecContext(ctx, `INSERT INTO campaigns (id, subaccount_id, name, name_key, channel_id, template, language,
		fallback_template, fallback_language, status, created_by, created_at, scheduled_at, rows_total, audience, invalid,
		duplicates, opted_out, links, link_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		c.ID, c.SubaccountID, c.Name, nameKey, c.ChannelID, c.Template, c.Language, c.FallbackTemplate, c.FallbackLanguage,
		c.Status, c.CreatedBy, ms(c.CreatedAt), nullMS(c.ScheduledAt), c.Rows, c.Audience, c.Invalid, c.Duplicates, c.OptedOut,
		string(links), hex.EncodeToString(c.LinkKey))
	if err != nil {
		return fmt.Errorf("insert campaign: %w", err)
	}
	if err := rows(); err != nil {
		return err
	}
	rejected, err := finish(c)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET rows_total = $1, audience = $2, invalid = $3, duplicates = $4,
		opted_out = $5 WHERE id = $6`, c.Rows, c.Audience, c.Invalid, c.Duplicates, c.OptedOut, c.ID); err != nil {
		return fmt.Errorf("campaign counts: %w", err)
	}
	for chunk := range chunks(len(rejected), 2000) {
		args := make([]any, 0, 4*(chunk.hi-chunk.lo))
		for _, r := range rejected[chunk.lo:chunk.hi] {
			args = append(args, c.ID, r.Line, r.Phone, r.Error)
		}
		q := `INSERT INTO campaign_row_errors (campaign_id, line, phone, error) VALUES ` + s.valuesList(chunk.hi-chunk.lo, 4)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("insert audience errors: %w", err)
		}
	}
	return nil
}

// insertCampaignRows writes a campaign's valid rows 2,000 at a time.
func (s *Store) insertCampaignRows(ctx context.Context, tx execer, id int64, next func() (domain.CampaignRow, bool, error)) error {
	const rowCols, chunk = 7, 2000
	args := make([]any, 0, rowCols*chunk)
	// A full chunk's statement is prepared once: parsing 14,000
	// placeholders at every chunk was a third of a large import's CPU.
	insert := `INSERT INTO campaign_rows (campaign_id, seq, line, phone, name, correlation_id, vars) VALUES `
	full, err := tx.PrepareContext(ctx, insert+s.valuesList(chunk, rowCols))
	if err != nil {
		return fmt.Errorf("insert audience: %w", err)
	}
	defer full.Close()
	for done := false; !done; {
		args = args[:0]
		n := 0
		for ; n < chunk; n++ {
			r, ok, err := next()
			if err != nil {
				return fmt.Errorf("read audience: %w", err)
			}
			if !ok {
				done = true
				break
			}
			vars, _ := json.Marshal(r.Vars)
			args = append(args, id, r.Seq, r.Line, r.Phone, r.Name, r.CorrelationID, string(vars))
		}
		if n == 0 {
			break
		}
		if n == chunk {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insert+s.valuesList(n, rowCols), args...)
		}
		if err != nil {
			return fmt.Errorf("insert audience: %w", err)
		}
	}
	return nil
}

type span struct{ lo, hi int }

// chunks yields [lo, hi) spans of at most size covering n items.
func chunks(n, size int) func(func(span) bool) {
	return func(yield func(span) bool) {
		for lo := 0; lo < n; lo += size {
			if !yield(span{lo, min(lo+size, n)}) {
				return
			}
		}
	}
}

// valuesList returns "(…), (…)" for rows of cols placeholders each, in the
// dialect's own placeholders.
func (s *Store) valuesList(rows, cols int) string {
	var b strings.Builder
	n := 1
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(s.sqlDialect.param(n))
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Campaign returns one campaign.
func (s *Store) Campaign(ctx context.Context, id int64) (*domain.Campaign, error) {
	c, err := scanCampaign(s.w.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "campaign", id)
	}
	return c, nil
}

// CampaignFilter selects campaigns for the list.
type CampaignFilter struct {
	Subaccounts []int64 // the caller's scope; nil is every subaccount
	NameKey     string  // a part of the name, folded (lower case, no accents)
	Status      domain.CampaignStatus
	Before      int64 // ids below this one (the cursor); 0 for the first page
	Limit       int
}

// Campaigns lists campaigns, newest first.
func (s *Store) Campaigns(ctx context.Context, f CampaignFilter) ([]domain.Campaign, error) {
	var w whereBuilder
	if f.Subaccounts != nil {
		w.in("subaccount_id", len(f.Subaccounts), func(i int) any { return f.Subaccounts[i] })
	}
	if f.NameKey != "" {
		w.add("name_key LIKE " + w.arg("%"+escapeLike(f.NameKey)+"%") + " ESCAPE '\\'")
	}
	if f.Status != "" {
		w.add("status = " + w.arg(string(f.Status)))
	}
	if f.Before != 0 {
		w.add("id < " + w.arg(f.Before))
	}
	q := `SELECT ` + campaignColumns + ` FROM campaigns` + w.sql() + ` ORDER BY id DESC LIMIT ` + w.arg(f.Limit)
	rows, err := s.r.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	defer rows.Close()
	var out []domain.Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CampaignChange is a status change of a campaign, made only if its status
// is one of From.
type CampaignChange struct {
	From        []domain.CampaignStatus
	To          domain.CampaignStatus
	ScheduledAt *time.Time // set when not nil
	Started     time.Time  // sets started_at when not zero and not set yet
	Finished    time.Time  // sets finished_at when not zero
}

// ChangeCampaign applies ch to campaign id and reports whether it did (the
// campaign's status was one of ch.From).
func (s *Store) ChangeCampaign(ctx context.Context, id int64, ch CampaignChange) (bool, error) {
	var w whereBuilder
	set := "status = " + w.arg(string(ch.To))
	if ch.ScheduledAt != nil {
		set += ", scheduled_at = " + w.arg(ms(*ch.ScheduledAt))
	}
	if !ch.Started.IsZero() {
		set += ", started_at = COALESCE(started_at, " + w.arg(ms(ch.Started)) + ")"
	}
	if !ch.Finished.IsZero() {
		set += ", finished_at = " + w.arg(ms(ch.Finished))
	}
	w.add("id = " + w.arg(id))
	w.in("status", len(ch.From), func(i int) any { return string(ch.From[i]) })
	res, err := s.w.ExecContext(ctx, `UPDATE campaigns SET `+set+w.sql(), w.args...)
	if err != nil {
		return false, fmt.Errorf("change campaign %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LeaseCampaign gives the dispatch of campaign id to owner until until,
// when no other owner holds it at now; it reports whether owner has it.
func (s *Store) LeaseCampaign(ctx context.Context, id int64, owner string, now, until time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE campaigns SET lease_owner = $1, lease_until = $2
		WHERE id = $3 AND (lease_until < $4 OR lease_owner = $1)`, owner, ms(until), id, ms(now))
	if err != nil {
		return false, fmt.Errorf("lease campaign %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// AdvanceCampaign records that the audience rows up to processed have
// become messages and renews owner's lease; it reports false when owner no
// longer holds the lease (another dispatch took over).
func (s *Store) AdvanceCampaign(ctx context.Context, id int64, owner string, processed int, until time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE campaigns SET processed = CASE WHEN processed < $1 THEN $1 ELSE processed END,
		lease_until = $2 WHERE id = $3 AND lease_owner = $4`, processed, ms(until), id, owner)
	if err != nil {
		return false, fmt.Errorf("advance campaign %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseCampaign ends owner's lease, so another dispatch can start at
// once (after a resume).
func (s *Store) ReleaseCampaign(ctx context.Context, id int64, owner string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE campaigns SET lease_until = 0 WHERE id = $1 AND lease_owner = $2`, id, owner)
	return err
}

// CampaignRows returns up to limit audience rows after seq.
func (s *Store) CampaignRows(ctx context.Context, id int64, after, limit int) ([]domain.CampaignRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, line, phone, name, correlation_id, vars FROM campaign_rows
		WHERE campaign_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, id, after, limit)
	if err != nil {
		return nil, fmt.Errorf("campaign rows: %w", err)
	}
	defer rows.Close()
	var out []domain.CampaignRow
	for rows.Next() {
		var r domain.CampaignRow
		var vars string
		if err := rows.Scan(&r.Seq, &r.Line, &r.Phone, &r.Name, &r.CorrelationID, &vars); err != nil {
			return nil, err
		}
		if r.Vars, err = decodeVars(vars); err != nil {
			return nil, fmt.Errorf("campaign %d row %d: %w", id, r.Seq, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CampaignRowErrors returns a campaign's rejected rows in file order.
func (s *Store) CampaignRowErrors(ctx context.Context, id int64) ([]domain.CampaignRowError, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT line, phone, error FROM campaign_row_errors WHERE campaign_id = $1 ORDER BY line`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign row errors: %w", err)
	}
	defer rows.Close()
	var out []domain.CampaignRowError
	for rows.Next() {
		var r domain.CampaignRowError
		if err := rows.Scan(&r.Line, &r.Phone, &r.Error); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DueCampaigns returns the campaigns a dispatch should work on at now:
// running ones no dispatch holds, and scheduled ones whose time has come.
func (s *Store) DueCampaigns(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM campaigns WHERE (status = 'running' AND lease_until < $1)
		OR (status = 'scheduled' AND scheduled_at <= $1) ORDER BY id`, ms(now))
	if err != nil {
		return nil, fmt.Errorf("due campaigns: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// OptedOutPhones returns the canonical phones of a subaccount's contacts
// who opted out, to leave them out of an audience.
func (s *Store) OptedOutPhones(ctx context.Context, subaccountID int64) (map[string]bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT phone_key FROM contacts WHERE subaccount_id = $1 AND opted_out AND phone_key IS NOT NULL`, subaccountID)
	if err != nil {
		return nil, fmt.Errorf("opted-out contacts: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// CampaignFailure is one reason a campaign's messages failed, and how many.
type CampaignFailure struct {
	Status     domain.Status `json:"status"`
	ErrorCode  int           `json:"error_code"`
	ErrorTitle string        `json:"error_title"`
	Count      int64         `json:"count"`
}

// CampaignFailures is a campaign's failed messages by reason, most
// frequent first (at most 50 reasons), from the counts the messages'
// triggers keep (migration 00011).
func (s *Store) CampaignFailures(ctx context.Context, subaccountID, id int64) ([]CampaignFailure, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, error_code, error_title, n FROM campaign_failures
		WHERE subaccount_id = $1 AND campaign_id = $2 AND n > 0 ORDER BY 4 DESC, 2 LIMIT 50`, subaccountID, id)
	if err != nil {
		return nil, fmt.Errorf("campaign failures: %w", err)
	}
	defer rows.Close()
	out := []CampaignFailure{}
	for rows.Next() {
		var f CampaignFailure
		if err := rows.Scan(&f.Status, &f.ErrorCode, &f.ErrorTitle, &f.Count); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// CampaignButton is a quick-reply button of a campaign's template and how
// many answers pressed it.
type CampaignButton struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
	Count   int64  `json:"count"`
}

// CampaignButtons is the campaign's inbound button answers by button, from
// the counts the messages' triggers keep (migration 00011).
func (s *Store) CampaignButtons(ctx context.Context, subaccountID, id int64) ([]CampaignButton, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT payload, text, n FROM campaign_buttons
		WHERE subaccount_id = $1 AND campaign_id = $2 AND n > 0 ORDER BY 3 DESC, 1 LIMIT 20`, subaccountID, id)
	if err != nil {
		return nil, fmt.Errorf("campaign buttons: %w", err)
	}
	defer rows.Close()
	out := []CampaignButton{}
	for rows.Next() {
		var b CampaignButton
		if err := rows.Scan(&b.Payload, &b.Text, &b.Count); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// HourCount is one hour of a campaign's messages, by the hour they were
// sent: how many, and how many of them are now delivered, read or failed.
type HourCount struct {
	Hour      time.Time
	Total     int64
	Delivered int64 // delivered or read
	Read      int64
	Failed    int64
}

// CampaignHours counts the messages of f (a campaign's, in whole hours)
// per hour from the report's rollup, oldest first: the campaign page's
// chart reads counters, never the messages.
func (s *Store) CampaignHours(ctx context.Context, f *domain.MessageFilter) ([]HourCount, error) {
	q := newReportQuery(f, s.sqlDialect)
	if q.empty() {
		return []HourCount{}, nil
	}
	lo, hi, _ := q.hours()
	w := &whereBuilder{}
	q.scopeConds(w, ``)
	w.add(`direction = ` + w.arg(string(q.dir)))
	w.add(`hour >= ` + w.arg(lo))
	w.add(`hour < ` + w.arg(hi))
	q.dimConds(w, ``)
	rows, err := s.r.QueryContext(ctx, `SELECT hour, status, CAST(SUM(n) AS BIGINT) FROM `+s.rollup(q)+w.sql()+
		` GROUP BY hour, status ORDER BY hour`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("campaign hours: %w", err)
	}
	defer rows.Close()
	out := []HourCount{}
	for rows.Next() {
		var hour, n int64
		var st string
		if err := rows.Scan(&hour, &st, &n); err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		at := time.UnixMilli(hour * hourMS).UTC()
		if len(out) == 0 || !out[len(out)-1].Hour.Equal(at) {
			out = append(out, HourCount{Hour: at})
		}
		h := &out[len(out)-1]
		h.Total += n
		switch status := domain.Status(st); {
		case status == domain.StatusDelivered:
			h.Delivered += n
		case status == domain.StatusRead:
			h.Delivered += n
			h.Read += n
		case status.IsFailure():
			h.Failed += n
		}
	}
	return out, rows.Err()
}

// CampaignOptedOut counts the contacts of a campaign's messages who opted
// out since (the campaign's start). It reads the subaccount's opted-out
// contacts, few, and looks each one's campaign message up by contact.
func (s *Store) CampaignOptedOut(ctx context.Context, subaccountID, id int64, since time.Time) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts c
		WHERE c.subaccount_id = $1 AND c.opted_out AND c.preference_at >= $2
		AND EXISTS (SELECT 1 FROM messages m WHERE m.contact_id = c.id AND m.campaign_id = $3 AND m.direction = 'mt')`,
		subaccountID, since.UnixMilli(), id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("campaign opted out: %w", err)
	}
	return n, nil
}
