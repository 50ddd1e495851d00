package store

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"zombiezen.com/go/sqlite"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/ingest/apply"
)

// timelinesBeforeInsert derives, before the batch writes the messages it
// creates, the timelines those messages are in, from the stored rows and
// the new ones together. It sets each new message's Conversation, which
// flush and inbound then write with the row, and returns the changed
// assignments of stored rows (written after the plan's messages and rollup,
// as rederive's are) and the timelines it left to rederive after the
// writes.
//
// Deriving after the insert, as rederive does, reads the new rows back and
// updates them a second time: for statuses of messages ticks did not send,
// each creating its message, that read and update were 30% of ticks's CPU.
//
// A timeline is left to rederive when placing its new rows among the
// stored ones would need more than their time and direction: when a stored
// row of the batch moved (its stored time is no longer its time), or when a
// new row shares its millisecond and direction with another row (the
// database then orders them by wamid, in its own collation). Ties are rare;
// the outcome is the same either way.
func (a *applier) timelinesBeforeInsert(plan *apply.Plan, pre *apply.Preload) ([]apply.Assignment, map[apply.TimelineKey]time.Time, error) {
	late := map[apply.TimelineKey]time.Time{}
	if len(plan.Timelines) == 0 {
		return nil, late, nil
	}
	fresh := make(map[apply.TimelineKey][]apply.TimelineRow, len(plan.Timelines))   // the new rows of each timeline
	created := make(map[int64]*apply.Message, len(plan.Messages)+len(plan.Inbound)) // the new rows, by id
	add := func(m *apply.Message, referral bool) {
		if m.ID == 0 {
			m.ID = a.s.NewID()
		}
		k := apply.TimelineKey{ChannelID: m.ChannelID, ContactID: m.ContactID}
		created[m.ID] = m
		fresh[k] = append(fresh[k], apply.TimelineRow{Key: k,
			Message: domain.TimelineMessage{Direction: domain.Direction(m.Direction), At: fromMS(ms(m.At)),
				TemplateCategory: m.TemplateCategory, Referral: referral},
			Stored: apply.Assignment{ID: m.ID}})
	}
	movedStored := map[apply.TimelineKey]bool{}
	for _, m := range plan.Messages {
		switch {
		case m.New:
			add(m, false)
		case m.Moved:
			movedStored[apply.TimelineKey{ChannelID: m.ChannelID, ContactID: m.ContactID}] = true
		}
	}
	for i := range plan.Inbound {
		in := &plan.Inbound[i]
		if in.Message.ID == 0 {
			in.Message.ID = a.s.NewID()
		}
		if !(in.Message.Direction == "mo" && in.Message.ContentType == "system") { // not in timelines (readTimelines)
			add(in.Message, in.Referral != "")
		}
	}

	phones := map[int64]string{} // channel id → phone number id
	for pnid, c := range pre.Channels {
		phones[c.ID] = pnid
	}
	for _, c := range plan.NewChannels {
		phones[c.ID] = c.PhoneNumberID
	}
	contactKeys := map[int64]string{} // contact id → COALESCE(phone_key, user_id, ''); the new ones first
	for _, c := range plan.NewContacts {
		contactKeys[c.ID] = c.PhoneKey
		if c.PhoneKey == "" {
			contactKeys[c.ID] = c.UserID
		}
	}

	early := map[apply.TimelineKey]time.Time{}
	var stored []apply.TimelineKey // early timelines whose contact may have stored rows
	for k, t := range plan.Timelines {
		rows := fresh[k]
		if len(rows) == 0 || movedStored[k] || phones[k.ChannelID] == "" || !newRowsPlaceable(rows, t) {
			late[k] = t
			continue
		}
		early[k] = t
		if _, ok := contactKeys[k.ContactID]; !ok {
			stored = append(stored, k)
		}
	}
	sort.Slice(stored, func(i, j int) bool { return stored[i].ContactID < stored[j].ContactID })
	byKey := map[apply.TimelineKey][]apply.TimelineRow{}
	for start := 0; start < len(stored); start += preloadChunk {
		err := a.readStoredTimelines(stored[start:min(start+preloadChunk, len(stored))], early, func(r apply.TimelineRow) {
			if _, ok := early[r.Key]; ok {
				byKey[r.Key] = append(byKey[r.Key], r)
			}
		})
		if err != nil {
			return nil, nil, fmt.Errorf("derive conversations: %w", err)
		}
	}
	if err := a.contactKeysOf(stored, plan, pre, contactKeys); err != nil {
		return nil, nil, err
	}

	n := 0
	for k := range early {
		n += len(fresh[k]) + len(byKey[k])
	}
	all := make([]apply.TimelineRow, 0, n)
	for k, t := range early {
		for _, rows := range [][]apply.TimelineRow{fresh[k], byKey[k]} {
			for i := range rows {
				rows[i].PhoneNumberID, rows[i].ContactKey = phones[k.ChannelID], contactKeys[k.ContactID]
			}
		}
		var ok bool
		if all, ok = mergeTimeline(all, byKey[k], fresh[k]); !ok {
			delete(early, k)
			late[k] = t
		}
	}
	var updates []apply.Assignment
	for _, u := range apply.DeriveTimelines(all, early) {
		if m := created[u.ID]; m != nil {
			m.Conversation = u
		} else {
			updates = append(updates, u)
		}
	}
	return updates, late, nil
}

// newRowsPlaceable reports whether a timeline's new rows, sorted here, can
// be derived from its instant t: none lies before t (rows before it are
// read as the state to start from, not derived) and no two share their
// millisecond and direction.
func newRowsPlaceable(rows []apply.TimelineRow, t time.Time) bool {
	sort.SliceStable(rows, func(i, j int) bool { return timelineBefore(&rows[i], &rows[j]) })
	for i := range rows {
		if rows[i].Message.At.Before(t) {
			return false
		}
		if i > 0 && !timelineBefore(&rows[i-1], &rows[i]) {
			return false
		}
	}
	return true
}

// timelineBefore orders rows by time, then direction, as readTimelines's
// ORDER BY does before it compares wamids.
func timelineBefore(a, b *apply.TimelineRow) bool {
	if !a.Message.At.Equal(b.Message.At) {
		return a.Message.At.Before(b.Message.At)
	}
	return a.Message.Direction < b.Message.Direction
}

// mergeTimeline appends to out a timeline's new rows (sorted) placed among
// its stored ones (in the database's order), or leaves out as it was and
// reports false when a new row shares its millisecond and direction with a
// stored one.
func mergeTimeline(out, stored, fresh []apply.TimelineRow) ([]apply.TimelineRow, bool) {
	start, i := len(out), 0
	for f := range fresh {
		for i < len(stored) && timelineBefore(&stored[i], &fresh[f]) {
			out = append(out, stored[i])
			i++
		}
		if i < len(stored) && !timelineBefore(&fresh[f], &stored[i]) {
			return out[:start], false
		}
		out = append(out, fresh[f])
	}
	return append(out, stored[i:]...), true
}

// storedTimelineQuery reads, for up to preloadChunk timelines (a
// contact on a channel) and each one's instant t, what deriving it from t
// needs of its stored rows: every row from t on, and of the rows before t
// only those deriveTimeline takes its starting state from, the last with
// a conversation and the last inbound one (FreeEntryPointWindow before t at
// most: no conversation lasts longer and no session or ad entry looks
// further back). For each, the time of the last such row is found by
// walking the timeline's index back from t, and every row of the timeline
// at that millisecond is read, so that the caller, which keeps the last in
// timeline order, picks the same row as a read of the whole window would.
// Reading the whole window instead read every stored row of the 72 hours
// before t: for statuses of messages ticks did not send, each creating its
// message, that was ~5 rows a message, 10% of ticks's CPU, where this
// reads one (inbound rows are found through messages_timeline_mo).
//
// A row can come twice (the last with a conversation and the last inbound
// one); the caller skips the repeat. It joins neither channels nor
// contacts: timelinesBeforeInsert knows each timeline's phone number id and
// contact key. CROSS JOIN has SQLite read the timelines first, as they
// are listed (with no statistics it would rather walk all of messages).
var storedTimelineQuery = func(params func(first, n int) string) string {
	const cols = `m.id, m.contact_id, m.channel_id, m.direction, m.at, m.template_category,
			m.referral IS NOT NULL, m.with_session, COALESCE(m.conversation_id, ''), m.conversation_type,
			m.conversation_category, COALESCE(m.conversation_expires_at, 0), COALESCE(m.wamid, '')`
	const in = `(m.wamid IS NOT NULL OR m.state <> 'failed') AND NOT (m.direction = 'mo' AND m.content_type = 'system')`
	in2 := strings.ReplaceAll(in, "m.", "m2.")
	window := strconv.FormatInt(domain.FreeEntryPointWindow.Milliseconds(), 10)
	values := make([]string, preloadChunk)
	for i := range values {
		values[i] = `(CAST(` + params(3*i+1, 1) + ` AS BIGINT), CAST(` + params(3*i+2, 1) + ` AS BIGINT), CAST(` +
			params(3*i+3, 1) + ` AS BIGINT))`
	}
	last := func(term string) string {
		return `SELECT ` + cols + ` FROM k CROSS JOIN messages m WHERE m.contact_id = k.contact_id AND m.channel_id = k.channel_id
			AND m.at = (SELECT m2.at FROM messages m2 WHERE m2.contact_id = k.contact_id AND m2.channel_id = k.channel_id
				AND m2.at < k.t AND m2.at >= k.t - ` + window + ` AND ` + strings.ReplaceAll(term, "m.", "m2.") + ` AND ` + in2 + `
				ORDER BY m2.at DESC LIMIT 1)
			AND ` + term + ` AND ` + in
	}
	return `WITH k (contact_id, channel_id, t) AS (VALUES ` + strings.Join(values, ", ") + `)
		SELECT ` + cols + ` FROM k CROSS JOIN messages m
		WHERE m.contact_id = k.contact_id AND m.channel_id = k.channel_id AND m.at >= k.t AND ` + in + `
		UNION ALL ` + last(`COALESCE(m.conversation_id, '') <> ''`) + `
		UNION ALL ` + last(`m.direction = 'mo'`) + `
		ORDER BY 2, 3, 5, 4, 13, 1`
}

// readStoredTimelines calls each, in timeline order, with what
// storedTimelineQuery reads of the timelines of keys (at most
// preloadChunk), each from its instant in from. On a SQLite file it reads
// through a direct read-only connection, as preloadChunk does and for the
// same reasons: it runs before the transaction writes any message (it has
// written only channels and contacts, which this read does not join), and
// the transaction holds the write lock.
func (a *applier) readStoredTimelines(keys []apply.TimelineKey, from map[apply.TimelineKey]time.Time, each func(apply.TimelineRow)) error {
	args := make([]any, 3*preloadChunk)
	for i := range preloadChunk {
		args[3*i], args[3*i+1], args[3*i+2] = int64(0), int64(0), int64(0) // no contact has id 0
		if i < len(keys) {
			k := keys[i]
			args[3*i], args[3*i+1], args[3*i+2] = k.ContactID, k.ChannelID, ms(from[k])
		}
	}
	query := storedTimelineQuery(a.s.params)
	var prev int64
	emit := func(r apply.TimelineRow) {
		if r.Stored.ID != prev { // the same row as last and inbound
			prev = r.Stored.ID
			each(r)
		}
	}
	if a.s.raw != nil {
		return a.s.raw.query(a.ctx, query, true, args, func(st *sqlite.Stmt) error {
			var r apply.TimelineRow
			u := &r.Stored
			u.ID, r.Key.ContactID, r.Key.ChannelID = st.ColumnInt64(0), st.ColumnInt64(1), st.ColumnInt64(2)
			r.Message.Direction, r.Message.At = domain.Direction(st.ColumnText(3)), fromMS(st.ColumnInt64(4))
			r.Message.TemplateCategory, r.Message.Referral = st.ColumnText(5), st.ColumnInt64(6) != 0
			u.WithSession, u.ConversationID, u.ConversationType = st.ColumnInt64(7) != 0, st.ColumnText(8), st.ColumnText(9)
			u.ConversationCategory, u.ConversationExpires = st.ColumnText(10), st.ColumnInt64(11)
			emit(r)
			return nil
		})
	}
	rows, err := a.s.stmtQuery(a.ctx, a.tx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r apply.TimelineRow
		var dir, wamid string
		var at int64
		u := &r.Stored
		if err := rows.Scan(&u.ID, &r.Key.ContactID, &r.Key.ChannelID, &dir, &at, &r.Message.TemplateCategory,
			&r.Message.Referral, &u.WithSession, &u.ConversationID, &u.ConversationType, &u.ConversationCategory,
			&u.ConversationExpires, &wamid); err != nil {
			return err
		}
		r.Message.Direction, r.Message.At = domain.Direction(dir), fromMS(at)
		emit(r)
	}
	return rows.Err()
}

// contactKeysOf adds to keys (contact id → its phone key, else its user id,
// else empty, as readTimelines joins it) the contacts of the timelines
// listed: as preloaded, unless the plan learnt ids for the contact, and
// otherwise as the contact's row says after learnContactIDs.
func (a *applier) contactKeysOf(list []apply.TimelineKey, plan *apply.Plan, pre *apply.Preload, keys map[int64]string) error {
	learnt := map[int64]bool{}
	for _, c := range plan.ContactIDs {
		learnt[c.ContactID] = true
	}
	preloaded := map[int64]string{}
	for _, c := range pre.Contacts {
		// The preload reads a NULL phone key as "": the key is known from it
		// unless that could be an empty key in front of a user id.
		if c.PhoneKey != "" || c.UserID == "" {
			preloaded[c.ID] = c.PhoneKey
		}
	}
	var missing []any
	for _, k := range list {
		if _, ok := keys[k.ContactID]; ok {
			continue
		}
		if key, ok := preloaded[k.ContactID]; ok && !learnt[k.ContactID] {
			keys[k.ContactID] = key
			continue
		}
		missing = append(missing, k.ContactID)
		keys[k.ContactID] = "" // asked once
	}
	query := `SELECT id, COALESCE(phone_key, user_id, '') FROM contacts WHERE id IN (` + a.s.params(1, preloadChunk) + `)`
	args := make([]any, preloadChunk)
	for start := 0; start < len(missing); start += preloadChunk {
		part := missing[start:min(start+preloadChunk, len(missing))]
		for i := range args {
			args[i] = part[min(i, len(part)-1)]
		}
		rows, err := a.s.stmtQuery(a.ctx, a.tx, query, args...)
		if err != nil {
			return fmt.Errorf("derive conversations: contacts: %w", err)
		}
		for rows.Next() {
			var id int64
			var key string
			if err := rows.Scan(&id, &key); err != nil {
				rows.Close()
				return err
			}
			keys[id] = key
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}
