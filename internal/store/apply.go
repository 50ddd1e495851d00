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
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
)

// InboxBatch is one inbox row, parsed.
type InboxBatch struct {
	InboxID    int64
	ReceivedAt time.Time
	Batch      *domain.WebhookBatch
}

// ApplyStats counts what one ApplyWebhooks call did.
type ApplyStats struct {
	Statuses        int // status events applied
	StatusesChanged int // of which changed a message
	StubsCreated    int // messages created from a status ticks had not sent
	Inbound         int // new inbound messages
	Other           int // preference, template, account, error and unknown events
}

// ApplyWebhooks applies parsed webhooks to the message model in one
// transaction and records cursor as the last inbox row applied, so a crash
// either applies a whole batch or none of it. Applying the same webhooks
// again, in any order, leaves the same state.
func (s *Store) ApplyWebhooks(ctx context.Context, items []InboxBatch, cursor int64) (ApplyStats, error) {
	var st ApplyStats
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a := newApplier(ctx, s, tx)
		defer a.close()
		for _, it := range items {
			if err := a.apply(it, &st); err != nil {
				return fmt.Errorf("apply inbox %d: %w", it.InboxID, err)
			}
		}
		if err := a.flush(); err != nil {
			return err
		}
		if err := a.rederive(); err != nil {
			return err
		}
		return s.setCursorTx(ctx, tx, cursor)
	})
	return st, err
}

type channelRef struct {
	id, subaccountID int64
}

type timelineKey struct {
	channelID, contactID int64
}

// msgRow is the part of a message row status events touch.
type msgRow struct {
	id, subaccountID, channelID, contactID int64
	origin                                 string
	at                                     time.Time
	p                                      domain.Progress
	isNew, dirty                           bool
	phone, waID, userID                    string
	campaignID, senderUserID, botID        sql.NullInt64
}

type applier struct {
	ctx      context.Context
	s        *Store
	tx       *sql.Tx
	channels map[string]channelRef // phone_number_id →
	contacts map[string]int64      // subaccount|key →
	msgs     map[string]*msgRow    // wamid →
	order    []*msgRow
	touched  map[timelineKey]time.Time

	getMsg *sql.Stmt
}

func newApplier(ctx context.Context, s *Store, tx *sql.Tx) *applier {
	return &applier{
		ctx: ctx, s: s, tx: tx,
		channels: map[string]channelRef{},
		contacts: map[string]int64{},
		msgs:     map[string]*msgRow{},
		touched:  map[timelineKey]time.Time{},
	}
}

func (a *applier) close() {
	if a.getMsg != nil {
		a.getMsg.Close()
	}
}

func (a *applier) apply(it InboxBatch, st *ApplyStats) error {
	b := it.Batch
	for i := range b.Statuses {
		changed, err := a.status(&b.Statuses[i], st)
		if err != nil {
			return err
		}
		st.Statuses++
		if changed {
			st.StatusesChanged++
		}
	}
	for i := range b.Messages {
		if err := a.inbound(&b.Messages[i], st); err != nil {
			return err
		}
	}
	for i := range b.Preferences {
		if err := a.preference(&b.Preferences[i], it.ReceivedAt); err != nil {
			return err
		}
	}
	for i := range b.Templates {
		if err := a.template(&b.Templates[i], it.ReceivedAt); err != nil {
			return err
		}
	}
	for i := range b.Accounts {
		if err := a.account(&b.Accounts[i], it.ReceivedAt); err != nil {
			return err
		}
	}
	for i := range b.Errors {
		e := &b.Errors[i]
		ch, err := a.channel(e.Recipient)
		if err != nil {
			return err
		}
		detail := ""
		if len(e.Errors) > 0 {
			detail = fmt.Sprintf("%d %s", e.Errors[0].Code, e.Errors[0].Title)
		}
		if err := a.event(ch, "errors", "error", detail, e, orReceived(e.Timestamp, it.ReceivedAt)); err != nil {
			return err
		}
	}
	for i := range b.Unknown {
		u := &b.Unknown[i]
		ch, err := a.channel(u.Recipient)
		if err != nil {
			return err
		}
		if err := a.event(ch, u.Field, "", "", u, it.ReceivedAt); err != nil {
			return err
		}
	}
	st.Other += len(b.Preferences) + len(b.Templates) + len(b.Accounts) + len(b.Errors) + len(b.Unknown)
	return nil
}

func orReceived(t, received time.Time) time.Time {
	if t.IsZero() {
		return received
	}
	return t
}

// channel resolves the channel a change was addressed to. A phone number no
// channel owns gets a channel in the unassigned subaccount, so its traffic is
// kept and an admin can see it.
func (a *applier) channel(r domain.Recipient) (channelRef, error) {
	if r.PhoneNumberID == "" {
		return a.wabaChannel(r.WABAID)
	}
	if c, ok := a.channels[r.PhoneNumberID]; ok {
		return c, nil
	}
	var c channelRef
	err := a.tx.QueryRowContext(a.ctx, a.s.q(`SELECT id, subaccount_id FROM channels WHERE phone_number_id = ?`),
		r.PhoneNumberID).Scan(&c.id, &c.subaccountID)
	if errors.Is(err, sql.ErrNoRows) {
		name := "Unassigned " + r.DisplayPhone
		if r.DisplayPhone == "" {
			name = "Unassigned " + r.PhoneNumberID
		}
		err = a.tx.QueryRowContext(a.ctx, a.s.q(`INSERT INTO channels
			(subaccount_id, name, waba_id, phone_number_id, display_phone, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			domain.UnassignedSubaccountID, name, r.WABAID, r.PhoneNumberID, r.DisplayPhone, ms(a.s.Now())).Scan(&c.id)
		c.subaccountID = domain.UnassignedSubaccountID
	}
	if err != nil {
		return c, fmt.Errorf("resolve channel %s: %w", r.PhoneNumberID, err)
	}
	a.channels[r.PhoneNumberID] = c
	return c, nil
}

// wabaChannel resolves a WABA-level change to the subaccount owning the
// WABA's first channel (channel id 0), or to the unassigned subaccount.
func (a *applier) wabaChannel(wabaID string) (channelRef, error) {
	key := "waba:" + wabaID
	if c, ok := a.channels[key]; ok {
		return c, nil
	}
	c := channelRef{subaccountID: domain.UnassignedSubaccountID}
	if wabaID != "" {
		err := a.tx.QueryRowContext(a.ctx, a.s.q(`SELECT subaccount_id FROM channels WHERE waba_id = ?
			ORDER BY subaccount_id = 1, id LIMIT 1`), wabaID).Scan(&c.subaccountID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return c, fmt.Errorf("resolve waba %s: %w", wabaID, err)
		}
	}
	a.channels[key] = c
	return c, nil
}

// contact finds or creates the contact with this WhatsApp id and/or
// business-scoped user id in a subaccount. The wa_id is matched through its
// canonical phone form, so Brazilian ids without the ninth digit find the
// contact stored with it.
func (a *applier) contact(subaccountID int64, waID, userID, name string) (int64, string, error) {
	var e164, key string
	if waID != "" {
		if p, err := phone.FromWAID(waID); err == nil {
			// The canonical form is the real number (with the Brazilian
			// ninth digit); the wa_id keeps what WhatsApp sent.
			key = phone.Canonical(p)
			e164 = key
		}
	}
	ck := fmt.Sprintf("%d|%s|%s", subaccountID, key, userID)
	if id, ok := a.contacts[ck]; ok {
		return id, e164, nil
	}
	if key == "" && userID == "" {
		return 0, "", domain.Errorf(domain.EINVALID, "message without a recipient id")
	}
	var id int64
	var haveUser sql.NullString
	var haveWA string
	err := a.tx.QueryRowContext(a.ctx, a.s.q(`SELECT id, user_id, wa_id FROM contacts
		WHERE subaccount_id = ? AND (phone_key = ? OR user_id = ?) ORDER BY id LIMIT 1`),
		subaccountID, nullStr(key), nullStr(userID)).Scan(&id, &haveUser, &haveWA)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = a.tx.QueryRowContext(a.ctx, a.s.q(`INSERT INTO contacts
			(subaccount_id, phone, phone_key, wa_id, user_id, name, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			subaccountID, e164, nullStr(key), waID, nullStr(userID), name, ms(a.s.Now())).Scan(&id)
		if err != nil {
			return 0, "", fmt.Errorf("insert contact: %w", err)
		}
	case err != nil:
		return 0, "", fmt.Errorf("find contact: %w", err)
	default:
		// Learn the ids the contact was missing; never overwrite a known one.
		if (userID != "" && !haveUser.Valid) || (waID != "" && haveWA == "") {
			_, err = a.tx.ExecContext(a.ctx, a.s.q(`UPDATE contacts SET
				user_id = COALESCE(user_id, ?),
				wa_id = CASE WHEN wa_id = '' THEN ? ELSE wa_id END,
				phone = CASE WHEN phone = '' THEN ? ELSE phone END,
				phone_key = COALESCE(phone_key, ?)
				WHERE id = ?`), nullStr(userID), waID, e164, nullStr(key), id)
			if err != nil {
				return 0, "", fmt.Errorf("update contact ids: %w", err)
			}
		}
	}
	a.contacts[ck] = id
	return id, e164, nil
}

const msgColumns = `id, subaccount_id, channel_id, contact_id, origin, at, state, error_code, error_title, error_detail,
	sent_at, delivered_at, read_at, failed_at, pricing_model, pricing_category, pricing_type, billable, pricing_rank,
	meta_conversation_id, meta_conversation_type, meta_conversation_expires_at, phone, wa_id, user_id,
	campaign_id, sender_user_id, bot_id`

// message loads the row of wamid into the batch cache; nil when unknown.
func (a *applier) message(wamid string) (*msgRow, error) {
	if m, ok := a.msgs[wamid]; ok {
		return m, nil
	}
	if a.getMsg == nil {
		st, err := a.tx.PrepareContext(a.ctx, a.s.q(`SELECT `+msgColumns+` FROM messages WHERE wamid = ?`))
		if err != nil {
			return nil, err
		}
		a.getMsg = st
	}
	m := &msgRow{}
	var at int64
	var state string
	var sent, delivered, read, failed, metaExp sql.NullInt64
	var billable sql.NullBool
	err := a.getMsg.QueryRowContext(a.ctx, wamid).Scan(&m.id, &m.subaccountID, &m.channelID, &m.contactID, &m.origin,
		&at, &state, &m.p.ErrorCode, &m.p.ErrorTitle, &m.p.ErrorDetail, &sent, &delivered, &read, &failed,
		&m.p.Pricing.Model, &m.p.Pricing.Category, &m.p.Pricing.Type, &billable, &m.p.PricingRank,
		&m.p.MetaConversation.ID, &m.p.MetaConversation.Origin, &metaExp, &m.phone, &m.waID, &m.userID,
		&m.campaignID, &m.senderUserID, &m.botID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load message %s: %w", wamid, err)
	}
	m.at = fromMS(at)
	m.p.State = domain.State(state)
	m.p.SentAt, m.p.DeliveredAt, m.p.ReadAt, m.p.FailedAt = timeOrZero(sent), timeOrZero(delivered), timeOrZero(read), timeOrZero(failed)
	m.p.MetaConversation.ExpiresAt = timeOrZero(metaExp)
	if billable.Valid {
		b := billable.Bool
		m.p.Pricing.Billable = &b
	}
	if m.origin == "webhook" {
		m.p.FirstAt = m.at
	}
	a.msgs[wamid] = m
	return m, nil
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

// status applies one status event. A status for a message ticks did not send
// (another tool on the same number) creates the message from what it says.
func (a *applier) status(e *domain.StatusEvent, st *ApplyStats) (bool, error) {
	m, err := a.message(e.WAMID)
	if err != nil {
		return false, err
	}
	if m == nil {
		ch, err := a.channel(e.Recipient)
		if err != nil {
			return false, err
		}
		contactID, e164, err := a.contact(ch.subaccountID, e.RecipientWAID, e.RecipientUserID, e.ProfileName)
		if err != nil {
			return false, fmt.Errorf("status %s: %w", e.WAMID, err)
		}
		m = &msgRow{
			id: a.s.NewID(), subaccountID: ch.subaccountID, channelID: ch.id, contactID: contactID,
			origin: "webhook", isNew: true, phone: e164, waID: e.RecipientWAID, userID: e.RecipientUserID,
		}
		m.p.PricingRank = -1
		a.msgs[e.WAMID] = m
		a.order = append(a.order, m)
		st.StubsCreated++
	}
	if !m.p.Apply(e) {
		return false, nil
	}
	if !m.dirty && !m.isNew {
		a.order = append(a.order, m)
	}
	m.dirty = true
	// A message seen only through webhooks happened when its first status says.
	if m.origin == "webhook" && (m.at.IsZero() || m.p.FirstAt.Before(m.at)) {
		a.touch(timelineKey{m.channelID, m.contactID}, m.p.FirstAt)
		m.at = m.p.FirstAt
	}
	return true, nil
}

func (a *applier) touch(k timelineKey, at time.Time) {
	if t, ok := a.touched[k]; !ok || at.Before(t) {
		a.touched[k] = at
	}
}

// flush writes the messages changed by status events.
func (a *applier) flush() error {
	if len(a.order) == 0 {
		return nil
	}
	ins, err := a.tx.PrepareContext(a.ctx, a.s.q(`INSERT INTO messages
		(id, subaccount_id, channel_id, direction, wamid, origin, contact_id, phone, wa_id, user_id, content_type,
		 state, state_rank, status, error_code, error_title, error_detail, pricing_model, pricing_category,
		 pricing_type, billable, pricing_rank, meta_conversation_id, meta_conversation_type,
		 meta_conversation_expires_at, at, sent_at, delivered_at, read_at, failed_at, created_at)
		VALUES (?, ?, ?, 'mt', ?, 'webhook', ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	defer ins.Close()
	upd, err := a.tx.PrepareContext(a.ctx, a.s.q(`UPDATE messages SET
		state = ?, state_rank = ?, status = ?, error_code = ?, error_title = ?, error_detail = ?,
		pricing_model = ?, pricing_category = ?, pricing_type = ?, billable = ?, pricing_rank = ?,
		meta_conversation_id = ?, meta_conversation_type = ?, meta_conversation_expires_at = ?,
		at = ?, sent_at = ?, delivered_at = ?, read_at = ?, failed_at = ?
		WHERE id = ?`))
	if err != nil {
		return fmt.Errorf("prepare update: %w", err)
	}
	defer upd.Close()
	now := ms(a.s.Now())
	for wamid, m := range a.msgs {
		if !m.dirty && !m.isNew {
			continue
		}
		p := &m.p
		var billable any
		if p.Pricing.Billable != nil {
			billable = *p.Pricing.Billable
		}
		if m.isNew {
			_, err = ins.ExecContext(a.ctx, m.id, m.subaccountID, m.channelID, wamid, m.contactID, m.phone, m.waID, m.userID,
				string(p.State), p.State.Rank(), string(p.Status()), p.ErrorCode, p.ErrorTitle, p.ErrorDetail,
				p.Pricing.Model, p.Pricing.Category, p.Pricing.Type, billable, p.PricingRank,
				p.MetaConversation.ID, p.MetaConversation.Origin, msOrNil(p.MetaConversation.ExpiresAt),
				ms(m.at), msOrNil(p.SentAt), msOrNil(p.DeliveredAt), msOrNil(p.ReadAt), msOrNil(p.FailedAt), now)
		} else {
			_, err = upd.ExecContext(a.ctx, string(p.State), p.State.Rank(), string(p.Status()), p.ErrorCode, p.ErrorTitle,
				p.ErrorDetail, p.Pricing.Model, p.Pricing.Category, p.Pricing.Type, billable, p.PricingRank,
				p.MetaConversation.ID, p.MetaConversation.Origin, msOrNil(p.MetaConversation.ExpiresAt),
				ms(m.at), msOrNil(p.SentAt), msOrNil(p.DeliveredAt), msOrNil(p.ReadAt), msOrNil(p.FailedAt), m.id)
		}
		if err != nil {
			return fmt.Errorf("write message %s: %w", wamid, err)
		}
		m.isNew, m.dirty = false, false
	}
	a.order = a.order[:0]
	return nil
}

// inbound stores a message a contact sent. Duplicates are ignored. A reply
// to one of our messages inherits its campaign, user and bot, so the MO
// report can filter by them.
func (a *applier) inbound(e *domain.InboundMessage, st *ApplyStats) error {
	var exists int
	err := a.tx.QueryRowContext(a.ctx, a.s.q(`SELECT 1 FROM messages WHERE wamid = ?`), e.WAMID).Scan(&exists)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("find inbound %s: %w", e.WAMID, err)
	}
	if _, ok := a.msgs[e.WAMID]; ok {
		return nil // the same id as a status in this batch: not a new inbound message
	}
	ch, err := a.channel(e.Recipient)
	if err != nil {
		return err
	}
	contactID, e164, err := a.contact(ch.subaccountID, e.FromWAID, e.FromUserID, e.ProfileName)
	if err != nil {
		return fmt.Errorf("inbound %s: %w", e.WAMID, err)
	}
	var campaignID, senderID, botID sql.NullInt64
	if e.ContextWAMID != "" {
		// Flush first so a reply finds a message created earlier in this batch.
		if err := a.flush(); err != nil {
			return err
		}
		err := a.tx.QueryRowContext(a.ctx, a.s.q(`SELECT campaign_id, sender_user_id, bot_id FROM messages WHERE wamid = ?`),
			e.ContextWAMID).Scan(&campaignID, &senderID, &botID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("find context %s: %w", e.ContextWAMID, err)
		}
	}
	var referral any
	if e.Referral != nil {
		b, _ := json.Marshal(e.Referral)
		referral = string(b)
	}
	var content any
	if len(e.Content) > 0 {
		content = string(e.Content)
	}
	at := e.Timestamp
	_, err = a.tx.ExecContext(a.ctx, a.s.q(`INSERT INTO messages
		(id, subaccount_id, channel_id, direction, wamid, origin, contact_id, phone, wa_id, user_id,
		 campaign_id, sender_user_id, bot_id, content_type, text, state, state_rank, status,
		 at, context_wamid, button_payload, referral, content, error_code, error_title, error_detail, created_at)
		VALUES (?, ?, ?, 'mo', ?, 'webhook', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', -1, 'received', ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.s.NewID(), ch.subaccountID, ch.id, e.WAMID, contactID, e164, e.FromWAID, e.FromUserID,
		campaignID, senderID, botID, e.Type, e.Text, ms(at), e.ContextWAMID, e.ButtonPayload, referral, content,
		firstErrorCode(e.Errors), firstErrorTitle(e.Errors), "", ms(a.s.Now()))
	if err != nil {
		return fmt.Errorf("insert inbound %s: %w", e.WAMID, err)
	}
	_, err = a.tx.ExecContext(a.ctx, a.s.q(`UPDATE contacts SET
		last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < ? THEN ? ELSE last_inbound_at END,
		name = CASE WHEN ? <> '' AND (last_inbound_at IS NULL OR last_inbound_at <= ?) THEN ? ELSE name END
		WHERE id = ?`), ms(at), ms(at), e.ProfileName, ms(at), e.ProfileName, contactID)
	if err != nil {
		return fmt.Errorf("update contact %d: %w", contactID, err)
	}
	a.touch(timelineKey{ch.id, contactID}, at)
	st.Inbound++
	return nil
}

func firstErrorCode(errs []domain.MetaError) int {
	if len(errs) == 0 {
		return 0
	}
	return errs[0].Code
}

func firstErrorTitle(errs []domain.MetaError) string {
	if len(errs) == 0 {
		return ""
	}
	return errs[0].Title
}

// preference applies a marketing opt-out or opt-in. The latest event wins; at
// the same instant a stop wins, so the order of arrival does not matter.
func (a *applier) preference(e *domain.PreferenceEvent, received time.Time) error {
	ch, err := a.channel(e.Recipient)
	if err != nil {
		return err
	}
	contactID, _, err := a.contact(ch.subaccountID, e.WAID, e.UserID, "")
	if err != nil {
		return fmt.Errorf("user_preferences: %w", err)
	}
	at := ms(orReceived(e.Timestamp, received))
	stop := e.Value == "stop"
	_, err = a.tx.ExecContext(a.ctx, a.s.q(`UPDATE contacts SET opted_out = ?, preference_at = ?
		WHERE id = ? AND (preference_at < ? OR (preference_at = ? AND ?))`),
		stop, at, contactID, at, at, stop)
	if err != nil {
		return fmt.Errorf("update preference: %w", err)
	}
	return a.event(ch, "user_preferences", e.Value, e.Detail, e, fromMS(at))
}

// template applies a template status, quality or category update.
func (a *applier) template(e *domain.TemplateEvent, received time.Time) error {
	ch, err := a.wabaChannel(e.WABAID)
	if err != nil {
		return err
	}
	at := ms(orReceived(e.Timestamp, received))
	if e.Name != "" {
		_, err = a.tx.ExecContext(a.ctx, a.s.q(`INSERT INTO templates
			(subaccount_id, waba_id, meta_id, name, language, category, status, quality, reason, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (waba_id, name, language) DO UPDATE SET
			  meta_id = CASE WHEN excluded.meta_id <> '' THEN excluded.meta_id ELSE templates.meta_id END,
			  status = CASE WHEN excluded.status <> '' AND excluded.updated_at >= templates.updated_at THEN excluded.status ELSE templates.status END,
			  reason = CASE WHEN excluded.status <> '' AND excluded.updated_at >= templates.updated_at THEN excluded.reason ELSE templates.reason END,
			  quality = CASE WHEN excluded.quality <> '' AND excluded.updated_at >= templates.updated_at THEN excluded.quality ELSE templates.quality END,
			  category = CASE WHEN excluded.category <> '' AND excluded.updated_at >= templates.updated_at THEN excluded.category ELSE templates.category END,
			  updated_at = CASE WHEN excluded.updated_at > templates.updated_at THEN excluded.updated_at ELSE templates.updated_at END`),
			ch.subaccountID, e.WABAID, e.TemplateID, e.Name, e.Language, e.Category, e.Status, e.Quality, e.Reason, at)
		if err != nil {
			return fmt.Errorf("upsert template %s: %w", e.Name, err)
		}
	}
	event := e.Status
	if event == "" {
		event = e.Quality
	}
	if event == "" {
		event = e.Category
	}
	return a.event(ch, e.Field, event, e.Name+" "+e.Language+" "+e.Reason, e, fromMS(at))
}

// account applies an account-level change: tier and quality of channels.
func (a *applier) account(e *domain.AccountEvent, received time.Time) error {
	at := ms(orReceived(e.Timestamp, received))
	var ch channelRef
	var err error
	if e.PhoneNumberID != "" {
		ch, err = a.channel(e.Recipient)
	} else {
		ch, err = a.wabaChannel(e.WABAID)
	}
	if err != nil {
		return err
	}
	quality := ""
	if e.Field == "phone_number_quality_update" {
		quality = e.Event
	}
	if e.Tier != "" || quality != "" {
		where, arg := `waba_id = ?`, any(e.WABAID)
		switch {
		case ch.id != 0:
			where, arg = `id = ?`, ch.id
		case e.Field == "phone_number_quality_update" && e.DisplayPhone != "":
			where, arg = `display_phone = ?`, e.DisplayPhone
		}
		_, err = a.tx.ExecContext(a.ctx, a.s.q(`UPDATE channels SET
			tier = CASE WHEN ? <> '' THEN ? ELSE tier END,
			quality = CASE WHEN ? <> '' THEN ? ELSE quality END,
			account_at = ?
			WHERE `+where+` AND account_at <= ?`), e.Tier, e.Tier, quality, quality, at, arg, at)
		if err != nil {
			return fmt.Errorf("update channel tier: %w", err)
		}
	}
	return a.event(ch, e.Field, e.Event, e.Detail, e, fromMS(at))
}

// event records a webhook change for admins. The hash makes a repeated
// delivery of the same change a no-op.
func (a *applier) event(ch channelRef, field, event, detail string, payload any, at time.Time) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	h := sha256.Sum256(append([]byte(field+"\x00"), b...))
	var channelID any
	if ch.id != 0 {
		channelID = ch.id
	}
	_, err = a.tx.ExecContext(a.ctx, a.s.q(`INSERT INTO webhook_events
		(id, subaccount_id, channel_id, field, event, detail, payload, hash, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`),
		a.s.NewID(), ch.subaccountID, channelID, field, event, detail, string(b), hex.EncodeToString(h[:]), ms(at))
	if err != nil {
		return fmt.Errorf("record %s event: %w", field, err)
	}
	return nil
}

// rederive recomputes sessions and conversations of every timeline the
// batch touched, from the earliest touched instant on. Earlier messages
// cannot be affected, since derivation only looks back in time.
func (a *applier) rederive() error {
	keys := make([]timelineKey, 0, len(a.touched))
	for k := range a.touched {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].channelID != keys[j].channelID {
			return keys[i].channelID < keys[j].channelID
		}
		return keys[i].contactID < keys[j].contactID
	})
	for _, k := range keys {
		if err := a.s.deriveTimeline(a.ctx, a.tx, k, a.touched[k]); err != nil {
			return fmt.Errorf("derive conversations of contact %d: %w", k.contactID, err)
		}
	}
	return nil
}

// deriveTimeline re-derives the conversations of one contact on one channel
// for messages at or after from.
func (s *Store) deriveTimeline(ctx context.Context, tx *sql.Tx, k timelineKey, from time.Time) error {
	var state domain.ConversationState
	var lastMO sql.NullInt64
	var referral sql.NullString
	err := tx.QueryRowContext(ctx, s.q(`SELECT at, referral FROM messages
		WHERE contact_id = ? AND channel_id = ? AND direction = 'mo' AND at < ?
		ORDER BY at DESC LIMIT 1`), k.contactID, k.channelID, ms(from)).Scan(&lastMO, &referral)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if lastMO.Valid {
		state.LastInboundAt = fromMS(lastMO.Int64)
		state.LastInboundReferral = referral.Valid
	}
	var convID, convType, convCat string
	var convExp sql.NullInt64
	err = tx.QueryRowContext(ctx, s.q(`SELECT conversation_id, conversation_type, conversation_category, conversation_expires_at
		FROM messages WHERE contact_id = ? AND channel_id = ? AND at < ? AND conversation_id IS NOT NULL
		ORDER BY at DESC LIMIT 1`), k.contactID, k.channelID, ms(from)).Scan(&convID, &convType, &convCat, &convExp)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err == nil && convExp.Valid && convExp.Int64 > ms(from) {
		state.Current = &domain.Conversation{ID: convID, Type: domain.ConversationType(convType),
			Category: convCat, ExpiresAt: fromMS(convExp.Int64)}
	}

	rows, err := tx.QueryContext(ctx, s.q(`SELECT id, direction, at, template_category, referral IS NOT NULL,
			with_session, COALESCE(conversation_id, ''), conversation_type, conversation_category,
			COALESCE(conversation_expires_at, 0)
		FROM messages WHERE contact_id = ? AND channel_id = ? AND at >= ? AND wamid IS NOT NULL
		ORDER BY at, direction, wamid`), k.contactID, k.channelID, ms(from))
	if err != nil {
		return err
	}
	type stored struct {
		id               int64
		withSession      bool
		convID, convType string
		convCat          string
		convExp          int64
	}
	var timeline []domain.TimelineMessage
	var have []stored
	for rows.Next() {
		var m domain.TimelineMessage
		var st stored
		var dir string
		var at int64
		if err := rows.Scan(&st.id, &dir, &at, &m.TemplateCategory, &m.Referral, &st.withSession,
			&st.convID, &st.convType, &st.convCat, &st.convExp); err != nil {
			rows.Close()
			return err
		}
		m.Direction, m.At = domain.Direction(dir), fromMS(at)
		timeline = append(timeline, m)
		have = append(have, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// The scope names the channel and contact by their outside identities,
	// not our row ids, so conversation IDs come out the same whatever order
	// the rows were created in.
	var phoneNumberID, contactKey string
	err = tx.QueryRowContext(ctx, s.q(`SELECT ch.phone_number_id, COALESCE(c.phone_key, c.user_id, '')
		FROM channels ch, contacts c WHERE ch.id = ? AND c.id = ?`), k.channelID, k.contactID).Scan(&phoneNumberID, &contactKey)
	if err != nil {
		return err
	}
	scope := phoneNumberID + ":" + contactKey
	for i, as := range domain.DeriveConversations(scope, state, timeline) {
		want := stored{id: have[i].id, withSession: as.WithSession}
		if c := as.Conversation; c != nil {
			want.convID, want.convType, want.convCat, want.convExp = c.ID, string(c.Type), c.Category, ms(c.ExpiresAt)
		}
		if want == have[i] {
			continue
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE messages SET with_session = ?, conversation_id = ?,
			conversation_type = ?, conversation_category = ?, conversation_expires_at = ? WHERE id = ?`),
			want.withSession, nullStr(want.convID), want.convType, want.convCat, nullInt(want.convExp), want.id)
		if err != nil {
			return err
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
