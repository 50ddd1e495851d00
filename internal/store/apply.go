package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"zombiezen.com/go/sqlite"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/ingest/apply"
)

// InboxBatch is one inbox row, parsed.
type InboxBatch = apply.Webhook

// ApplyStats counts what one ApplyWebhooks call did.
type ApplyStats = apply.Stats

// SetAside records that inbox row id cannot be applied, as an ingest_error
// event for admins, and moves the cursor past it.
func (s *Store) SetAside(ctx context.Context, inboxID int64, cause error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		detail := cause.Error()
		if len(detail) > 500 {
			detail = detail[:500]
		}
		payload, _ := json.Marshal(map[string]any{"inbox_id": inboxID, "error": detail})
		h := sha256.Sum256(payload)
		_, err := s.stmtExec(ctx, tx, `INSERT INTO webhook_events
			(id, subaccount_id, channel_id, field, event, detail, payload, hash, at)
			VALUES ($1, $2, NULL, 'ingest_error', 'set_aside', $3, $4, $5, $6) ON CONFLICT (hash) DO NOTHING`,
			s.NewID(), domain.UnassignedSubaccountID, detail, string(payload), hex.EncodeToString(h[:]), ms(s.Now()))
		if err != nil {
			return fmt.Errorf("set aside inbox %d: %w", inboxID, err)
		}
		return s.setCursorTx(ctx, tx, inboxID)
	})
}

// ApplyWebhooks applies parsed webhooks to the message model in one
// transaction and records cursor as the last inbox row applied, so a crash
// either applies a whole batch or none of it. Applying the same webhooks
// again, in any order, leaves the same state.
//
// The rules are package apply's: the transaction preloads the rows they
// need, apply.Rules.Plan says what to write, and the transaction writes it.
//
// On PostgreSQL the transaction does not wait for its disk sync
// (postgresDialect.applyBegin says why).
func (s *Store) ApplyWebhooks(ctx context.Context, items []InboxBatch, cursor int64) (ApplyStats, error) {
	var st ApplyStats
	templates := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range s.sqlDialect.applyBegin() {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("apply: %w", err)
			}
		}
		a := &applier{ctx: ctx, s: s, tx: tx}
		pre := &apply.Preload{Messages: map[string]*apply.Message{}, Channels: map[string]apply.Channel{},
			WABAs: map[string]int64{}}
		if err := a.preload(apply.MessageIDs(items), pre.Messages); err != nil {
			return err
		}
		pnids, wabas := apply.ChannelsNamed(items)
		if err := a.preloadChannels(pnids, wabas, pre); err != nil {
			return err
		}
		if err := a.preloadContacts(apply.ContactsNamed(items, pre), pre); err != nil {
			return err
		}
		plan, err := apply.Rules{OptOutKeywords: s.OptOutKeywords}.Plan(items, pre)
		if err != nil {
			return err
		}
		if plan, err = a.lockPlanContacts(items, pre, plan); err != nil {
			return err
		}
		templates = templates || len(plan.Templates) > 0
		if err := a.write(plan, pre); err != nil {
			return err
		}
		st = plan.Stats
		return s.setCursorTx(ctx, tx, cursor)
	})
	if templates {
		s.templatesChanged() // after the commit: Template reads them again
	}
	return st, err
}

// applier reads and writes for one ApplyWebhooks transaction.
type applier struct {
	ctx context.Context
	s   *Store
	tx  *sql.Tx
}

// write writes a plan: first the channels and contacts it creates, whose
// IDs the rest refers to; then the messages, preferences and events; then
// the sessions and conversations of the timelines it touched. Those of the
// timelines its new messages are in are derived before the new rows are
// written, which carry them (timelinesBeforeInsert); the others are derived
// from the messages as written (rederive).
func (a *applier) write(plan *apply.Plan, pre *apply.Preload) error {
	if err := a.createChannels(plan.NewChannels); err != nil {
		return err
	}
	if err := a.createContacts(plan.NewContacts); err != nil {
		return err
	}
	if err := plan.Resolve(); err != nil {
		return err
	}
	if err := a.learnContactIDs(plan.ContactIDs); err != nil {
		return err
	}
	derived, late, err := a.timelinesBeforeInsert(plan, pre)
	if err != nil {
		return err
	}
	if a.s.sqlDialect.appliesRollup() {
		// Counted before the rows exist, which skip the insert triggers
		// (rollup_gen 1, migration 00075): a trigger that later moves one
		// of them in this transaction (a status of an inbound message of
		// the same batch) finds the row it takes it from.
		if err := a.writeRollup(plan.CreatedRollup()); err != nil {
			return err
		}
	}
	for i := range plan.Inbound {
		if err := a.inbound(&plan.Inbound[i]); err != nil {
			return err
		}
	}
	for _, o := range plan.OptOuts {
		if err := a.optOut(o); err != nil {
			return err
		}
	}
	for i := range plan.Templates {
		if err := a.template(&plan.Templates[i]); err != nil {
			return err
		}
	}
	for i := range plan.ChannelUpdates {
		if err := a.channelUpdate(&plan.ChannelUpdates[i]); err != nil {
			return err
		}
	}
	for i := range plan.Events {
		if err := a.event(&plan.Events[i]); err != nil {
			return err
		}
	}
	if err := a.flush(plan.Messages); err != nil {
		return err
	}
	if a.s.sqlDialect.appliesRollup() {
		if err := a.writeRollup(plan.Rollup); err != nil {
			return err
		}
	}
	// After the rollup's moves, like rederive's: the update triggers count
	// these changes from where flush and writeRollup left the rows.
	if err := a.s.writeTimelines(a.ctx, a.tx, derived); err != nil {
		return err
	}
	return a.rederive(late)
}

// preloadChannels reads the channels of phone number ids and the
// subaccounts of WABAs.
func (a *applier) preloadChannels(pnids, wabas []string, pre *apply.Preload) error {
	for _, id := range pnids {
		var c apply.Channel
		err := a.s.stmtQueryRow(a.ctx, a.tx, (`SELECT id, subaccount_id FROM channels WHERE phone_number_id = $1`),
			id).Scan(&c.ID, &c.SubaccountID)
		switch {
		case err == nil:
			pre.Channels[id] = c
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("resolve channel %s: %w", id, err)
		}
	}
	for _, id := range wabas {
		var sa int64
		err := a.s.stmtQueryRow(a.ctx, a.tx, (`SELECT subaccount_id FROM channels WHERE waba_id = $1
			ORDER BY subaccount_id = 1, id LIMIT 1`), id).Scan(&sa)
		switch {
		case err == nil:
			pre.WABAs[id] = sa
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("resolve waba %s: %w", id, err)
		}
	}
	return nil
}

// createChannels creates the channels of phone numbers no channel owned.
func (a *applier) createChannels(list []apply.NewChannel) error {
	for i := range list {
		c := &list[i]
		err := a.s.stmtQueryRow(a.ctx, a.tx, (`INSERT INTO channels
			(subaccount_id, name, waba_id, phone_number_id, display_phone, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`),
			c.SubaccountID, c.Name, c.WABAID, c.PhoneNumberID, c.DisplayPhone, ms(a.s.Now())).Scan(&c.ID)
		if err != nil {
			return fmt.Errorf("resolve channel %s: %w", c.PhoneNumberID, err)
		}
	}
	return nil
}

// preloadContacts looks up, a chunk at a time, the contacts a batch names.
func (a *applier) preloadContacts(lookups []apply.ContactLookup, pre *apply.Preload) error {
	for _, l := range lookups {
		if err := a.lookupContacts(l.SubaccountID, "phone_key", l.PhoneKeys, pre); err != nil {
			return err
		}
		if err := a.lookupContacts(l.SubaccountID, "user_id", l.UserIDs, pre); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) lookupContacts(subaccountID int64, column string, values []string, pre *apply.Preload) error {
	query := `SELECT id, COALESCE(phone_key, ''), COALESCE(user_id, ''), wa_id FROM contacts
		WHERE subaccount_id = ` + a.s.params(1, 1) + ` AND ` + column + ` IN (` + a.s.params(2, preloadChunk) + `)`
	args := make([]any, preloadChunk+1)
	args[0] = subaccountID
	for start := 0; start < len(values); start += preloadChunk {
		part := values[start:min(start+preloadChunk, len(values))]
		for i := range preloadChunk {
			args[i+1] = part[min(i, len(part)-1)]
		}
		rows, err := a.s.stmtQuery(a.ctx, a.tx, query, args...)
		if err != nil {
			return fmt.Errorf("preload contacts: %w", err)
		}
		for rows.Next() {
			c := apply.Contact{SubaccountID: subaccountID}
			if err := rows.Scan(&c.ID, &c.PhoneKey, &c.UserID, &c.WAID); err != nil {
				rows.Close()
				return err
			}
			pre.Contacts = append(pre.Contacts, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// createContacts creates contacts with multi-row inserts and sets their IDs.
func (a *applier) createContacts(list []apply.NewContact) error {
	if len(list) == 0 {
		return nil
	}
	// RETURNING's row order is not promised: rows are matched by their keys.
	type key struct {
		subaccountID int64
		byUser       bool
		value        string
	}
	index := make(map[key]int, len(list))
	for i, c := range list {
		if c.PhoneKey != "" {
			index[key{c.SubaccountID, false, c.PhoneKey}] = i
		} else {
			index[key{c.SubaccountID, true, c.UserID}] = i
		}
	}
	now := ms(a.s.Now())
	for start := 0; start < len(list); start += upsertChunk {
		part := list[start:min(start+upsertChunk, len(list))]
		args := make([]any, 0, 7*len(part))
		for _, c := range part {
			args = append(args, c.SubaccountID, c.Phone, nullStr(c.PhoneKey), c.WAID, nullStr(c.UserID), c.Name, now)
		}
		rows, err := a.s.stmtQuery(a.ctx, a.tx, `INSERT INTO contacts
			(subaccount_id, phone, phone_key, wa_id, user_id, name, created_at) VALUES `+
			a.s.valuesRows(len(part), 7, func(p string) string { return p })+
			` RETURNING id, subaccount_id, COALESCE(phone_key, ''), COALESCE(user_id, '')`, args...)
		if err != nil {
			return fmt.Errorf("create contacts: %w", err)
		}
		n := 0
		for rows.Next() {
			var id, sa int64
			var phoneKey, user string
			if err := rows.Scan(&id, &sa, &phoneKey, &user); err != nil {
				rows.Close()
				return err
			}
			k := key{sa, true, user}
			if phoneKey != "" {
				k = key{sa, false, phoneKey}
			}
			if i, ok := index[k]; ok {
				list[i].ID = id
			}
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("create contacts: %w", err)
		}
		if n != len(part) {
			return fmt.Errorf("create contacts: %d ids for %d rows", n, len(part))
		}
	}
	return nil
}

// learnContactIDs sets the ids known contacts were missing.
func (a *applier) learnContactIDs(list []apply.ContactIDs) error {
	for _, c := range list {
		_, err := a.s.stmtExec(a.ctx, a.tx, `UPDATE contacts SET
			user_id = COALESCE(user_id, $1),
			wa_id = CASE WHEN wa_id = '' THEN $2 ELSE wa_id END,
			phone = CASE WHEN phone = '' THEN $3 ELSE phone END,
			phone_key = CASE WHEN phone_key IS NULL OR phone_key LIKE 'wa:%' THEN COALESCE($4, phone_key) ELSE phone_key END
			WHERE id = $5`, nullStr(c.UserID), c.WAID, c.Phone, nullStr(c.PhoneKey), c.ContactID)
		if err != nil {
			return fmt.Errorf("update contact ids: %w", err)
		}
	}
	return nil
}

const msgColumns = `id, subaccount_id, channel_id, contact_id, origin, at, state, error_code, error_title, error_detail,
	sent_at, delivered_at, read_at, failed_at, pricing_model, pricing_category, pricing_type, billable, pricing_rank,
	meta_conversation_id, meta_conversation_type, meta_conversation_expires_at, phone, wa_id, user_id,
	campaign_id, sender_user_id, bot_id, direction, template_category, status, content_type, with_session,
	conversation_type`

// preloadChunk is how many wamids one preload query asks for. A fixed
// size keeps the statement text, and so its prepared form, the same.
const preloadChunk = 64

// preload loads the rows of every wamid in one batch with a few IN
// queries, instead of one query per event.
func (a *applier) preload(wamids []string, msgs map[string]*apply.Message) error {
	query := `SELECT wamid, ` + msgColumns + ` FROM messages WHERE wamid IN (` + a.s.params(1, preloadChunk) + `)`
	args := make([]any, preloadChunk)
	for start := 0; start < len(wamids); start += preloadChunk {
		part := wamids[start:min(start+preloadChunk, len(wamids))]
		for i := range args {
			args[i] = part[min(i, len(part)-1)] // pad with a repeat
		}
		if err := a.preloadChunk(query, args, msgs); err != nil {
			return fmt.Errorf("preload messages: %w", err)
		}
	}
	return nil
}

// preloadChunk runs one preload query. On a SQLite file it reads through
// a direct read-only connection instead of the transaction's: reading a
// row's 31 columns through modernc's driver and database/sql costs twice
// the CPU. That reads the same rows as the transaction would: preload runs
// before the transaction writes anything, and the transaction holds the
// database's write lock (BEGIN IMMEDIATE), so no commit from any
// connection or process can come between its view and the reader's.
func (a *applier) preloadChunk(query string, args []any, msgs map[string]*apply.Message) error {
	if a.s.raw != nil {
		return a.s.raw.query(a.ctx, query, true, args, func(st *sqlite.Stmt) error {
			m := scanMsgRowRaw(st)
			msgs[m.WAMID] = m
			return nil
		})
	}
	rows, err := a.s.stmtQuery(a.ctx, a.tx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMsgRow(rows)
		if err != nil {
			return err
		}
		msgs[m.WAMID] = m
	}
	return rows.Err()
}

func scanMsgRow(row interface{ Scan(...any) error }) (*apply.Message, error) {
	sc := msgScan{m: &apply.Message{}}
	m, p := sc.m, &sc.m.Progress
	err := row.Scan(&m.WAMID, &m.ID, &m.SubaccountID, &m.ChannelID, &m.ContactID, &m.Origin,
		&sc.at, &sc.state, &p.ErrorCode, &p.ErrorTitle, &p.ErrorDetail, &sc.sent, &sc.delivered, &sc.read, &sc.failed,
		&p.Pricing.Model, &p.Pricing.Category, &p.Pricing.Type, &sc.billable, &p.PricingRank,
		&p.MetaConversation.ID, &p.MetaConversation.Origin, &sc.metaExp, &m.Phone, &m.WAID, &m.UserID,
		&sc.campaignID, &sc.senderUserID, &sc.botID, &m.Direction, &m.TemplateCategory,
		&m.Status, &m.ContentType, &m.WithSession, &m.ConversationType)
	if err != nil {
		return nil, err
	}
	return sc.done(), nil
}

// scanMsgRowRaw reads a row of "SELECT wamid, msgColumns" from a direct
// SQLite statement, as scanMsgRow does from database/sql.
func scanMsgRowRaw(st *sqlite.Stmt) *apply.Message {
	sc := msgScan{m: &apply.Message{}}
	m, p := sc.m, &sc.m.Progress
	m.WAMID = st.ColumnText(0)
	m.ID, m.SubaccountID, m.ChannelID, m.ContactID = st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnInt64(3), st.ColumnInt64(4)
	m.Origin, sc.at, sc.state = st.ColumnText(5), st.ColumnInt64(6), st.ColumnText(7)
	p.ErrorCode, p.ErrorTitle, p.ErrorDetail = st.ColumnInt(8), st.ColumnText(9), st.ColumnText(10)
	sc.sent, sc.delivered, sc.read, sc.failed = nullInt64(st, 11), nullInt64(st, 12), nullInt64(st, 13), nullInt64(st, 14)
	p.Pricing.Model, p.Pricing.Category, p.Pricing.Type = st.ColumnText(15), st.ColumnText(16), st.ColumnText(17)
	if b := nullInt64(st, 18); b.Valid {
		sc.billable = sql.NullBool{Bool: b.Int64 != 0, Valid: true}
	}
	p.PricingRank = st.ColumnInt(19)
	p.MetaConversation.ID, p.MetaConversation.Origin, sc.metaExp = st.ColumnText(20), st.ColumnText(21), nullInt64(st, 22)
	m.Phone, m.WAID, m.UserID = st.ColumnText(23), st.ColumnText(24), st.ColumnText(25)
	sc.campaignID, sc.senderUserID, sc.botID = nullInt64(st, 26), nullInt64(st, 27), nullInt64(st, 28)
	m.Direction, m.TemplateCategory = st.ColumnText(29), st.ColumnText(30)
	m.Status, m.ContentType = st.ColumnText(31), st.ColumnText(32)
	m.WithSession, m.ConversationType = st.ColumnInt64(33) != 0, st.ColumnText(34)
	return sc.done()
}

// msgScan holds the columns of a message row that need converting.
type msgScan struct {
	m                                      *apply.Message
	at                                     int64
	state                                  string
	sent, delivered, read, failed, metaExp sql.NullInt64
	campaignID, senderUserID, botID        sql.NullInt64
	billable                               sql.NullBool
}

func (sc *msgScan) done() *apply.Message {
	m, p := sc.m, &sc.m.Progress
	m.At = fromMS(sc.at)
	p.State = domain.State(sc.state)
	p.SentAt, p.DeliveredAt, p.ReadAt, p.FailedAt = timeOrZero(sc.sent), timeOrZero(sc.delivered), timeOrZero(sc.read), timeOrZero(sc.failed)
	p.MetaConversation.ExpiresAt = timeOrZero(sc.metaExp)
	if sc.billable.Valid {
		b := sc.billable.Bool
		p.Pricing.Billable = &b
	}
	m.CampaignID, m.SenderUserID, m.BotID = sc.campaignID.Int64, sc.senderUserID.Int64, sc.botID.Int64
	return m
}

func timeOrZero(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

func msOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// upsertChunk is how many messages one flush statement writes.
const upsertChunk = 50

// upsertColumns are written by flush; on conflict the status columns are
// overwritten with the merged values computed in Go.
const upsertColumns = `id, subaccount_id, channel_id, direction, wamid, origin, contact_id, phone, wa_id, user_id,
	content_type, state, state_rank, status, error_code, error_title, error_detail, pricing_model, pricing_category,
	pricing_type, billable, pricing_rank, meta_conversation_id, meta_conversation_type,
	meta_conversation_expires_at, at, sent_at, delivered_at, read_at, failed_at, created_at, template_category,
	rollup_gen`

// movedColumns are written by flush for the rows a status moved or created:
// upsertColumns and, for a created row, the session and conversation
// derived before its insert (the conflict update of an existing row leaves
// them to the derivation after it).
const movedColumns = upsertColumns + `, with_session, conversation_id, conversation_type, conversation_category,
	conversation_expires_at`

// upsertStatus overwrites a row's status columns with the merged values
// computed in Go. Its conflict target is the id, which every existing row's
// apply.Message holds: SQLite then finds the row by its rowid, which the
// update needs anyway, instead of first looking its wamid up in that
// column's index (7% of applying a status). New rows have new ids and
// insert. A row's rollup_gen value is 1 when the plan counts the change in
// the rollup itself (SQLite's update triggers then skip the row), 0 when
// the triggers are to count it.
const upsertStatus = ` ON CONFLICT (id) DO UPDATE SET rollup_gen = messages.rollup_gen + excluded.rollup_gen,
	state = excluded.state, state_rank = excluded.state_rank,
	status = excluded.status, error_code = excluded.error_code, error_title = excluded.error_title,
	error_detail = excluded.error_detail, pricing_model = excluded.pricing_model,
	pricing_category = excluded.pricing_category, pricing_type = excluded.pricing_type, billable = excluded.billable,
	pricing_rank = excluded.pricing_rank, meta_conversation_id = excluded.meta_conversation_id,
	meta_conversation_type = excluded.meta_conversation_type,
	meta_conversation_expires_at = excluded.meta_conversation_expires_at,
	sent_at = excluded.sent_at, delivered_at = excluded.delivered_at, read_at = excluded.read_at,
	failed_at = excluded.failed_at`

// upsertMoved also sets the time and template category, for the rows a
// status moved. Apart, because SQLite rewrites the entries of every index
// holding a column an UPDATE sets, changed or not, and most of the report's
// indexes hold at: a status of a message ticks sent leaves at as it is.
const upsertMoved = upsertStatus + `, at = excluded.at,
	template_category = CASE WHEN messages.origin = 'webhook' THEN excluded.template_category ELSE messages.template_category END`

// movedWidth is the number of movedColumns.
var movedWidth = strings.Count(movedColumns, ",") + 1

// upsertStatusRow is a row of the status-only upsert, its parameters
// named by p. Its rows exist (read by the preload under the write lock, or
// written earlier in the transaction), so only the id (the conflict
// target), what the update sets (the status columns and rollup_gen) and the
// wamid are bound; the other columns, which the insert attempt needs and
// the update leaves alone, are constants. Binding a value through the
// driver costs about as much as SQLite's update of it.
func upsertStatusRow(p func() string) string {
	ps := func(n int) string {
		out := make([]string, n)
		for i := range out {
			out[i] = p()
		}
		return strings.Join(out, ", ")
	}
	return "(" + p() + ", 0, 0, 'mt', " + p() + ", '', 0, '', '', '', '', " + ps(14) + ", 0, " + ps(4) + ", 0, '', " + p() + ")"
}

// upsertStatusWidth is the parameters of an upsertStatusRow.
const upsertStatusWidth = 21

// flush writes the messages changed by status events, new and existing
// alike, with multi-row upserts: those a status moved in time, then the
// others.
//
// On SQLite the plan's Rollup counts the moves of the rows the preload
// read, written once per key by writeRollup, where the row triggers would
// update two rows of two tables for each message (a quarter of the cost of
// applying a status); their upserts bump rollup_gen so the triggers skip
// them. New rows are counted by the insert triggers, and the other rows by
// the update triggers.
func (a *applier) flush(msgs []*apply.Message) error {
	now := ms(a.s.Now())
	var moved, rest []any
	nMoved, nRest := 0, 0
	write := func(rows *[]any, n *int, update string) error {
		if *n == 0 {
			return nil
		}
		if _, err := a.s.stmtExec(a.ctx, a.tx, a.s.flushQuery(*n, update == upsertStatus), (*rows)...); err != nil {
			return fmt.Errorf("write messages: %w", err)
		}
		*rows, *n = (*rows)[:0], 0
		return nil
	}
	for _, m := range msgs {
		rows, n, update := &rest, &nRest, upsertStatus
		if m.New || m.Moved {
			rows, n, update = &moved, &nMoved, upsertMoved
		}
		if m.New && m.ID == 0 {
			m.ID = a.s.NewID()
		}
		p, c := &m.Progress, &m.Conversation
		var billable any
		if p.Pricing.Billable != nil {
			billable = *p.Pricing.Billable
		}
		gen := 0
		if a.s.sqlDialect.appliesRollup() && (m.Counted() || m.New) {
			gen = 1 // counted by writeRollup: the plan's moves, and CreatedRollup
		}
		if update == upsertStatus {
			*rows = append(*rows, m.ID, m.WAMID, string(p.State), p.State.Rank(), string(p.Status()), p.ErrorCode,
				p.ErrorTitle, p.ErrorDetail, p.Pricing.Model, p.Pricing.Category, p.Pricing.Type, billable, p.PricingRank,
				p.MetaConversation.ID, p.MetaConversation.Origin, msOrNil(p.MetaConversation.ExpiresAt),
				msOrNil(p.SentAt), msOrNil(p.DeliveredAt), msOrNil(p.ReadAt), msOrNil(p.FailedAt), gen)
		} else {
			*rows = append(*rows, m.ID, m.SubaccountID, m.ChannelID, m.Direction, m.WAMID, m.Origin, m.ContactID, m.Phone,
				m.WAID, m.UserID, "", string(p.State), p.State.Rank(), string(p.Status()), p.ErrorCode, p.ErrorTitle,
				p.ErrorDetail, p.Pricing.Model, p.Pricing.Category, p.Pricing.Type, billable, p.PricingRank,
				p.MetaConversation.ID, p.MetaConversation.Origin, msOrNil(p.MetaConversation.ExpiresAt),
				ms(m.At), msOrNil(p.SentAt), msOrNil(p.DeliveredAt), msOrNil(p.ReadAt), msOrNil(p.FailedAt), now,
				m.TemplateCategory, gen, c.WithSession, nullStr(c.ConversationID), c.ConversationType,
				c.ConversationCategory, nullInt(c.ConversationExpires))
		}
		if *n++; *n == upsertChunk {
			if err := write(rows, n, update); err != nil {
				return err
			}
		}
	}
	if err := write(&moved, &nMoved, upsertMoved); err != nil {
		return err
	}
	return write(&rest, &nRest, upsertStatus)
}

// flushQuery is flush's statement for n rows: the status-only upsert, or
// the upsert of rows moved or created. Built once for each n and kind.
func (s *Store) flushQuery(n int, statusOnly bool) string {
	type key struct {
		n          int
		statusOnly bool
	}
	if q, ok := s.flushQueries.Load(key{n, statusOnly}); ok {
		return q.(string)
	}
	q := `INSERT INTO messages (` + movedColumns + `) VALUES ` +
		s.valuesRows(n, movedWidth, func(p string) string { return p }) + upsertMoved
	if statusOnly {
		q = `INSERT INTO messages (` + upsertColumns + `) VALUES ` + s.rowsOf(n, upsertStatusRow) + upsertStatus
	}
	s.flushQueries.Store(key{n, statusOnly}, q)
	return q
}

// writeRollup adds the plan's rollup moves to the rollup's three tables, a
// statement per key (a batch moves its messages between a few keys: the
// hours and statuses of its traffic). It runs right after flush, so the
// tables are exact again before any other statement of the transaction
// fires a trigger.
func (a *applier) writeRollup(moves map[apply.RollupKey]int64) error {
	if len(moves) == 0 {
		return nil
	}
	var levels [len(rollupTables)]map[apply.RollupKey]int64
	for l := range levels {
		levels[l] = map[apply.RollupKey]int64{}
	}
	for k, n := range moves {
		if k.Attributed {
			levels[levelAttributed][k] += n
		}
		k.Attributed, k.CampaignID, k.SenderUserID = false, 0, 0
		levels[levelMain][k] += n
		k.ContentType, k.WithSession, k.ConversationType = "", false, ""
		levels[levelStatus][k] += n
	}
	for l, t := range rollupTables {
		cols := strings.Count(t.key, ",") + 2
		query := `INSERT INTO ` + t.name + ` (` + t.key + `, n) VALUES (` + a.s.params(1, cols) + `)
			ON CONFLICT (` + t.key + `) DO UPDATE SET n = ` + t.name + `.n + excluded.n`
		for k, n := range levels[l] {
			if n == 0 {
				continue
			}
			args := []any{k.SubaccountID, k.Direction, k.Hour, k.Status, k.Accepted}
			if rollupLevel(l) >= levelMain {
				args = append(args, k.ContentType, k.WithSession, k.ConversationType)
			}
			if rollupLevel(l) == levelAttributed {
				args = append(args, k.CampaignID, k.SenderUserID)
			}
			if _, err := a.s.stmtExec(a.ctx, a.tx, query, append(args, n)...); err != nil {
				return fmt.Errorf("count in %s: %w", t.name, err)
			}
		}
	}
	return nil
}

// inbound stores a message a contact sent and, unless it is a system
// notice, the contact's last inbound time and name.
func (a *applier) inbound(in *apply.Inbound) error {
	m, c := in.Message, &in.Message.Conversation
	if m.ID == 0 {
		m.ID = a.s.NewID()
	}
	gen := 0
	if a.s.sqlDialect.appliesRollup() {
		gen = 1 // counted by writeRollup (CreatedRollup)
	}
	_, err := a.s.stmtExec(a.ctx, a.tx, (`INSERT INTO messages
		(id, subaccount_id, channel_id, direction, wamid, origin, contact_id, phone, wa_id, user_id,
		 campaign_id, sender_user_id, bot_id, content_type, text, state, state_rank, status,
		 at, context_wamid, button_payload, referral, content, error_code, error_title, error_detail, created_at,
		 with_session, conversation_id, conversation_type, conversation_category, conversation_expires_at, rollup_gen)
		VALUES ($1, $2, $3, 'mo', $4, 'webhook', $5, $6, $7, $8, $9, $10, $11, $12, $13, 'received', -1, 'received', $14, $15, $16, $17, $18, $19, $20, $21, $22,
		 $23, $24, $25, $26, $27, $28)`),
		m.ID, m.SubaccountID, m.ChannelID, m.WAMID, m.ContactID, m.Phone, m.WAID, m.UserID,
		nullInt(m.CampaignID), nullInt(m.SenderUserID), nullInt(m.BotID), m.ContentType, in.Text, ms(m.At),
		in.ContextWAMID, in.ButtonPayload, nullStr(in.Referral), nullStr(in.Content),
		in.ErrorCode, in.ErrorTitle, in.ErrorDetail, ms(a.s.Now()),
		c.WithSession, nullStr(c.ConversationID), c.ConversationType, c.ConversationCategory, nullInt(c.ConversationExpires),
		gen)
	if err != nil {
		return fmt.Errorf("insert inbound %s: %w", m.WAMID, err)
	}
	if !in.FromContact {
		return nil
	}
	at := ms(m.At)
	_, err = a.s.stmtExec(a.ctx, a.tx, (`UPDATE contacts SET
		last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < $1 THEN $2 ELSE last_inbound_at END,
		name = CASE WHEN $3 <> '' AND (last_inbound_at IS NULL OR last_inbound_at <= $4) THEN $5 ELSE name END
		WHERE id = $6`), at, at, in.ProfileName, at, in.ProfileName, m.ContactID)
	if err != nil {
		return fmt.Errorf("update contact %d: %w", m.ContactID, err)
	}
	return nil
}

// optOut records a contact's marketing preference as of its instant. The
// latest wins; at the same instant a stop wins, so the order of arrival does
// not matter.
func (a *applier) optOut(o apply.OptOut) error {
	at := ms(o.At)
	_, err := a.s.stmtExec(a.ctx, a.tx, `UPDATE contacts SET opted_out = $1, preference_at = $2
		WHERE id = $3 AND (preference_at < $4 OR (preference_at = $5 AND $6))`,
		o.Stop, at, o.ContactID, at, at, o.Stop)
	if err != nil {
		return fmt.Errorf("update preference: %w", err)
	}
	return nil
}

// template stores a template's status, quality or category, each only if
// at least as recent as the stored one.
func (a *applier) template(u *apply.TemplateUpdate) error {
	_, err := a.s.stmtExec(a.ctx, a.tx, (`INSERT INTO templates
		(subaccount_id, waba_id, meta_id, name, language, category, status, quality, reason, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (waba_id, name, language) DO UPDATE SET
		  meta_id = CASE WHEN excluded.meta_id <> '' THEN excluded.meta_id ELSE templates.meta_id END,
		  status = CASE WHEN excluded.status <> '' AND excluded.updated_at >= templates.updated_at THEN excluded.status ELSE templates.status END,
		  reason = CASE WHEN excluded.status <> '' AND excluded.updated_at >= templates.updated_at THEN excluded.reason ELSE templates.reason END,
		  quality = CASE WHEN excluded.quality <> '' AND excluded.updated_at >= templates.updated_at THEN excluded.quality ELSE templates.quality END,
		  category = CASE WHEN excluded.category <> '' AND excluded.updated_at >= templates.updated_at THEN excluded.category ELSE templates.category END,
		  updated_at = CASE WHEN excluded.updated_at > templates.updated_at THEN excluded.updated_at ELSE templates.updated_at END`),
		u.SubaccountID, u.WABAID, u.MetaID, u.Name, u.Language, u.Category, u.Status, u.Quality, u.Reason, ms(u.At))
	if err != nil {
		return fmt.Errorf("upsert template %s: %w", u.Name, err)
	}
	return nil
}

// channelUpdate stores a channel's tier or quality, if at least as recent
// as the stored ones.
func (a *applier) channelUpdate(u *apply.ChannelUpdate) error {
	where, arg := `waba_id = $6`, any(u.WABAID)
	switch {
	case u.ChannelID != 0:
		where, arg = `id = $6`, u.ChannelID
	case u.DisplayPhone != "":
		where, arg = `display_phone = $6`, u.DisplayPhone
	}
	at := ms(u.At)
	_, err := a.s.stmtExec(a.ctx, a.tx, (`UPDATE channels SET
		tier = CASE WHEN $1 <> '' THEN $2 ELSE tier END,
		quality = CASE WHEN $3 <> '' THEN $4 ELSE quality END,
		account_at = $5
		WHERE ` + where + ` AND account_at <= $7`), u.Tier, u.Tier, u.Quality, u.Quality, at, arg, at)
	if err != nil {
		return fmt.Errorf("update channel tier: %w", err)
	}
	return nil
}

// event records a webhook change for admins. The hash makes a repeated
// delivery of the same change a no-op.
func (a *applier) event(e *apply.Event) error {
	var channelID any
	if e.ChannelID != 0 {
		channelID = e.ChannelID
	}
	_, err := a.s.stmtExec(a.ctx, a.tx, (`INSERT INTO webhook_events
		(id, subaccount_id, channel_id, field, event, detail, payload, hash, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (hash) DO NOTHING`),
		a.s.NewID(), e.SubaccountID, channelID, e.Field, e.Event, e.Detail, e.Payload, e.Hash, ms(e.At))
	if err != nil {
		return fmt.Errorf("record %s event: %w", e.Field, err)
	}
	return nil
}

// rederive recomputes sessions and conversations of every timeline the
// batch touched, from the earliest touched instant on. Timelines are
// loaded and rewritten a chunk at a time, so the cost is a few statements
// per batch, not per contact.
func (a *applier) rederive(touched map[apply.TimelineKey]time.Time) error {
	keys := make([]apply.TimelineKey, 0, len(touched))
	for k := range touched {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].ContactID != keys[j].ContactID {
			return keys[i].ContactID < keys[j].ContactID
		}
		return keys[i].ChannelID < keys[j].ChannelID
	})
	var updates []apply.Assignment
	for start := 0; start < len(keys); start += preloadChunk {
		part := keys[start:min(start+preloadChunk, len(keys))]
		u, err := a.s.deriveTimelines(a.ctx, a.tx, part, touched)
		if err != nil {
			return fmt.Errorf("derive conversations: %w", err)
		}
		updates = append(updates, u...)
	}
	return a.s.writeTimelines(a.ctx, a.tx, updates)
}

// deriveTimelines re-derives the timelines of keys from their touched
// instants and returns the messages whose assignment changed. It reads each
// timeline from 72 hours before its touched instant: no conversation lasts
// longer and no session or ad entry looks further back, so the stored
// assignments of those earlier messages are the state to start from.
func (s *Store) deriveTimelines(ctx context.Context, tx *sql.Tx, keys []apply.TimelineKey, from map[apply.TimelineKey]time.Time) ([]apply.Assignment, error) {
	all, err := s.readTimelines(ctx, tx, keys, from)
	if err != nil {
		return nil, err
	}
	return apply.DeriveTimelines(all, from), nil
}

// readTimelines reads the stored rows of the timelines of keys (at most
// preloadChunk of them), from 72 hours before the earliest of their
// instants in from, in timeline order.
func (s *Store) readTimelines(ctx context.Context, tx *sql.Tx, keys []apply.TimelineKey, from map[apply.TimelineKey]time.Time) ([]apply.TimelineRow, error) {
	ids := make([]any, preloadChunk+1)
	minFrom := from[keys[0]]
	for i := range preloadChunk {
		k := keys[min(i, len(keys)-1)]
		ids[i] = k.ContactID
		if t := from[k]; t.Before(minFrom) {
			minFrom = t
		}
	}
	ids[preloadChunk] = ms(minFrom.Add(-domain.FreeEntryPointWindow))
	rows, err := s.stmtQuery(ctx, tx, `SELECT m.id, m.contact_id, m.channel_id, m.direction, m.at, m.template_category,
			m.referral IS NOT NULL, m.with_session, COALESCE(m.conversation_id, ''), m.conversation_type,
			m.conversation_category, COALESCE(m.conversation_expires_at, 0), ch.phone_number_id,
			COALESCE(c.phone_key, c.user_id, '')
		FROM messages m JOIN channels ch ON ch.id = m.channel_id JOIN contacts c ON c.id = m.contact_id
		WHERE m.contact_id IN (`+s.params(1, preloadChunk)+`) AND m.at >= `+s.params(preloadChunk+1, 1)+`
			AND (m.wamid IS NOT NULL OR m.state <> 'failed')
			AND NOT (m.direction = 'mo' AND m.content_type = 'system')
		ORDER BY m.contact_id, m.channel_id, m.at, m.direction, COALESCE(m.wamid, ''), m.id`, ids...)
	if err != nil {
		return nil, err
	}
	var all []apply.TimelineRow
	for rows.Next() {
		var r apply.TimelineRow
		var dir string
		var at int64
		u := &r.Stored
		if err := rows.Scan(&u.ID, &r.Key.ContactID, &r.Key.ChannelID, &dir, &at, &r.Message.TemplateCategory,
			&r.Message.Referral, &u.WithSession, &u.ConversationID, &u.ConversationType, &u.ConversationCategory,
			&u.ConversationExpires, &r.PhoneNumberID, &r.ContactKey); err != nil {
			rows.Close()
			return nil, err
		}
		r.Message.Direction, r.Message.At = domain.Direction(dir), fromMS(at)
		all = append(all, r)
	}
	rows.Close()
	return all, rows.Err()
}

// writeTimelines stores derived assignments with multi-row updates.
func (s *Store) writeTimelines(ctx context.Context, tx *sql.Tx, updates []apply.Assignment) error {
	casts := []string{"BIGINT", "BOOLEAN", "TEXT", "TEXT", "TEXT", "BIGINT"}
	for start := 0; start < len(updates); start += upsertChunk {
		part := updates[start:min(start+upsertChunk, len(updates))]
		args := make([]any, 0, 6*len(part))
		for _, u := range part {
			args = append(args, u.ID, u.WithSession, nullStr(u.ConversationID), u.ConversationType,
				u.ConversationCategory, nullInt(u.ConversationExpires))
		}
		query := `WITH v(id, with_session, conversation_id, conversation_type, conversation_category, conversation_expires_at)
			AS (VALUES ` + s.rowsOf(len(part), func(p func() string) string {
			cells := make([]string, len(casts))
			for i, t := range casts {
				cells[i] = "CAST(" + p() + " AS " + t + ")"
			}
			return "(" + strings.Join(cells, ", ") + ")"
		}) + `)
			UPDATE messages SET with_session = v.with_session, conversation_id = v.conversation_id,
				conversation_type = v.conversation_type, conversation_category = v.conversation_category,
				conversation_expires_at = v.conversation_expires_at
			FROM v WHERE messages.id = v.id`
		if _, err := s.stmtExec(ctx, tx, query, args...); err != nil {
			return fmt.Errorf("write conversations: %w", err)
		}
	}
	return nil
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// rowsOf is n rows of a multi-row VALUES, each written by row with the
// statement's next parameters (sqlDialect.param).
func (s *Store) rowsOf(n int, row func(p func() string) string) string {
	next := 0
	p := func() string {
		next++
		return s.sqlDialect.param(next)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = row(p)
	}
	return strings.Join(out, ",")
}

// valuesRows is n rows of width parameters each, every parameter written
// through cell (to wrap it in a CAST, say).
func (s *Store) valuesRows(n, width int, cell func(p string) string) string {
	return s.rowsOf(n, func(p func() string) string {
		cells := make([]string, width)
		for i := range cells {
			cells[i] = cell(p())
		}
		return "(" + strings.Join(cells, ", ") + ")"
	})
}
