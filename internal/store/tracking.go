package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// CreateBot stores a bot and the API token it authenticates with, in one
// transaction: the bot's id is the token's.
func (s *Store) CreateBot(ctx context.Context, b *domain.Bot, t *domain.APIToken) error {
	now := s.Now().UTC().Truncate(time.Millisecond)
	t.CreatedAt, b.CreatedAt = now, now
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (subaccount_id, name, role, prefix, hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			t.SubaccountID, t.Name, string(t.Role), t.Prefix, t.Hash, ms(now)).Scan(&t.ID)
		if err != nil {
			return err
		}
		b.ID = t.ID
		_, err = tx.ExecContext(ctx, `INSERT INTO bots (id, subaccount_id, name, kind, router_id, channel_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			b.ID, b.SubaccountID, b.Name, b.Kind, nullIntPtr(b.RouterID), nullIntPtr(b.ChannelID), ms(now))
		return err
	})
	switch {
	case isUniqueViolation(err):
		return domain.Errorf(domain.ECONFLICT, "a bot named %q, or a router of that channel, already exists", b.Name)
	case isForeignKeyViolation(err):
		return domain.Errorf(domain.EINVALID, "subaccount, router or channel does not exist")
	case err != nil:
		return fmt.Errorf("create bot: %w", err)
	}
	return nil
}

func nullIntPtr(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

const botColumns = `id, subaccount_id, name, kind, router_id, channel_id, created_at`

func scanBot(row interface{ Scan(...any) error }) (*domain.Bot, error) {
	var b domain.Bot
	var router, channel sql.NullInt64
	var at int64
	if err := row.Scan(&b.ID, &b.SubaccountID, &b.Name, &b.Kind, &router, &channel, &at); err != nil {
		return nil, err
	}
	if router.Valid {
		b.RouterID = &router.Int64
	}
	if channel.Valid {
		b.ChannelID = &channel.Int64
	}
	b.CreatedAt = fromMS(at)
	return &b, nil
}

// Bots lists the bots of the given subaccounts (all when nil), routers
// first.
func (s *Store) Bots(ctx context.Context, subaccounts []int64) ([]domain.Bot, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return []domain.Bot{}, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+botColumns+` FROM bots`+w.sql()+` ORDER BY subaccount_id, kind DESC, name`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list bots: %w", err)
	}
	defer rows.Close()
	out := []domain.Bot{}
	for rows.Next() {
		b, err := scanBot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	return out, rows.Err()
}

// Bot returns one bot.
func (s *Store) Bot(ctx context.Context, id int64) (*domain.Bot, error) {
	b, err := scanBot(s.r.QueryRowContext(ctx, `SELECT `+botColumns+` FROM bots WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "bot", id)
	}
	return b, nil
}

// IsBot reports whether an API token is a bot's.
func (s *Store) IsBot(ctx context.Context, tokenID int64) (bool, error) {
	st, err := s.readStmt(ctx, `SELECT COUNT(*) FROM bots WHERE id = $1`)
	if err != nil {
		return false, err
	}
	var n int
	if err := st.QueryRowContext(ctx, tokenID).Scan(&n); err != nil {
		return false, fmt.Errorf("is bot: %w", err)
	}
	return n > 0, nil
}

// ContactIDs returns which of ids are contacts of a subaccount.
func (s *Store) ContactIDs(ctx context.Context, subaccountID int64, ids []int64) (map[int64]bool, error) {
	found := map[int64]bool{}
	if len(ids) == 0 {
		return found, nil
	}
	w := &whereBuilder{}
	w.add(`subaccount_id = ` + w.arg(subaccountID))
	w.in(`id`, len(ids), func(i int) any { return ids[i] })
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM contacts`+w.sql(), w.args...)
	if err != nil {
		return nil, fmt.Errorf("contact ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		found[id] = true
	}
	return found, rows.Err()
}

// MessageRef names a message by ticks id or by WhatsApp id.
type MessageRef struct {
	ID    int64
	WAMID string
}

// MessageIDs resolves message references to the ids of a subaccount's
// messages; references it does not know are absent from the answer.
func (s *Store) MessageIDs(ctx context.Context, subaccountID int64, refs []MessageRef) (map[MessageRef]int64, error) {
	out := map[MessageRef]int64{}
	var ids []int64
	var wamids []string
	for _, r := range refs {
		if r.WAMID != "" {
			wamids = append(wamids, r.WAMID)
		} else {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) > 0 {
		w := &whereBuilder{}
		w.add(`subaccount_id = ` + w.arg(subaccountID))
		w.in(`id`, len(ids), func(i int) any { return ids[i] })
		rows, err := s.r.QueryContext(ctx, `SELECT id FROM messages`+w.sql(), w.args...)
		if err != nil {
			return nil, fmt.Errorf("message ids: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[MessageRef{ID: id}] = id
		}
		rows.Close()
	}
	if len(wamids) > 0 {
		w := &whereBuilder{}
		w.add(`subaccount_id = ` + w.arg(subaccountID))
		w.in(`wamid`, len(wamids), func(i int) any { return wamids[i] })
		rows, err := s.r.QueryContext(ctx, `SELECT id, wamid FROM messages`+w.sql(), w.args...)
		if err != nil {
			return nil, fmt.Errorf("message wamids: %w", err)
		}
		for rows.Next() {
			var id int64
			var wamid string
			if err := rows.Scan(&id, &wamid); err != nil {
				rows.Close()
				return nil, err
			}
			out[MessageRef{WAMID: wamid}] = id
		}
		rows.Close()
	}
	return out, nil
}

// EventContact is the contact of an event to record: an id already
// checked, or a canonical phone key whose contact is created when the
// subaccount has none.
type EventContact struct {
	ID  int64
	Key string // canonical E.164
}

// Periods of the distinct-contact counters.
const (
	PeriodDay   = "d"
	PeriodWeek  = "w"
	PeriodMonth = "m"
)

// AllBots is the bot_id of the counters that count a contact once across
// bots.
const AllBots = -1

// WeekOf is the Monday-started week of a day number (days since
// 1970-01-01, a Thursday), and WeekStart the first day of a week.
func WeekOf(day int64) int64     { return (day + 3) / 7 }
func WeekStart(week int64) int64 { return week*7 - 3 }

// MonthOf is the month of a day number as year*12 + month-1.
func MonthOf(day int64) int64 {
	t := time.Unix(day*86400, 0).UTC()
	return int64(t.Year())*12 + int64(t.Month()) - 1
}

// eventChunk bounds the rows of one multi-row statement of RecordEvents.
const eventChunk = 80

// maxEventGroup bounds the events of one transaction of the event writer.
const maxEventGroup = 8000

// eventReq is one call of RecordEvents waiting for the event writer.
type eventReq struct {
	subaccount int64
	events     []domain.TrackEvent
	contacts   []EventContact
	stored     int
	done       chan error
}

// RecordEvents stores a subaccount's events, each with its contact, and
// counts them into the hourly rollup and the distinct-contact counters in
// the same transaction. An event whose idempotency key the subaccount
// already used is not stored again. It returns how many were new.
//
// Calls made at the same time are written together by one writer, as one
// batch in one transaction: the events' rows, the rollup's and counters'
// increments summed over all of them, one commit. Only when that
// transaction fails is each call run on its own, so that one call's error
// (a subaccount deleted meanwhile) is its own.
func (s *Store) RecordEvents(ctx context.Context, subaccountID int64, events []domain.TrackEvent, contacts []EventContact) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	s.eventOnce.Do(func() {
		s.eventQ = make(chan *eventReq, 256)
		go s.eventWriter()
	})
	req := &eventReq{subaccount: subaccountID, events: events, contacts: contacts, done: make(chan error, 1)}
	select {
	case s.eventQ <- req:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if err := <-req.done; err != nil {
		return 0, err
	}
	return req.stored, nil
}

// eventWriter writes the waiting calls of RecordEvents until the store is
// closed.
func (s *Store) eventWriter() {
	var group []*eventReq
	var next *eventReq
	for {
		if next == nil {
			r, ok := <-s.eventQ
			if !ok {
				return
			}
			next = r
		}
		group = append(group[:0], next)
		n := len(next.events)
		next = nil
	gather:
		for n < maxEventGroup {
			select {
			case r, ok := <-s.eventQ:
				if !ok {
					break gather
				}
				if n+len(r.events) > maxEventGroup {
					next = r
					break gather
				}
				group = append(group, r)
				n += len(r.events)
			default:
				break gather
			}
		}
		s.writeEvents(group)
	}
}

// writeEvents runs a group of calls in one transaction, or each alone when
// that fails.
func (s *Store) writeEvents(group []*eventReq) {
	ctx := context.Background()
	var err error
	for try := 0; try < 5; try++ {
		if err = s.tx(ctx, func(tx *sql.Tx) error { return s.recordEventsTx(ctx, tx, group) }); !isRetryable(err) {
			break
		}
	}
	if err == nil {
		for _, r := range group {
			r.done <- nil
		}
		return
	}
	if len(group) == 1 {
		group[0].done <- eventError(err, group[0].subaccount)
		return
	}
	for _, r := range group {
		one := []*eventReq{r}
		for try := 0; try < 5; try++ {
			if err = s.tx(ctx, func(tx *sql.Tx) error { return s.recordEventsTx(ctx, tx, one) }); !isRetryable(err) {
				break
			}
		}
		r.done <- eventError(err, r.subaccount)
	}
}

func eventError(err error, subaccountID int64) error {
	if isForeignKeyViolation(err) {
		// The bots, contacts and messages named were found in the
		// subaccount before: what is missing is the subaccount.
		return domain.Errorf(domain.EINVALID, "subaccount %d does not exist", subaccountID)
	}
	return err
}

type hourKey struct {
	subaccount, hour, bot int64
	category, action      string
}

type seenKey struct {
	subaccount       int64
	kind             string
	period, bot      int64
	category, action string
}

type seenRow struct {
	seenKey
	contact int64
}

// recordEventsTx writes a group of calls: each event's row, then for the
// new ones the hourly rollup and the distinct-contact sets and counters.
func (s *Store) recordEventsTx(ctx context.Context, tx *sql.Tx, group []*eventReq) error {
	var all []*domain.TrackEvent
	for _, r := range group {
		r.stored = 0
		ids, err := s.eventContactsTx(ctx, tx, r.subaccount, r.contacts)
		if err != nil {
			return err
		}
		for i := range r.events {
			e := &r.events[i]
			e.SubaccountID, e.ContactID = r.subaccount, ids[i]
			if e.ID == 0 {
				e.ID = s.NewID()
			}
			all = append(all, e)
		}
	}
	now := ms(s.Now())
	inserted := make(map[int64]bool, len(all))
	for start := 0; start < len(all); start += eventChunk {
		part := all[start:min(start+eventChunk, len(all))]
		args := make([]any, 0, len(part)*11)
		for _, e := range part {
			args = append(args, e.ID, e.SubaccountID, e.BotID, e.Category, e.Action, e.ContactID, nullInt(e.MessageID), e.Extras,
				ms(e.At), nullStr(e.IdempotencyKey), now)
		}
		err := s.chunkRows(ctx, tx, len(part), `INSERT INTO tracking_events (id, subaccount_id, bot_id, category, action,
			contact_id, message_id, extras, at, idempotency_key, created_at) VALUES `+s.valuesRows(len(part), 11, func(p string) string { return p })+`
			ON CONFLICT (subaccount_id, idempotency_key) DO NOTHING RETURNING id`, args, func(rows *sql.Rows) error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			inserted[id] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
	}
	hours := map[hourKey]int64{}
	days := map[seenRow]bool{}
	firsts := map[firstKey]int64{}
	for _, r := range group {
		for i := range r.events {
			e := &r.events[i]
			if !inserted[e.ID] {
				continue
			}
			r.stored++
			hours[hourKey{e.SubaccountID, ms(e.At) / 3_600_000, e.BotID, e.Category, e.Action}]++
			fk := firstKey{e.SubaccountID, e.Category, e.Action, e.ContactID}
			if at, ok := firsts[fk]; !ok || ms(e.At) < at {
				firsts[fk] = ms(e.At)
			}
			days[seenRow{seenKey{e.SubaccountID, PeriodDay, e.Day, e.BotID, e.Category, e.Action}, e.ContactID}] = true
		}
	}
	if err := s.upsertHours(ctx, tx, hours); err != nil {
		return err
	}
	counts, err := s.countNewContacts(ctx, tx, days)
	if err != nil {
		return err
	}
	if err := s.upsertContactCounts(ctx, tx, counts); err != nil {
		return err
	}
	return s.upsertFirsts(ctx, tx, firsts)
}

// countNewContacts adds a group's days to the distinct-contact sets
// (tracking_seen: a contact's days of an action, per bot) and returns the
// counters' increments: a contact new to a day of a bot counts in it, and
// also in that bot's week and month, and in every bot's day, week and
// month (bot_id AllBots), when none of its other days there was there
// before the group. Those other days are read in the same transaction
// under the set's key (contact, action, day): the writer's transactions
// are one at a time (SQLite's single writer; on PostgreSQL a transaction
// lock taken first), so what they read is every day stored.
func (s *Store) countNewContacts(ctx context.Context, tx *sql.Tx, days map[seenRow]bool) (map[seenKey]int64, error) {
	counts := map[seenKey]int64{}
	if len(days) == 0 {
		return counts, nil
	}
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(1700000017)`); err != nil {
			return nil, fmt.Errorf("lock contacts: %w", err)
		}
	}
	list := make([]seenRow, 0, len(days))
	for k := range days {
		list = append(list, k)
	}
	slices.SortFunc(list, func(a, b seenRow) int {
		return cmp.Or(cmp.Compare(a.subaccount, b.subaccount), cmp.Compare(a.contact, b.contact), strings.Compare(a.category, b.category),
			strings.Compare(a.action, b.action), cmp.Compare(a.period, b.period), cmp.Compare(a.bot, b.bot))
	})
	added := map[seenRow]bool{}
	for start := 0; start < len(list); start += eventChunk {
		part := list[start:min(start+eventChunk, len(list))]
		args := make([]any, 0, len(part)*7)
		for _, r := range part {
			args = append(args, r.subaccount, r.contact, r.category, r.action, PeriodDay, r.period, r.bot)
		}
		err := s.chunkRows(ctx, tx, len(part), `INSERT INTO tracking_seen (subaccount_id, contact_id, category, action, kind, period, bot_id)
			VALUES `+s.valuesRows(len(part), 7, func(p string) string { return p })+`
			ON CONFLICT DO NOTHING RETURNING subaccount_id, contact_id, category, action, period, bot_id`, args, func(rows *sql.Rows) error {
			var r seenRow
			r.kind = PeriodDay
			if err := rows.Scan(&r.subaccount, &r.contact, &r.category, &r.action, &r.period, &r.bot); err != nil {
				return err
			}
			added[r] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("add contacts: %w", err)
		}
	}
	if len(added) == 0 {
		return counts, nil
	}
	// The days around the new ones: from the first day of the earliest week
	// or month to the last of the latest, per contact and action.
	type cluster struct {
		subaccount, contact int64
		category, action    string
	}
	span := map[cluster][2]int64{}
	for r := range added {
		c := cluster{r.subaccount, r.contact, r.category, r.action}
		lo, hi := min(WeekStart(WeekOf(r.period)), monthFirst(r.period)), max(WeekStart(WeekOf(r.period))+6, monthLast(r.period))
		if sp, ok := span[c]; ok {
			lo, hi = min(lo, sp[0]), max(hi, sp[1])
		}
		span[c] = [2]int64{lo, hi}
	}
	clusters := make([]cluster, 0, len(span))
	for c := range span {
		clusters = append(clusters, c)
	}
	slices.SortFunc(clusters, func(a, b cluster) int {
		return cmp.Or(cmp.Compare(a.subaccount, b.subaccount), cmp.Compare(a.contact, b.contact),
			strings.Compare(a.category, b.category), strings.Compare(a.action, b.action))
	})
	type day struct{ period, bot int64 }
	around := map[cluster][]day{}
	for start := 0; start < len(clusters); start += eventChunk {
		part := clusters[start:min(start+eventChunk, len(clusters))]
		args := make([]any, 0, len(part)*6)
		for _, c := range part {
			args = append(args, c.subaccount, c.contact, c.category, c.action, span[c][0], span[c][1])
		}
		values := s.rowsOf(len(part), func(p func() string) string {
			return "(CAST(" + p() + " AS BIGINT), CAST(" + p() + " AS BIGINT), CAST(" + p() + " AS TEXT), CAST(" + p() +
				" AS TEXT), CAST(" + p() + " AS BIGINT), CAST(" + p() + " AS BIGINT))"
		})
		err := s.chunkRows(ctx, tx, len(part), `WITH v (subaccount_id, contact_id, category, action, lo, hi) AS (VALUES `+values+`)
			SELECT v.subaccount_id, v.contact_id, v.category, v.action, s.period, s.bot_id FROM v JOIN tracking_seen s
			ON s.subaccount_id = v.subaccount_id AND s.contact_id = v.contact_id AND s.category = v.category AND s.action = v.action
			AND s.kind = 'd' AND s.period >= v.lo AND s.period <= v.hi`, args, func(rows *sql.Rows) error {
			var c cluster
			var d day
			if err := rows.Scan(&c.subaccount, &c.contact, &c.category, &c.action, &d.period, &d.bot); err != nil {
				return err
			}
			around[c] = append(around[c], d)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("contacts' days: %w", err)
		}
	}
	// A key is new when every day of the cluster in it is new; each new
	// key counts once.
	counted := map[seenRow]bool{}
	for r := range added {
		c := cluster{r.subaccount, r.contact, r.category, r.action}
		others := around[c]
		isNew := func(in func(d day) bool) bool {
			for _, d := range others {
				if in(d) && !added[seenRow{seenKey{r.subaccount, PeriodDay, d.period, d.bot, r.category, r.action}, r.contact}] {
					return false
				}
			}
			return true
		}
		week, month := WeekOf(r.period), MonthOf(r.period)
		keys := []struct {
			key  seenKey
			test func(d day) bool
		}{
			{seenKey{r.subaccount, PeriodDay, r.period, AllBots, r.category, r.action}, func(d day) bool { return d.period == r.period }},
			{seenKey{r.subaccount, PeriodWeek, week, AllBots, r.category, r.action}, func(d day) bool { return WeekOf(d.period) == week }},
			{seenKey{r.subaccount, PeriodMonth, month, AllBots, r.category, r.action}, func(d day) bool { return MonthOf(d.period) == month }},
		}
		if r.bot != 0 {
			keys = append(keys,
				struct {
					key  seenKey
					test func(d day) bool
				}{seenKey{r.subaccount, PeriodDay, r.period, r.bot, r.category, r.action}, func(d day) bool { return d.period == r.period && d.bot == r.bot }},
				struct {
					key  seenKey
					test func(d day) bool
				}{seenKey{r.subaccount, PeriodWeek, week, r.bot, r.category, r.action}, func(d day) bool { return WeekOf(d.period) == week && d.bot == r.bot }},
				struct {
					key  seenKey
					test func(d day) bool
				}{seenKey{r.subaccount, PeriodMonth, month, r.bot, r.category, r.action}, func(d day) bool { return MonthOf(d.period) == month && d.bot == r.bot }})
		}
		for _, k := range keys {
			row := seenRow{k.key, r.contact}
			if counted[row] {
				continue
			}
			if isNew(k.test) {
				counted[row] = true
				counts[k.key]++
			}
		}
	}
	return counts, nil
}

// monthFirst and monthLast are the first and last day numbers of the month
// of a day number.
func monthFirst(day int64) int64 {
	t := time.Unix(day*86400, 0).UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func monthLast(day int64) int64 {
	t := time.Unix(day*86400, 0).UTC()
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC).Unix()/86400 - 1
}

type firstKey struct {
	subaccount       int64
	category, action string
	contact          int64
}

// upsertFirsts keeps each contact's first time of each action: the
// earlier of the stored one and the group's.
func (s *Store) upsertFirsts(ctx context.Context, tx *sql.Tx, firsts map[firstKey]int64) error {
	keys := make([]firstKey, 0, len(firsts))
	for k := range firsts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b firstKey) int {
		return cmp.Or(cmp.Compare(a.subaccount, b.subaccount), strings.Compare(a.category, b.category),
			strings.Compare(a.action, b.action), cmp.Compare(a.contact, b.contact))
	})
	for start := 0; start < len(keys); start += eventChunk {
		part := keys[start:min(start+eventChunk, len(keys))]
		args := make([]any, 0, len(part)*5)
		for _, k := range part {
			args = append(args, k.subaccount, k.category, k.action, k.contact, firsts[k])
		}
		if err := s.chunkExec(ctx, tx, len(part), `INSERT INTO tracking_firsts (subaccount_id, category, action, contact_id, first_at)
			VALUES `+s.valuesRows(len(part), 5, func(p string) string { return p })+`
			ON CONFLICT (subaccount_id, category, action, contact_id) DO UPDATE SET first_at = excluded.first_at
			WHERE excluded.first_at < tracking_firsts.first_at`, args); err != nil {
			return fmt.Errorf("first times: %w", err)
		}
	}
	return nil
}

// chunkRows runs a multi-row statement of n rows and hands each row it
// returns to fn; a statement of a full chunk is prepared once and kept.
func (s *Store) chunkRows(ctx context.Context, tx *sql.Tx, n int, query string, args []any, fn func(*sql.Rows) error) error {
	var rows *sql.Rows
	var err error
	if n == eventChunk {
		rows, err = s.stmtQuery(ctx, tx, query, args...)
	} else {
		rows, err = tx.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// chunkExec runs a multi-row statement of n rows; a statement of a full
// chunk is prepared once and kept.
func (s *Store) chunkExec(ctx context.Context, tx *sql.Tx, n int, query string, args []any) error {
	var err error
	if n == eventChunk {
		_, err = s.stmtExec(ctx, tx, query, args...)
	} else {
		_, err = tx.ExecContext(ctx, query, args...)
	}
	return err
}

func (s *Store) upsertHours(ctx context.Context, tx *sql.Tx, hours map[hourKey]int64) error {
	keys := make([]hourKey, 0, len(hours))
	for k := range hours {
		keys = append(keys, k)
	}
	for start := 0; start < len(keys); start += eventChunk {
		part := keys[start:min(start+eventChunk, len(keys))]
		args := make([]any, 0, len(part)*6)
		for _, k := range part {
			args = append(args, k.subaccount, k.hour, k.bot, k.category, k.action, hours[k])
		}
		if err := s.chunkExec(ctx, tx, len(part), `INSERT INTO tracking_hourly (subaccount_id, hour, bot_id, category, action, events)
			VALUES `+s.valuesRows(len(part), 6, func(p string) string { return p })+`
			ON CONFLICT (subaccount_id, hour, bot_id, category, action) DO UPDATE SET events = tracking_hourly.events + excluded.events`,
			args); err != nil {
			return fmt.Errorf("count events: %w", err)
		}
	}
	return nil
}

func (s *Store) upsertContactCounts(ctx context.Context, tx *sql.Tx, counts map[seenKey]int64) error {
	keys := make([]seenKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	for start := 0; start < len(keys); start += eventChunk {
		part := keys[start:min(start+eventChunk, len(keys))]
		args := make([]any, 0, len(part)*7)
		for _, k := range part {
			args = append(args, k.subaccount, k.kind, k.period, k.bot, k.category, k.action, counts[k])
		}
		if err := s.chunkExec(ctx, tx, len(part), `INSERT INTO tracking_contacts (subaccount_id, kind, period, bot_id, category, action, contacts)
			VALUES `+s.valuesRows(len(part), 7, func(p string) string { return p })+`
			ON CONFLICT (subaccount_id, kind, bot_id, period, category, action) DO UPDATE SET contacts = tracking_contacts.contacts + excluded.contacts`,
			args); err != nil {
			return fmt.Errorf("count contacts: %w", err)
		}
	}
	return nil
}

// eventContactsTx returns the contact id of each of contacts, creating the
// contacts of phone keys the subaccount does not have yet.
func (s *Store) eventContactsTx(ctx context.Context, tx *sql.Tx, subaccountID int64, contacts []EventContact) ([]int64, error) {
	byKey := map[string]int64{}
	var keys []string
	for _, c := range contacts {
		if c.ID == 0 {
			if _, ok := byKey[c.Key]; !ok {
				byKey[c.Key] = 0
				keys = append(keys, c.Key)
			}
		}
	}
	for start := 0; start < len(keys); start += 500 {
		part := keys[start:min(start+500, len(keys))]
		w := &whereBuilder{}
		w.add(`subaccount_id = ` + w.arg(subaccountID))
		w.in(`phone_key`, len(part), func(i int) any { return part[i] })
		rows, err := tx.QueryContext(ctx, `SELECT id, phone_key FROM contacts`+w.sql(), w.args...)
		if err != nil {
			return nil, fmt.Errorf("event contacts: %w", err)
		}
		for rows.Next() {
			var id int64
			var key string
			if err := rows.Scan(&id, &key); err != nil {
				rows.Close()
				return nil, err
			}
			byKey[key] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	now := ms(s.Now())
	for _, key := range keys {
		if byKey[key] != 0 {
			continue
		}
		// Ingestion may create the same contact at the same time: the
		// conflict then waits for it, and the second read finds it.
		var id int64
		err := s.stmtQueryRow(ctx, tx, `INSERT INTO contacts (subaccount_id, phone, phone_key, wa_id, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subaccount_id, phone_key) DO NOTHING RETURNING id`,
			subaccountID, key, key, key[1:], now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			err = s.stmtQueryRow(ctx, tx, `SELECT id FROM contacts WHERE subaccount_id = $1 AND phone_key = $2`, subaccountID, key).Scan(&id)
		}
		if err != nil {
			return nil, fmt.Errorf("create event contact: %w", err)
		}
		byKey[key] = id
	}
	out := make([]int64, len(contacts))
	for i, c := range contacts {
		out[i] = c.ID
		if c.ID == 0 {
			out[i] = byKey[c.Key]
		}
	}
	return out, nil
}

// EventFilter narrows the custom report: its subaccounts, a bot (0 for
// all), categories and actions (empty for all).
type EventFilter struct {
	Subaccounts []int64 // nil for all
	BotID       int64
	Categories  []string
	Actions     []string
}

func (f *EventFilter) where(w *whereBuilder) bool {
	if f.Subaccounts != nil {
		if len(f.Subaccounts) == 0 {
			return false
		}
		w.in(`subaccount_id`, len(f.Subaccounts), func(i int) any { return f.Subaccounts[i] })
	}
	if f.BotID != 0 {
		w.add(`bot_id = ` + w.arg(f.BotID))
	}
	if len(f.Categories) > 0 {
		w.in(`category`, len(f.Categories), func(i int) any { return f.Categories[i] })
	}
	if len(f.Actions) > 0 {
		w.in(`action`, len(f.Actions), func(i int) any { return f.Actions[i] })
	}
	return true
}

// HourlyCount is the events of an action in one unix hour.
type HourlyCount struct {
	Hour             int64
	Category, Action string
	Events           int64
}

// EventHours reads the hourly rollup between two unix hours (to excluded).
func (s *Store) EventHours(ctx context.Context, f *EventFilter, fromHour, toHour int64) ([]HourlyCount, error) {
	w := &whereBuilder{}
	if !f.where(w) {
		return nil, nil
	}
	w.add(`hour >= ` + w.arg(fromHour))
	w.add(`hour < ` + w.arg(toHour))
	rows, err := s.r.QueryContext(ctx, `SELECT hour, category, action, SUM(events) FROM tracking_hourly`+w.sql()+`
		GROUP BY hour, category, action`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("event hours: %w", err)
	}
	defer rows.Close()
	var out []HourlyCount
	for rows.Next() {
		var c HourlyCount
		if err := rows.Scan(&c.Hour, &c.Category, &c.Action, &c.Events); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// BucketContacts is the distinct contacts of an action in one bucket.
type BucketContacts struct {
	Bucket           int64
	Category, Action string
	Contacts         int64
}

// ContactsByPeriod reads the distinct-contact counters of a kind of
// period (PeriodDay, PeriodWeek, PeriodMonth) between two periods (to
// excluded): per period and action, summed over the subaccounts.
func (s *Store) ContactsByPeriod(ctx context.Context, f *EventFilter, kind string, from, to int64) ([]BucketContacts, error) {
	w := &whereBuilder{}
	if f.Subaccounts != nil {
		if len(f.Subaccounts) == 0 {
			return nil, nil
		}
		w.in(`subaccount_id`, len(f.Subaccounts), func(i int) any { return f.Subaccounts[i] })
	}
	w.add(`kind = ` + w.arg(kind))
	bot := int64(AllBots)
	if f.BotID != 0 {
		bot = f.BotID
	}
	w.add(`bot_id = ` + w.arg(bot))
	w.add(`period >= ` + w.arg(from))
	w.add(`period < ` + w.arg(to))
	if len(f.Categories) > 0 {
		w.in(`category`, len(f.Categories), func(i int) any { return f.Categories[i] })
	}
	if len(f.Actions) > 0 {
		w.in(`action`, len(f.Actions), func(i int) any { return f.Actions[i] })
	}
	rows, err := s.r.QueryContext(ctx, `SELECT period, category, action, SUM(contacts) FROM tracking_contacts`+w.sql()+`
		GROUP BY period, category, action`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("event contacts: %w", err)
	}
	defer rows.Close()
	var out []BucketContacts
	for rows.Next() {
		var c BucketContacts
		if err := rows.Scan(&c.Bucket, &c.Category, &c.Action, &c.Contacts); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ContactsByHour counts the distinct contacts of each action per unix hour
// from the events themselves.
func (s *Store) ContactsByHour(ctx context.Context, f *EventFilter, from, to time.Time) ([]BucketContacts, error) {
	w := &whereBuilder{}
	if !f.where(w) {
		return nil, nil
	}
	w.add(`at >= ` + w.arg(ms(from)))
	w.add(`at < ` + w.arg(ms(to)))
	rows, err := s.r.QueryContext(ctx, `SELECT at / 3600000, category, action, COUNT(DISTINCT contact_id) FROM tracking_events`+w.sql()+`
		GROUP BY at / 3600000, category, action`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("event contacts: %w", err)
	}
	defer rows.Close()
	var out []BucketContacts
	for rows.Next() {
		var c BucketContacts
		if err := rows.Scan(&c.Bucket, &c.Category, &c.Action, &c.Contacts); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// EventNames lists the categories and actions the subaccounts recorded, for
// the report's choices.
func (s *Store) EventNames(ctx context.Context, subaccounts []int64) ([][2]string, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return nil, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT category, action FROM tracking_hourly`+w.sql()+` ORDER BY category, action`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("event names: %w", err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var c, a string
		if err := rows.Scan(&c, &a); err != nil {
			return nil, err
		}
		out = append(out, [2]string{c, a})
	}
	return out, rows.Err()
}

// CreateCustomReport saves a custom report.
func (s *Store) CreateCustomReport(ctx context.Context, r *domain.CustomReport) error {
	r.CreatedAt = s.Now().UTC().Truncate(time.Millisecond)
	err := s.w.QueryRowContext(ctx, `INSERT INTO custom_reports (subaccount_id, user_id, token_id, name, kind, definition, shared, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		r.SubaccountID, r.UserID, r.TokenID, r.Name, r.Kind, r.Definition, r.Shared, ms(r.CreatedAt)).Scan(&r.ID)
	if isForeignKeyViolation(err) { // the owner is the caller: what is missing is the subaccount
		return domain.Errorf(domain.EINVALID, "subaccount %d does not exist", r.SubaccountID)
	}
	if err != nil {
		return fmt.Errorf("create custom report: %w", err)
	}
	return nil
}

// CustomReports lists the custom reports of an owner (a user, or an API
// token) and those shared with the subaccounts (all when nil), newest
// first.
func (s *Store) CustomReports(ctx context.Context, subaccounts []int64, userID, tokenID int64) ([]domain.CustomReport, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return []domain.CustomReport{}, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	owner := `(user_id = ` + w.arg(userID) + ` AND token_id = ` + w.arg(tokenID) + `)`
	w.add(`(shared OR ` + owner + `)`)
	rows, err := s.r.QueryContext(ctx, `SELECT id, subaccount_id, user_id, token_id, name, kind, definition, shared, created_at
		FROM custom_reports`+w.sql()+` ORDER BY id DESC`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list custom reports: %w", err)
	}
	defer rows.Close()
	out := []domain.CustomReport{}
	for rows.Next() {
		var r domain.CustomReport
		var at int64
		if err := rows.Scan(&r.ID, &r.SubaccountID, &r.UserID, &r.TokenID, &r.Name, &r.Kind, &r.Definition, &r.Shared, &at); err != nil {
			return nil, err
		}
		r.CreatedAt = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
