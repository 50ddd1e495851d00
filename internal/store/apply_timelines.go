package store

import (
	"fmt"
	"sort"
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
	fresh := map[apply.TimelineKey][]apply.TimelineRow{} // the new rows of each timeline
	created := map[int64]*apply.Message{}                // the new rows, by id
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

	var all []apply.TimelineRow
	for k, t := range early {
		for _, rows := range [][]apply.TimelineRow{fresh[k], byKey[k]} {
			for i := range rows {
				rows[i].PhoneNumberID, rows[i].ContactKey = phones[k.ChannelID], contactKeys[k.ContactID]
			}
		}
		merged, ok := mergeTimeline(byKey[k], fresh[k])
		if !ok {
			delete(early, k)
			late[k] = t
			continue
		}
		all = append(all, merged...)
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

// mergeTimeline places a timeline's new rows (sorted) among its stored ones
// (in the database's order), or reports false when a new row shares its
// millisecond and direction with a stored one.
func mergeTimeline(stored, fresh []apply.TimelineRow) ([]apply.TimelineRow, bool) {
	out := make([]apply.TimelineRow, 0, len(stored)+len(fresh))
	i := 0
	for _, f := range fresh {
		for i < len(stored) && timelineBefore(&stored[i], &f) {
			out = append(out, stored[i])
			i++
		}
		if i < len(stored) && !timelineBefore(&f, &stored[i]) {
			return nil, false
		}
		out = append(out, f)
	}
	return append(out, stored[i:]...), true
}

// storedTimelineQuery reads the stored rows of up to preloadChunk
// contacts' timelines, as readTimelines does but without the channel's
// phone number id and the contact's key, which timelinesBeforeInsert knows
// per timeline: joining them costs two lookups a row.
var storedTimelineQuery = func(params func(first, n int) string) string {
	return `SELECT m.id, m.contact_id, m.channel_id, m.direction, m.at, m.template_category,
			m.referral IS NOT NULL, m.with_session, COALESCE(m.conversation_id, ''), m.conversation_type,
			m.conversation_category, COALESCE(m.conversation_expires_at, 0)
		FROM messages m
		WHERE m.contact_id IN (` + params(1, preloadChunk) + `) AND m.at >= ` + params(preloadChunk+1, 1) + `
			AND (m.wamid IS NOT NULL OR m.state <> 'failed')
			AND NOT (m.direction = 'mo' AND m.content_type = 'system')
		ORDER BY m.contact_id, m.channel_id, m.at, m.direction, COALESCE(m.wamid, ''), m.id`
}

// readStoredTimelines calls each with the stored rows of the timelines of
// keys (at most preloadChunk), from 72 hours before the earliest of their
// instants in from, in timeline order. On a SQLite file it reads through a
// direct read-only connection, as preloadChunk does and for the same
// reasons: it runs before the transaction writes any message (it has
// written only channels and contacts, which this read does not join), and
// the transaction holds the write lock.
func (a *applier) readStoredTimelines(keys []apply.TimelineKey, from map[apply.TimelineKey]time.Time, each func(apply.TimelineRow)) error {
	args := make([]any, preloadChunk+1)
	minFrom := from[keys[0]]
	for i := range preloadChunk {
		k := keys[min(i, len(keys)-1)]
		args[i] = k.ContactID
		if t := from[k]; t.Before(minFrom) {
			minFrom = t
		}
	}
	args[preloadChunk] = ms(minFrom.Add(-domain.FreeEntryPointWindow))
	query := storedTimelineQuery(a.s.params)
	if a.s.raw != nil {
		return a.s.raw.query(a.ctx, query, true, args, func(st *sqlite.Stmt) error {
			var r apply.TimelineRow
			u := &r.Stored
			u.ID, r.Key.ContactID, r.Key.ChannelID = st.ColumnInt64(0), st.ColumnInt64(1), st.ColumnInt64(2)
			r.Message.Direction, r.Message.At = domain.Direction(st.ColumnText(3)), fromMS(st.ColumnInt64(4))
			r.Message.TemplateCategory, r.Message.Referral = st.ColumnText(5), st.ColumnInt64(6) != 0
			u.WithSession, u.ConversationID, u.ConversationType = st.ColumnInt64(7) != 0, st.ColumnText(8), st.ColumnText(9)
			u.ConversationCategory, u.ConversationExpires = st.ColumnText(10), st.ColumnInt64(11)
			each(r)
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
		var dir string
		var at int64
		u := &r.Stored
		if err := rows.Scan(&u.ID, &r.Key.ContactID, &r.Key.ChannelID, &dir, &at, &r.Message.TemplateCategory,
			&r.Message.Referral, &u.WithSession, &u.ConversationID, &u.ConversationType, &u.ConversationCategory,
			&u.ConversationExpires); err != nil {
			return err
		}
		r.Message.Direction, r.Message.At = domain.Direction(dir), fromMS(at)
		each(r)
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
