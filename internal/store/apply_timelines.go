package store

import (
	"fmt"
	"sort"
	"time"

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
		rows, err := a.s.readTimelines(a.ctx, a.tx, stored[start:min(start+preloadChunk, len(stored))], early)
		if err != nil {
			return nil, nil, fmt.Errorf("derive conversations: %w", err)
		}
		for _, r := range rows {
			if _, ok := early[r.Key]; ok {
				byKey[r.Key] = append(byKey[r.Key], r)
			}
		}
	}
	if err := a.contactKeysOf(stored, byKey, contactKeys); err != nil {
		return nil, nil, err
	}

	var all []apply.TimelineRow
	for k, t := range early {
		rows := fresh[k]
		for i := range rows {
			rows[i].PhoneNumberID, rows[i].ContactKey = phones[k.ChannelID], contactKeys[k.ContactID]
		}
		merged, ok := mergeTimeline(byKey[k], rows)
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

// contactKeysOf adds to keys (contact id → its phone key, else its user
// id, else empty) the contacts of the timelines listed, as the stored rows read carry
// them or, for a timeline without stored rows in its window, as the
// contact's row says (after learnContactIDs, as rederive would read it).
func (a *applier) contactKeysOf(list []apply.TimelineKey, rows map[apply.TimelineKey][]apply.TimelineRow, keys map[int64]string) error {
	var missing []any
	for _, k := range list {
		if _, ok := keys[k.ContactID]; ok {
			continue
		}
		if r := rows[k]; len(r) > 0 {
			keys[k.ContactID] = r[0].ContactKey
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
