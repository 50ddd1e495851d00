package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/ingest/apply"
)

// On PostgreSQL the group writers and the ingest processor write the same
// messages: a send's row, its wamid, the stub row a status that came
// before the wamid created, and the timeline rows whose conversations
// either re-derives. Taken row by row, those locks come in no common
// order: a group marking a message accepted held the message's row and
// waited on the wamid's unique index entry, while the processor held that
// entry (the stub it had inserted) and waited on the message's row to
// write its timeline. PostgreSQL broke each such cycle after its
// deadlock_timeout (1 s), and the group ran again.
//
// So both first lock the contacts whose messages they write, all at once
// and in one order (the order of the lock keys), before writing any
// message: a transaction then waits on another only for a contact it does
// not yet hold, and never while holding a message row of a contact the
// other needs. The locks are transaction-level advisory locks, in the
// two-key space (the one-key space holds the store's other advisory
// locks); two contacts whose keys collide merely share one lock.
//
// SQLite has one writer and needs none of it.

// lockContactsQuery locks the contacts of $1 and those of the messages of
// $2, in the order of their keys (first key 1953, the contacts' class).
// Sorting in a subquery, which the planner does not flatten, makes the
// locks be taken in that order.
const lockContactsQuery = `SELECT COUNT(pg_advisory_xact_lock(1953, k)) FROM (SELECT DISTINCT hashint8(c) AS k
	FROM (SELECT unnest(CAST($1 AS BIGINT[])) AS c UNION ALL
		SELECT contact_id FROM messages WHERE id = ANY(CAST($2 AS BIGINT[]))) u ORDER BY k) s`

// lockContacts takes, in tx, the contact locks of contacts and of the
// contacts of messages (ids of stored messages). It does nothing on
// SQLite or when both are empty.
func (s *Store) lockContacts(ctx context.Context, tx *sql.Tx, contacts, messages []int64) error {
	if s.dialect != Postgres || len(contacts)+len(messages) == 0 {
		return nil
	}
	if contacts == nil {
		contacts = []int64{}
	}
	if messages == nil {
		messages = []int64{}
	}
	var n int64
	if err := s.stmtQueryRow(ctx, tx, lockContactsQuery, contacts, messages).Scan(&n); err != nil {
		return fmt.Errorf("lock contacts: %w", err)
	}
	return nil
}

// lockContactsSQL is lockContactsQuery with its arrays written out, and
// "; " after it, for a group to send with its first savepoint: one round
// trip, where a group of one or two sends has only a few. "" when both
// are empty.
func lockContactsSQL(contacts, messages []int64) string {
	if len(contacts)+len(messages) == 0 {
		return ""
	}
	list := func(ids []int64) string {
		b := make([]byte, 0, 20*len(ids)+2)
		b = append(b, '{')
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, id, 10)
		}
		return string(append(b, '}'))
	}
	q := strings.Replace(lockContactsQuery, "$1", "'"+list(contacts)+"'", 1)
	return strings.Replace(q, "$2", "'"+list(messages)+"'", 1) + "; "
}

// lockPlanContacts takes the contact locks of the stored contacts whose
// messages, timelines or preferences plan writes, before it writes
// anything, and returns the plan to write. That is plan, unless a send
// marked accepted while the locks were awaited changed the rows plan was
// made from: it took the wamid of a row plan creates from a status (one
// that came before the send's wamid was stored), or merged away such a row
// created earlier. The batch is then planned again from the messages as
// they now are, which the locks keep so.
func (a *applier) lockPlanContacts(items []apply.Webhook, pre *apply.Preload, plan *apply.Plan) (*apply.Plan, error) {
	if a.s.dialect != Postgres {
		return plan, nil
	}
	if err := a.s.lockContacts(a.ctx, a.tx, planContacts(plan), nil); err != nil {
		return nil, err
	}
	// The rows of statuses of messages ticks is not known to have sent,
	// stored or to create (not those of inbound messages of the batch).
	stub := func(m *apply.Message) bool { return m.Origin == "webhook" && (m.New || m.ID != 0) }
	var stubs []string
	for _, m := range plan.Messages {
		if stub(m) {
			stubs = append(stubs, m.WAMID)
		}
	}
	if len(stubs) == 0 {
		return plan, nil
	}
	now := map[string]*apply.Message{}
	if err := a.preload(stubs, now); err != nil {
		return nil, err
	}
	same := true
	for _, m := range plan.Messages {
		if !stub(m) {
			continue
		}
		if n := now[m.WAMID]; (m.New && n != nil) || (!m.New && (n == nil || n.ID != m.ID)) {
			same = false
		}
	}
	if same {
		return plan, nil
	}
	pre.Messages = map[string]*apply.Message{}
	if err := a.preload(apply.MessageIDs(items), pre.Messages); err != nil {
		return nil, err
	}
	plan, err := apply.Rules{OptOutKeywords: a.s.OptOutKeywords}.Plan(items, pre)
	if err != nil {
		return nil, err
	}
	// The contacts are those of before but for a merged row's, if it
	// differed: the locks held are taken again at once.
	if err := a.s.lockContacts(a.ctx, a.tx, planContacts(plan), nil); err != nil {
		return nil, err
	}
	return plan, nil
}

// planContacts lists the stored contacts whose rows plan writes. The
// contacts it creates need no lock: no one else knows them yet.
func planContacts(plan *apply.Plan) []int64 {
	var ids []int64
	add := func(id int64) {
		if id > 0 { // below zero: a contact the plan creates (apply.Plan.Resolve)
			ids = append(ids, id)
		}
	}
	for _, m := range plan.Messages {
		add(m.ContactID)
	}
	for i := range plan.Inbound {
		add(plan.Inbound[i].Message.ContactID)
	}
	for _, c := range plan.ContactIDs {
		add(c.ContactID)
	}
	for _, o := range plan.OptOuts {
		add(o.ContactID)
	}
	for k := range plan.Timelines {
		add(k.ContactID)
	}
	return ids
}
