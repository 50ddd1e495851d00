package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"zombiezen.com/go/sqlite"

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

// Add adds o's counts to st.
func (st *ApplyStats) Add(o ApplyStats) {
	st.Statuses += o.Statuses
	st.StatusesChanged += o.StatusesChanged
	st.StubsCreated += o.StubsCreated
	st.Inbound += o.Inbound
	st.Other += o.Other
}

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
		_, err := s.txExec(ctx, tx, `INSERT INTO webhook_events
			(id, subaccount_id, channel_id, field, event, detail, payload, hash, at)
			VALUES (?, ?, NULL, 'ingest_error', 'set_aside', ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
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
// On PostgreSQL the transaction does not wait for its disk sync: what it
// writes derives from inbox rows that are already durable, and the cursor
// is in the same transaction, so a crash that loses it leaves the cursor
// before those rows and they are applied again. (This machine's syncs take
// 20 ms to 1 s; the processor would spend most of its time waiting.)
func (s *Store) ApplyWebhooks(ctx context.Context, items []InboxBatch, cursor int64) (ApplyStats, error) {
	var st ApplyStats
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return fmt.Errorf("apply: %w", err)
			}
		}
		a := newApplier(ctx, s, tx)
		var wamids []string
		for _, it := range items {
			for i := range it.Batch.Statuses {
				wamids = append(wamids, it.Batch.Statuses[i].WAMID)
			}
			for i := range it.Batch.Messages {
				wamids = append(wamids, it.Batch.Messages[i].WAMID)
			}
		}
		// A batch often holds several statuses of one message.
		slices.Sort(wamids)
		if err := a.preload(slices.Compact(wamids)); err != nil {
			return err
		}
		if err := a.preloadContacts(items); err != nil {
			return err
		}
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
	moved                                  bool // at or template_category changed (rows created from webhooks)
	phone, waID, userID                    string
	campaignID, senderUserID, botID        sql.NullInt64
	direction, wamid                       string
	templateCategory                       string
	// counted is where the row is counted in the rollup, as the database
	// holds it, when countedKnown: read by the preload, then moved by each
	// flush that counts its own change (see rollup_gen, migration 00005).
	counted      rollupKey
	countedKnown bool
}

// rollupKey is where a message is counted in the rollup: the key of
// message_rollup_attributed, the finest of its tables (migration 00003).
type rollupKey struct {
	subaccountID             int64
	direction                string
	hour                     int64 // at / 3,600,000
	status                   string
	accepted                 bool // state <> 'failed' OR error_code <> 0
	contentType              string
	withSession              bool
	conversationType         string
	attributed               bool  // has a campaign or a sending user
	campaignID, senderUserID int64 // 0 for none
}

type applier struct {
	ctx       context.Context
	s         *Store
	tx        *sql.Tx
	channels  map[string]channelRef  // phone_number_id →
	contacts  map[string]*contactRef // p|subaccount|phone key or u|subaccount|user id →
	noContact map[string]bool        // such keys known not to exist
	msgs      map[string]*msgRow     // wamid →
	rollup    map[rollupKey]int64    // counts flush moved, not yet written
	absent    map[string]bool        // wamids known not to exist
	order     []*msgRow
	touched   map[timelineKey]time.Time
}

func newApplier(ctx context.Context, s *Store, tx *sql.Tx) *applier {
	return &applier{
		ctx: ctx, s: s, tx: tx,
		channels:  map[string]channelRef{},
		contacts:  map[string]*contactRef{},
		noContact: map[string]bool{},
		msgs:      map[string]*msgRow{},
		absent:    map[string]bool{},
		rollup:    map[rollupKey]int64{},
		touched:   map[timelineKey]time.Time{},
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
		// Without a timestamp of its own, a repeated error is told apart
		// from a replay of the same delivery by its inbox row.
		salt := ""
		if e.Timestamp.IsZero() {
			salt = strconv.FormatInt(it.InboxID, 10)
		}
		if err := a.eventSalted(ch, "errors", "error", detail, e, orReceived(e.Timestamp, it.ReceivedAt), salt); err != nil {
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
	err := a.s.txQueryRow(a.ctx, a.tx, (`SELECT id, subaccount_id FROM channels WHERE phone_number_id = ?`),
		r.PhoneNumberID).Scan(&c.id, &c.subaccountID)
	if errors.Is(err, sql.ErrNoRows) {
		name := "Unassigned " + r.DisplayPhone
		if r.DisplayPhone == "" {
			name = "Unassigned " + r.PhoneNumberID
		}
		err = a.s.txQueryRow(a.ctx, a.tx, (`INSERT INTO channels
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
		err := a.s.txQueryRow(a.ctx, a.tx, (`SELECT subaccount_id FROM channels WHERE waba_id = ?
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
	key := contactKey(waID, userID)
	if key == "" && userID == "" {
		return 0, "", domain.Errorf(domain.EINVALID, "message without a recipient id")
	}
	pk, uk := contactCacheKeys(subaccountID, key, userID)
	ref, found := a.contacts[pk]
	if !found {
		ref, found = a.contacts[uk]
	}
	if !found {
		ref = &contactRef{}
	}
	if !found && !(a.noContact[pk] && a.noContact[uk]) {
		var haveUser sql.NullString
		var haveWA string
		err := a.s.txQueryRow(a.ctx, a.tx, `SELECT id, user_id, wa_id FROM contacts
			WHERE subaccount_id = ? AND (phone_key = ? OR user_id = ?) ORDER BY id LIMIT 1`,
			subaccountID, nullStr(key), nullStr(userID)).Scan(&ref.id, &haveUser, &haveWA)
		switch {
		case err == nil:
			found, ref.hasUser, ref.hasWA = true, haveUser.Valid, haveWA != ""
		case !errors.Is(err, sql.ErrNoRows):
			return 0, "", fmt.Errorf("find contact: %w", err)
		}
	}
	switch {
	case !found:
		err := a.s.txQueryRow(a.ctx, a.tx, `INSERT INTO contacts
			(subaccount_id, phone, phone_key, wa_id, user_id, name, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			subaccountID, phoneOf(key), nullStr(key), waID, nullStr(userID), name, ms(a.s.Now())).Scan(&ref.id)
		if err != nil {
			return 0, "", fmt.Errorf("insert contact: %w", err)
		}
		ref.hasUser, ref.hasWA = userID != "", waID != ""
	case (userID != "" && !ref.hasUser) || (waID != "" && !ref.hasWA):
		// Learn the ids the contact was missing; never overwrite a known one.
		_, err := a.s.txExec(a.ctx, a.tx, `UPDATE contacts SET
			user_id = COALESCE(user_id, ?),
			wa_id = CASE WHEN wa_id = '' THEN ? ELSE wa_id END,
			phone = CASE WHEN phone = '' THEN ? ELSE phone END,
			phone_key = CASE WHEN phone_key IS NULL OR phone_key LIKE 'wa:%' THEN COALESCE(?, phone_key) ELSE phone_key END
			WHERE id = ?`, nullStr(userID), waID, phoneOf(key), nullStr(key), ref.id)
		if err != nil {
			return 0, "", fmt.Errorf("update contact ids: %w", err)
		}
		ref.hasUser, ref.hasWA = ref.hasUser || userID != "", ref.hasWA || waID != ""
	}
	if key != "" {
		a.contacts[pk] = ref
	}
	if userID != "" {
		a.contacts[uk] = ref
	}
	return ref.id, phoneOf(key), nil
}

// contactPhoneKey is the canonical phone of a wa_id, the form contacts are
// matched on: the real number, with the Brazilian ninth digit, while the
// wa_id keeps what WhatsApp sent. "" when the wa_id is not a phone number.
// A wa_id that is not a phone number (a placeholder some tools send) keys
// the contact as "wa:<id>", so its messages are still kept together.
func contactPhoneKey(waID string) string {
	if waID == "" {
		return ""
	}
	if key, ok := phoneKeys.get(waID); ok {
		return key
	}
	key := "wa:" + waID
	if p, err := phone.FromWAID(waID); err == nil {
		key = phone.Canonical(p)
	}
	phoneKeys.put(waID, key)
	return key
}

// phoneKeys remembers contactPhoneKey's answers, which depend on the wa_id
// alone: parsing a number with libphonenumber costs microseconds, and the
// statuses of messages ticks did not send name the same contacts again and
// again (each new message's contact is looked up twice, too).
var phoneKeys = keyCache{max: 1 << 16}

// keyCache is a bounded map, emptied when full.
type keyCache struct {
	mu  sync.Mutex
	m   map[string]string
	max int
}

func (c *keyCache) get(k string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *keyCache) put(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]string, min(c.max, 1024))
	}
	c.m[k] = v
}

// contactKey is the phone key a contact is matched on: a non-phone wa_id
// keys it only when there is no business-scoped user id to key it by.
func contactKey(waID, userID string) string {
	key := contactPhoneKey(waID)
	if userID != "" && strings.HasPrefix(key, "wa:") {
		return ""
	}
	return key
}

// phoneOf is the E.164 phone of a contact key, "" for a non-phone key.
func phoneOf(key string) string {
	if strings.HasPrefix(key, "+") {
		return key
	}
	return ""
}

func contactCacheKeys(subaccountID int64, key, userID string) (string, string) {
	sa := strconv.FormatInt(subaccountID, 10)
	pk, uk := "", ""
	if key != "" {
		pk = "p|" + sa + "|" + key
	}
	if userID != "" {
		uk = "u|" + sa + "|" + userID
	}
	return pk, uk
}

// contactRef is what the applier remembers of a contact.
type contactRef struct {
	id             int64
	hasUser, hasWA bool
}

// contactWant is a contact a batch names.
type contactWant struct {
	subaccountID            int64
	key, userID, waID, name string
}

// preloadContacts looks up, a chunk at a time, the contacts the batch's new
// messages and preferences name, and creates the missing ones with
// multi-row inserts, so that contact() finds them all in its cache.
func (a *applier) preloadContacts(b []InboxBatch) error {
	var wants []contactWant
	add := func(r domain.Recipient, waID, userID, name string) error {
		ch, err := a.channel(r)
		if err != nil {
			return err
		}
		w := contactWant{subaccountID: ch.subaccountID, key: contactKey(waID, userID), userID: userID, waID: waID, name: name}
		if w.key != "" || w.userID != "" {
			wants = append(wants, w)
		}
		return nil
	}
	for _, it := range b {
		for i := range it.Batch.Statuses {
			e := &it.Batch.Statuses[i]
			if a.absent[e.WAMID] {
				if err := add(e.Recipient, e.RecipientWAID, e.RecipientUserID, e.ProfileName); err != nil {
					return err
				}
			}
		}
		for i := range it.Batch.Messages {
			e := &it.Batch.Messages[i]
			if a.absent[e.WAMID] {
				if err := add(e.Recipient, e.FromWAID, e.FromUserID, e.ProfileName); err != nil {
					return err
				}
			}
		}
		for i := range it.Batch.Preferences {
			e := &it.Batch.Preferences[i]
			if err := add(e.Recipient, e.WAID, e.UserID, ""); err != nil {
				return err
			}
		}
	}
	keys, users := map[int64][]string{}, map[int64][]string{}
	for _, w := range wants {
		if w.key != "" {
			keys[w.subaccountID] = append(keys[w.subaccountID], w.key)
		}
		if w.userID != "" {
			users[w.subaccountID] = append(users[w.subaccountID], w.userID)
		}
	}
	for sa, list := range keys {
		if err := a.lookupContacts(sa, "phone_key", "p", list); err != nil {
			return err
		}
	}
	for sa, list := range users {
		if err := a.lookupContacts(sa, "user_id", "u", list); err != nil {
			return err
		}
	}
	// Create the contacts still unknown, once each even when a batch names
	// one by both its phone and its user id.
	var create []contactWant
	for _, w := range wants {
		pk, uk := contactCacheKeys(w.subaccountID, w.key, w.userID)
		if a.contacts[pk] != nil || a.contacts[uk] != nil {
			continue
		}
		ref := &contactRef{hasUser: w.userID != "", hasWA: w.waID != ""}
		if pk != "" {
			a.contacts[pk] = ref
		}
		if uk != "" {
			a.contacts[uk] = ref
		}
		create = append(create, w)
	}
	const row = `(?, ?, ?, ?, ?, ?, ?)`
	now := ms(a.s.Now())
	for start := 0; start < len(create); start += upsertChunk {
		part := create[start:min(start+upsertChunk, len(create))]
		args := make([]any, 0, 7*len(part))
		for _, w := range part {
			args = append(args, w.subaccountID, phoneOf(w.key), nullStr(w.key), w.waID, nullStr(w.userID), w.name, now)
		}
		rows, err := a.s.txQuery(a.ctx, a.tx, `INSERT INTO contacts
			(subaccount_id, phone, phone_key, wa_id, user_id, name, created_at) VALUES `+
			strings.TrimSuffix(strings.Repeat(row+",", len(part)), ",")+
			` RETURNING id, subaccount_id, COALESCE(phone_key, ''), COALESCE(user_id, '')`, args...)
		if err != nil {
			return fmt.Errorf("create contacts: %w", err)
		}
		// RETURNING's row order is not promised: match rows by their keys.
		i := start
		for rows.Next() {
			var id, sa int64
			var key, user string
			if err := rows.Scan(&id, &sa, &key, &user); err != nil {
				rows.Close()
				return err
			}
			pk, uk := contactCacheKeys(sa, key, user)
			if ref := a.contacts[pk]; ref != nil {
				ref.id = id
			} else if ref := a.contacts[uk]; ref != nil {
				ref.id = id
			}
			i++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("create contacts: %w", err)
		}
		if i != start+len(part) {
			return fmt.Errorf("create contacts: %d ids for %d rows", i-start, len(part))
		}
	}
	return nil
}

func (a *applier) lookupContacts(subaccountID int64, column, prefix string, values []string) error {
	sa := strconv.FormatInt(subaccountID, 10)
	query := `SELECT id, COALESCE(phone_key, ''), COALESCE(user_id, ''), wa_id FROM contacts
		WHERE subaccount_id = ? AND ` + column + ` IN (` + placeholders(preloadChunk) + `)`
	args := make([]any, preloadChunk+1)
	args[0] = subaccountID
	for start := 0; start < len(values); start += preloadChunk {
		part := values[start:min(start+preloadChunk, len(values))]
		for i := range preloadChunk {
			args[i+1] = part[min(i, len(part)-1)]
		}
		rows, err := a.s.txQuery(a.ctx, a.tx, query, args...)
		if err != nil {
			return fmt.Errorf("preload contacts: %w", err)
		}
		for rows.Next() {
			var ref contactRef
			var key, user, waID string
			if err := rows.Scan(&ref.id, &key, &user, &waID); err != nil {
				rows.Close()
				return err
			}
			ref.hasUser, ref.hasWA = user != "", waID != ""
			if key != "" {
				a.contacts["p|"+sa+"|"+key] = &ref
			}
			if user != "" {
				a.contacts["u|"+sa+"|"+user] = &ref
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, v := range part {
			if a.contacts[prefix+"|"+sa+"|"+v] == nil {
				a.noContact[prefix+"|"+sa+"|"+v] = true
			}
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
func (a *applier) preload(wamids []string) error {
	query := `SELECT wamid, ` + msgColumns + ` FROM messages WHERE wamid IN (` + placeholders(preloadChunk) + `)`
	args := make([]any, preloadChunk)
	for start := 0; start < len(wamids); start += preloadChunk {
		part := wamids[start:min(start+preloadChunk, len(wamids))]
		for i := range args {
			args[i] = part[min(i, len(part)-1)] // pad with a repeat
		}
		if err := a.preloadChunk(query, args); err != nil {
			return fmt.Errorf("preload messages: %w", err)
		}
		for _, w := range part {
			if _, ok := a.msgs[w]; !ok {
				a.absent[w] = true
			}
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
func (a *applier) preloadChunk(query string, args []any) error {
	if a.s.raw != nil {
		return a.s.raw.query(a.ctx, query, true, args, func(st *sqlite.Stmt) error {
			m, wamid := scanMsgRowRaw(st)
			a.msgs[wamid] = m
			return nil
		})
	}
	rows, err := a.s.txQuery(a.ctx, a.tx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var wamid string
		m, err := scanMsgRow(rows, &wamid)
		if err != nil {
			return err
		}
		a.msgs[wamid] = m
	}
	return rows.Err()
}

func scanMsgRow(row interface{ Scan(...any) error }, wamid *string) (*msgRow, error) {
	sc := msgScan{m: &msgRow{}}
	m := sc.m
	err := row.Scan(wamid, &m.id, &m.subaccountID, &m.channelID, &m.contactID, &m.origin,
		&sc.at, &sc.state, &m.p.ErrorCode, &m.p.ErrorTitle, &m.p.ErrorDetail, &sc.sent, &sc.delivered, &sc.read, &sc.failed,
		&m.p.Pricing.Model, &m.p.Pricing.Category, &m.p.Pricing.Type, &sc.billable, &m.p.PricingRank,
		&m.p.MetaConversation.ID, &m.p.MetaConversation.Origin, &sc.metaExp, &m.phone, &m.waID, &m.userID,
		&m.campaignID, &m.senderUserID, &m.botID, &m.direction, &m.templateCategory,
		&sc.status, &m.counted.contentType, &m.counted.withSession, &m.counted.conversationType)
	if err != nil {
		return nil, err
	}
	return sc.done(*wamid), nil
}

// scanMsgRowRaw reads a row of "SELECT wamid, msgColumns" from a direct
// SQLite statement, as scanMsgRow does from database/sql.
func scanMsgRowRaw(st *sqlite.Stmt) (*msgRow, string) {
	sc := msgScan{m: &msgRow{}}
	m := sc.m
	wamid := st.ColumnText(0)
	m.id, m.subaccountID, m.channelID, m.contactID = st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnInt64(3), st.ColumnInt64(4)
	m.origin, sc.at, sc.state = st.ColumnText(5), st.ColumnInt64(6), st.ColumnText(7)
	m.p.ErrorCode, m.p.ErrorTitle, m.p.ErrorDetail = st.ColumnInt(8), st.ColumnText(9), st.ColumnText(10)
	sc.sent, sc.delivered, sc.read, sc.failed = nullInt64(st, 11), nullInt64(st, 12), nullInt64(st, 13), nullInt64(st, 14)
	m.p.Pricing.Model, m.p.Pricing.Category, m.p.Pricing.Type = st.ColumnText(15), st.ColumnText(16), st.ColumnText(17)
	if b := nullInt64(st, 18); b.Valid {
		sc.billable = sql.NullBool{Bool: b.Int64 != 0, Valid: true}
	}
	m.p.PricingRank = st.ColumnInt(19)
	m.p.MetaConversation.ID, m.p.MetaConversation.Origin, sc.metaExp = st.ColumnText(20), st.ColumnText(21), nullInt64(st, 22)
	m.phone, m.waID, m.userID = st.ColumnText(23), st.ColumnText(24), st.ColumnText(25)
	m.campaignID, m.senderUserID, m.botID = nullInt64(st, 26), nullInt64(st, 27), nullInt64(st, 28)
	m.direction, m.templateCategory = st.ColumnText(29), st.ColumnText(30)
	sc.status, m.counted.contentType = st.ColumnText(31), st.ColumnText(32)
	m.counted.withSession, m.counted.conversationType = st.ColumnInt64(33) != 0, st.ColumnText(34)
	return sc.done(wamid), wamid
}

// msgScan holds the columns of a message row that need converting.
type msgScan struct {
	m                                      *msgRow
	at                                     int64
	state, status                          string
	sent, delivered, read, failed, metaExp sql.NullInt64
	billable                               sql.NullBool
}

func (sc *msgScan) done(wamid string) *msgRow {
	m := sc.m
	m.wamid, m.at = wamid, fromMS(sc.at)
	m.p.State = domain.State(sc.state)
	m.p.SentAt, m.p.DeliveredAt, m.p.ReadAt, m.p.FailedAt = timeOrZero(sc.sent), timeOrZero(sc.delivered), timeOrZero(sc.read), timeOrZero(sc.failed)
	m.p.MetaConversation.ExpiresAt = timeOrZero(sc.metaExp)
	if sc.billable.Valid {
		b := sc.billable.Bool
		m.p.Pricing.Billable = &b
	}
	if m.origin == "webhook" {
		m.p.FirstAt = m.at
	}
	k := &m.counted
	k.subaccountID, k.direction, k.hour, k.status = m.subaccountID, m.direction, sc.at/3600000, sc.status
	k.accepted = m.p.State != domain.StateFailed || m.p.ErrorCode != 0
	k.attributed = m.campaignID.Valid || m.senderUserID.Valid
	k.campaignID, k.senderUserID = m.campaignID.Int64, m.senderUserID.Int64
	m.countedKnown = true
	return m
}

// message returns the row of wamid from the batch cache, loading it if it
// was not preloaded; nil when there is no such message.
func (a *applier) message(wamid string) (*msgRow, error) {
	if m, ok := a.msgs[wamid]; ok {
		return m, nil
	}
	if a.absent[wamid] {
		return nil, nil
	}
	var w string
	m, err := scanMsgRow(a.s.txQueryRow(a.ctx, a.tx, `SELECT wamid, `+msgColumns+` FROM messages WHERE wamid = ?`, wamid), &w)
	if errors.Is(err, sql.ErrNoRows) {
		a.absent[wamid] = true
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load message %s: %w", wamid, err)
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
			origin: "webhook", isNew: true, phone: e164, waID: e.RecipientWAID, userID: e.RecipientUserID, wamid: e.WAMID,
		}
		m.p.PricingRank = -1
		a.msgs[e.WAMID] = m
		a.order = append(a.order, m)
		st.StubsCreated++
	}
	if e.State == domain.StateFailed && len(e.Errors) > 0 && e.Errors[0].Code == 131050 {
		// Meta refused a marketing message because the contact stopped
		// them: the contact is opted out from then on (whether or not this
		// failure changes the message, so the order of events is moot).
		if err := a.optOut(m.contactID, true, ms(e.Timestamp)); err != nil {
			return false, err
		}
	}
	if !m.p.Apply(e) {
		return false, nil
	}
	if !m.dirty && !m.isNew {
		a.order = append(a.order, m)
	}
	m.dirty = true
	if m.origin == "webhook" {
		// A message seen only through webhooks happened when its first
		// status says, and its category is the one Meta priced it in.
		if m.at.IsZero() || m.p.FirstAt.Before(m.at) {
			m.at, m.moved = m.p.FirstAt, true
			a.touch(timelineKey{m.channelID, m.contactID}, m.at)
		}
		if c := domain.TemplateCategoryOf(m.p.Pricing.Category); c != m.templateCategory {
			m.templateCategory, m.moved = c, true
			a.touch(timelineKey{m.channelID, m.contactID}, m.at)
		}
	}
	return true, nil
}

func (a *applier) touch(k timelineKey, at time.Time) {
	if t, ok := a.touched[k]; !ok || at.Before(t) {
		a.touched[k] = at
	}
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

// upsertStatus overwrites a row's status columns with the merged values
// computed in Go. Its conflict target is the id, which every existing row's
// msgRow holds: SQLite then finds the row by its rowid, which the update
// needs anyway, instead of first looking its wamid up in that column's
// index (7% of applying a status). New rows have new ids and insert. A
// row's rollup_gen value is 1 when flush counts the change in the rollup
// itself (SQLite's update triggers then skip the row), 0 when the triggers
// are to count it.
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

var upsertRow = "(" + placeholders(strings.Count(upsertColumns, ",")+1) + ")"

// upsertStatusRow is a row of the status-only upsert. Its rows exist (read
// by the preload under the write lock, or written earlier in the
// transaction), so only the id (the conflict target), what the update sets
// (the status columns and rollup_gen) and the wamid are bound; the other
// columns, which the insert attempt needs and the update leaves alone, are
// constants. Binding a
// value through the driver costs about as much as SQLite's update of it.
var upsertStatusRow = "(?, 0, 0, 'mt', ?, '', 0, '', '', '', '', " + placeholders(14) + ", 0, " + placeholders(4) + ", 0, '', ?)"

// flush writes the messages changed by status events, new and existing
// alike, with multi-row upserts: those a status moved in time, then the
// others.
//
// On SQLite it also counts the rows it moves from one rollup key to
// another, for the existing rows whose key the preload read: summed per
// key and written once per key at the end, where the row triggers would
// update two rows of two tables for each message (a quarter of the cost
// of applying a status). New rows are counted by the insert triggers, and
// rows whose key is not known here by the update triggers.
func (a *applier) flush() error {
	now := ms(a.s.Now())
	var moved, rest []any
	nMoved, nRest := 0, 0
	write := func(rows *[]any, n *int, update string) error {
		if *n == 0 {
			return nil
		}
		row := upsertRow
		if update == upsertStatus {
			row = upsertStatusRow
		}
		query := `INSERT INTO messages (` + upsertColumns + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row+",", *n), ",") + update
		if _, err := a.s.txExec(a.ctx, a.tx, query, (*rows)...); err != nil {
			return fmt.Errorf("write messages: %w", err)
		}
		*rows, *n = (*rows)[:0], 0
		return nil
	}
	for _, m := range a.order {
		if !m.dirty && !m.isNew {
			continue
		}
		rows, n, update := &rest, &nRest, upsertStatus
		if m.isNew || m.moved {
			rows, n, update = &moved, &nMoved, upsertMoved
		}
		p := &m.p
		var billable any
		if p.Pricing.Billable != nil {
			billable = *p.Pricing.Billable
		}
		gen := 0
		if a.s.dialect == SQLite && m.countedKnown && !m.isNew {
			gen = 1
			k := m.counted
			k.status, k.accepted = string(p.Status()), p.State != domain.StateFailed || p.ErrorCode != 0
			if m.moved {
				k.hour = ms(m.at) / 3600000
			}
			if k != m.counted {
				a.rollup[m.counted]--
				a.rollup[k]++
				m.counted = k
			}
		}
		if update == upsertStatus {
			*rows = append(*rows, m.id, m.wamid, string(p.State), p.State.Rank(), string(p.Status()), p.ErrorCode,
				p.ErrorTitle, p.ErrorDetail, p.Pricing.Model, p.Pricing.Category, p.Pricing.Type, billable, p.PricingRank,
				p.MetaConversation.ID, p.MetaConversation.Origin, msOrNil(p.MetaConversation.ExpiresAt),
				msOrNil(p.SentAt), msOrNil(p.DeliveredAt), msOrNil(p.ReadAt), msOrNil(p.FailedAt), gen)
		} else {
			dir := m.direction
			if dir == "" {
				dir = "mt"
			}
			*rows = append(*rows, m.id, m.subaccountID, m.channelID, dir, m.wamid, m.origin, m.contactID, m.phone, m.waID,
				m.userID, "", string(p.State), p.State.Rank(), string(p.Status()), p.ErrorCode, p.ErrorTitle, p.ErrorDetail,
				p.Pricing.Model, p.Pricing.Category, p.Pricing.Type, billable, p.PricingRank,
				p.MetaConversation.ID, p.MetaConversation.Origin, msOrNil(p.MetaConversation.ExpiresAt),
				ms(m.at), msOrNil(p.SentAt), msOrNil(p.DeliveredAt), msOrNil(p.ReadAt), msOrNil(p.FailedAt), now,
				m.templateCategory, gen)
		}
		m.isNew, m.dirty, m.moved = false, false, false
		if *n++; *n == upsertChunk {
			if err := write(rows, n, update); err != nil {
				return err
			}
		}
	}
	a.order = a.order[:0]
	if err := write(&moved, &nMoved, upsertMoved); err != nil {
		return err
	}
	if err := write(&rest, &nRest, upsertStatus); err != nil {
		return err
	}
	return a.writeRollup()
}

// writeRollup adds the counts flush moved to the rollup's three tables, a
// statement per key (a batch moves its messages between a few keys: the
// hours and statuses of its traffic). It runs at the end of every flush, so
// the tables are exact again before any other statement of the transaction
// fires a trigger.
func (a *applier) writeRollup() error {
	if len(a.rollup) == 0 {
		return nil
	}
	var levels [len(rollupTables)]map[rollupKey]int64
	for l := range levels {
		levels[l] = map[rollupKey]int64{}
	}
	for k, n := range a.rollup {
		if k.attributed {
			levels[levelAttributed][k] += n
		}
		k.attributed, k.campaignID, k.senderUserID = false, 0, 0
		levels[levelMain][k] += n
		k.contentType, k.withSession, k.conversationType = "", false, ""
		levels[levelStatus][k] += n
	}
	clear(a.rollup)
	for l, t := range rollupTables {
		cols := strings.Count(t.key, ",") + 2
		query := `INSERT INTO ` + t.name + ` (` + t.key + `, n) VALUES (` + placeholders(cols) + `)
			ON CONFLICT (` + t.key + `) DO UPDATE SET n = ` + t.name + `.n + excluded.n`
		for k, n := range levels[l] {
			if n == 0 {
				continue
			}
			args := []any{k.subaccountID, k.direction, k.hour, k.status, k.accepted}
			if rollupLevel(l) >= levelMain {
				args = append(args, k.contentType, k.withSession, k.conversationType)
			}
			if rollupLevel(l) == levelAttributed {
				args = append(args, k.campaignID, k.senderUserID)
			}
			if _, err := a.s.txExec(a.ctx, a.tx, query, append(args, n)...); err != nil {
				return fmt.Errorf("count in %s: %w", t.name, err)
			}
		}
	}
	return nil
}

// inbound stores a message a contact sent. Duplicates are ignored. A reply
// to one of our messages inherits its campaign, user and bot, so the MO
// report can filter by them.
func (a *applier) inbound(e *domain.InboundMessage, st *ApplyStats) error {
	if m, err := a.message(e.WAMID); err != nil || m != nil {
		return err // already stored (or an error)
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
		err := a.s.txQueryRow(a.ctx, a.tx, (`SELECT campaign_id, sender_user_id, bot_id FROM messages WHERE wamid = ?`),
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
	at, id := e.Timestamp, a.s.NewID()
	_, err = a.s.txExec(a.ctx, a.tx, (`INSERT INTO messages
		(id, subaccount_id, channel_id, direction, wamid, origin, contact_id, phone, wa_id, user_id,
		 campaign_id, sender_user_id, bot_id, content_type, text, state, state_rank, status,
		 at, context_wamid, button_payload, referral, content, error_code, error_title, error_detail, created_at)
		VALUES (?, ?, ?, 'mo', ?, 'webhook', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', -1, 'received', ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		id, ch.subaccountID, ch.id, e.WAMID, contactID, e164, e.FromWAID, e.FromUserID,
		campaignID, senderID, botID, e.Type, e.Text, ms(at), e.ContextWAMID, e.ButtonPayload, referral, content,
		firstErrorCode(e.Errors), firstErrorTitle(e.Errors), firstErrorDetail(e.Errors), ms(a.s.Now()))
	if err != nil {
		return fmt.Errorf("insert inbound %s: %w", e.WAMID, err)
	}
	if e.Type == "system" {
		// A system notice (a number change) is not the contact writing: it
		// opens no session.
		a.msgs[e.WAMID] = &msgRow{id: id, direction: "mo", contactID: contactID, channelID: ch.id, subaccountID: ch.subaccountID}
		st.Inbound++
		return nil
	}
	_, err = a.s.txExec(a.ctx, a.tx, (`UPDATE contacts SET
		last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < ? THEN ? ELSE last_inbound_at END,
		name = CASE WHEN ? <> '' AND (last_inbound_at IS NULL OR last_inbound_at <= ?) THEN ? ELSE name END
		WHERE id = ?`), ms(at), ms(at), e.ProfileName, ms(at), e.ProfileName, contactID)
	if err != nil {
		return fmt.Errorf("update contact %d: %w", contactID, err)
	}
	a.msgs[e.WAMID] = &msgRow{id: id, direction: "mo", contactID: contactID, channelID: ch.id, subaccountID: ch.subaccountID}
	a.touch(timelineKey{ch.id, contactID}, at)
	st.Inbound++
	if a.s.isOptOutKeyword(e.Text) {
		return a.optOut(contactID, true, ms(at))
	}
	return nil
}

func firstErrorCode(errs []domain.MetaError) int {
	if len(errs) == 0 {
		return 0
	}
	return errs[0].Code
}

func firstErrorDetail(errs []domain.MetaError) string {
	if len(errs) == 0 {
		return ""
	}
	if errs[0].Details != "" {
		return errs[0].Details
	}
	return errs[0].Message
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
	if err := a.optOut(contactID, e.Value == "stop", at); err != nil {
		return err
	}
	return a.event(ch, "user_preferences", e.Value, e.Detail, e, fromMS(at))
}

// optOut records a contact's marketing preference as of at. The latest
// event wins; at the same instant a stop wins, so the order of arrival does
// not matter.
func (a *applier) optOut(contactID int64, stop bool, at int64) error {
	_, err := a.s.txExec(a.ctx, a.tx, `UPDATE contacts SET opted_out = ?, preference_at = ?
		WHERE id = ? AND (preference_at < ? OR (preference_at = ? AND ?))`,
		stop, at, contactID, at, at, stop)
	if err != nil {
		return fmt.Errorf("update preference: %w", err)
	}
	return nil
}

// template applies a template status, quality or category update.
func (a *applier) template(e *domain.TemplateEvent, received time.Time) error {
	ch, err := a.wabaChannel(e.WABAID)
	if err != nil {
		return err
	}
	at := ms(orReceived(e.Timestamp, received))
	if e.Name != "" {
		_, err = a.s.txExec(a.ctx, a.tx, (`INSERT INTO templates
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
		_, err = a.s.txExec(a.ctx, a.tx, (`UPDATE channels SET
			tier = CASE WHEN ? <> '' THEN ? ELSE tier END,
			quality = CASE WHEN ? <> '' THEN ? ELSE quality END,
			account_at = ?
			WHERE ` + where + ` AND account_at <= ?`), e.Tier, e.Tier, quality, quality, at, arg, at)
		if err != nil {
			return fmt.Errorf("update channel tier: %w", err)
		}
	}
	return a.event(ch, e.Field, e.Event, e.Detail, e, fromMS(at))
}

// event records a webhook change for admins. The hash makes a repeated
// delivery of the same change a no-op.
func (a *applier) event(ch channelRef, field, event, detail string, payload any, at time.Time) error {
	return a.eventSalted(ch, field, event, detail, payload, at, "")
}

// eventSalted is event with salt added to the hash that identifies it.
func (a *applier) eventSalted(ch channelRef, field, event, detail string, payload any, at time.Time, salt string) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	h := sha256.Sum256(append([]byte(field+"\x00"+salt+"\x00"), b...))
	var channelID any
	if ch.id != 0 {
		channelID = ch.id
	}
	_, err = a.s.txExec(a.ctx, a.tx, (`INSERT INTO webhook_events
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
// cannot be affected, since derivation only looks back in time. Timelines
// are loaded and rewritten a chunk at a time, so the cost is a few
// statements per batch, not per contact.
func (a *applier) rederive() error {
	keys := make([]timelineKey, 0, len(a.touched))
	for k := range a.touched {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].contactID != keys[j].contactID {
			return keys[i].contactID < keys[j].contactID
		}
		return keys[i].channelID < keys[j].channelID
	})
	var updates []timelineUpdate
	for start := 0; start < len(keys); start += preloadChunk {
		part := keys[start:min(start+preloadChunk, len(keys))]
		u, err := a.s.deriveTimelines(a.ctx, a.tx, part, a.touched)
		if err != nil {
			return fmt.Errorf("derive conversations: %w", err)
		}
		updates = append(updates, u...)
	}
	return a.s.writeTimelines(a.ctx, a.tx, updates)
}

// timelineRow is a message as conversation derivation sees it.
type timelineRow struct {
	key        timelineKey
	scope      string
	msg        domain.TimelineMessage
	id         int64
	assignment timelineUpdate
}

// timelineUpdate is the derived session and conversation of one message.
type timelineUpdate struct {
	id          int64
	withSession bool
	convID      string
	convType    string
	convCat     string
	convExp     int64
}

// deriveTimelines re-derives the timelines of keys from their touched
// instants and returns the messages whose assignment changed. It reads each
// timeline from 72 hours before its touched instant: no conversation lasts
// longer and no session or ad entry looks further back, so the stored
// assignments of those earlier messages are the state to start from.
func (s *Store) deriveTimelines(ctx context.Context, tx *sql.Tx, keys []timelineKey, from map[timelineKey]time.Time) ([]timelineUpdate, error) {
	ids := make([]any, preloadChunk+1)
	minFrom := from[keys[0]]
	for i := range preloadChunk {
		k := keys[min(i, len(keys)-1)]
		ids[i] = k.contactID
		if t := from[k]; t.Before(minFrom) {
			minFrom = t
		}
	}
	ids[preloadChunk] = ms(minFrom.Add(-domain.FreeEntryPointWindow))
	rows, err := s.txQuery(ctx, tx, `SELECT m.id, m.contact_id, m.channel_id, m.direction, m.at, m.template_category,
			m.referral IS NOT NULL, m.with_session, COALESCE(m.conversation_id, ''), m.conversation_type,
			m.conversation_category, COALESCE(m.conversation_expires_at, 0), ch.phone_number_id,
			COALESCE(c.phone_key, c.user_id, '')
		FROM messages m JOIN channels ch ON ch.id = m.channel_id JOIN contacts c ON c.id = m.contact_id
		WHERE m.contact_id IN (`+placeholders(preloadChunk)+`) AND m.at >= ?
			AND (m.wamid IS NOT NULL OR m.state <> 'failed')
			AND NOT (m.direction = 'mo' AND m.content_type = 'system')
		ORDER BY m.contact_id, m.channel_id, m.at, m.direction, COALESCE(m.wamid, ''), m.id`, ids...)
	if err != nil {
		return nil, err
	}
	var all []timelineRow
	for rows.Next() {
		var r timelineRow
		var dir, phoneNumberID, contactKey string
		var at int64
		u := &r.assignment
		if err := rows.Scan(&r.id, &r.key.contactID, &r.key.channelID, &dir, &at, &r.msg.TemplateCategory, &r.msg.Referral,
			&u.withSession, &u.convID, &u.convType, &u.convCat, &u.convExp, &phoneNumberID, &contactKey); err != nil {
			rows.Close()
			return nil, err
		}
		u.id = r.id
		r.msg.Direction, r.msg.At = domain.Direction(dir), fromMS(at)
		// The scope names the channel and contact by their outside
		// identities, not our row ids, so conversation IDs come out the
		// same whatever order the rows were created in.
		r.scope = phoneNumberID + ":" + contactKey
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []timelineUpdate
	for start := 0; start < len(all); {
		end := start
		for end < len(all) && all[end].key == all[start].key {
			end++
		}
		t, touched := from[all[start].key]
		if touched {
			out = append(out, deriveOne(all[start:end], t)...)
		}
		start = end
	}
	return out, nil
}

// deriveOne derives one timeline from instant t and returns the changes.
func deriveOne(rows []timelineRow, t time.Time) []timelineUpdate {
	var state domain.ConversationState
	first := len(rows)
	for i, r := range rows {
		if !r.msg.At.Before(t) {
			first = i
			break
		}
		if r.msg.Direction == domain.DirectionMO {
			state.LastInboundAt, state.LastInboundReferral = r.msg.At, r.msg.Referral
		}
		if u := r.assignment; u.convID != "" {
			state.Current = &domain.Conversation{ID: u.convID, Type: domain.ConversationType(u.convType),
				Category: u.convCat, ExpiresAt: fromMS(u.convExp)}
		}
	}
	if state.Current != nil && !state.Current.ExpiresAt.After(t) {
		state.Current = nil
	}
	rest := rows[first:]
	if len(rest) == 0 {
		return nil
	}
	timeline := make([]domain.TimelineMessage, len(rest))
	for i, r := range rest {
		timeline[i] = r.msg
	}
	var out []timelineUpdate
	for i, as := range domain.DeriveConversations(rest[0].scope, state, timeline) {
		want := timelineUpdate{id: rest[i].id, withSession: as.WithSession}
		if c := as.Conversation; c != nil {
			want.convID, want.convType, want.convCat, want.convExp = c.ID, string(c.Type), c.Category, ms(c.ExpiresAt)
		}
		if want != rest[i].assignment {
			out = append(out, want)
		}
	}
	return out
}

// writeTimelines stores derived assignments with multi-row updates.
func (s *Store) writeTimelines(ctx context.Context, tx *sql.Tx, updates []timelineUpdate) error {
	const row = `(CAST(? AS BIGINT), CAST(? AS BOOLEAN), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT))`
	for start := 0; start < len(updates); start += upsertChunk {
		part := updates[start:min(start+upsertChunk, len(updates))]
		args := make([]any, 0, 6*len(part))
		for _, u := range part {
			args = append(args, u.id, u.withSession, nullStr(u.convID), u.convType, u.convCat, nullInt(u.convExp))
		}
		query := `WITH v(id, with_session, conversation_id, conversation_type, conversation_category, conversation_expires_at)
			AS (VALUES ` + strings.TrimSuffix(strings.Repeat(row+",", len(part)), ",") + `)
			UPDATE messages SET with_session = v.with_session, conversation_id = v.conversation_id,
				conversation_type = v.conversation_type, conversation_category = v.conversation_category,
				conversation_expires_at = v.conversation_expires_at
			FROM v WHERE messages.id = v.id`
		if _, err := s.txExec(ctx, tx, query, args...); err != nil {
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

// isOptOutKeyword reports whether an inbound text is one of the opt-out
// keywords.
func (s *Store) isOptOutKeyword(text string) bool {
	t := strings.ToUpper(strings.TrimSpace(text))
	if t == "" || len(t) > 20 {
		return false
	}
	for _, k := range s.OptOutKeywords {
		if t == strings.ToUpper(k) {
			return true
		}
	}
	return false
}
