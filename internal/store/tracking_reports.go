package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// FunnelSource is what a funnel step counts: an event's category and
// action, or a stage of a campaign's messages (delivered, read, replied,
// clicked).
type FunnelSource struct {
	Category, Action string
	CampaignID       int64
	Stage            string
}

// FunnelTimes returns, per contact, the times (unix ms, ascending) the
// contacts of the subaccounts did a step between from and to (excluded).
// With first, only each contact's first time (a funnel's first step);
// with contacts, only those contacts' (a later step: the contacts that
// reached the one before), read contact by contact through the index of
// their events (tracking_events_contact), in lists of funnelChunk.
func (s *Store) FunnelTimes(ctx context.Context, subaccounts []int64, src FunnelSource, from, to time.Time, first bool, contacts []int64) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	if subaccounts != nil && len(subaccounts) == 0 || contacts != nil && len(contacts) == 0 {
		return out, nil
	}
	if first && contacts == nil && src.CampaignID == 0 {
		firsts, ok, err := s.funnelFirsts(ctx, subaccounts, src, from, to)
		if err != nil || ok {
			return firsts, err
		}
	}
	for start := 0; start == 0 || start < len(contacts); start += funnelChunk {
		w := &whereBuilder{}
		if subaccounts != nil {
			w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
		}
		col, table := `at`, `tracking_events`
		if src.CampaignID == 0 {
			w.add(`category = ` + w.arg(src.Category))
			w.add(`action = ` + w.arg(src.Action))
		} else {
			table = `messages`
			w.add(`campaign_id = ` + w.arg(src.CampaignID))
			switch src.Stage {
			case "delivered":
				col = `COALESCE(delivered_at, read_at)`
				w.add(`direction = 'mt'`)
			case "read":
				col = `read_at`
				w.add(`direction = 'mt'`)
			case "replied":
				w.add(`direction = 'mo'`)
			case "clicked":
				w.add(`direction = 'mo'`)
				w.add(`button_payload <> ''`)
			default:
				return nil, domain.Errorf(domain.EINVALID, "stage must be delivered, read, replied or clicked, not %q", src.Stage)
			}
		}
		if contacts != nil {
			// Ids read from the database, written as numbers: many bound
			// parameters cost SQLite more than the query.
			var list strings.Builder
			for i, c := range contacts[start:min(start+funnelChunk, len(contacts))] {
				if i > 0 {
					list.WriteByte(',')
				}
				list.WriteString(strconv.FormatInt(c, 10))
			}
			w.add(`contact_id IN (` + list.String() + `)`)
		}
		w.add(col + ` >= ` + w.arg(ms(from)))
		w.add(col + ` < ` + w.arg(ms(to)))
		query := `SELECT contact_id, ` + col + ` FROM ` + table + w.sql() + ` ORDER BY 1, 2`
		if first {
			query = `SELECT contact_id, MIN(` + col + `) FROM ` + table + w.sql() + ` GROUP BY contact_id`
		}
		if err := s.funnelRows(ctx, query, w.args, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// funnelChunk is how many contacts a query of a funnel's later step names.
const funnelChunk = 500

// actionWhere narrows a query of a tracking table to an action of the
// subaccounts (all when nil).
func actionWhere(w *whereBuilder, subaccounts []int64, src FunnelSource) *whereBuilder {
	if subaccounts != nil {
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	w.add(`category = ` + w.arg(src.Category))
	w.add(`action = ` + w.arg(src.Action))
	return w
}

// actionContacts is the sum of an action's monthly distinct-contact
// counters: at least how many contacts have a first time of it.
func (s *Store) actionContacts(ctx context.Context, subaccounts []int64, src FunnelSource) (int64, error) {
	w := actionWhere(&whereBuilder{}, subaccounts, src)
	w.add(`kind = ` + w.arg(PeriodMonth))
	w.add(`bot_id = ` + w.arg(AllBots))
	var contacts int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(contacts), 0) FROM tracking_contacts`+w.sql(), w.args...).Scan(&contacts); err != nil {
		return 0, fmt.Errorf("funnel step: %w", err)
	}
	return contacts, nil
}

// firstTimes hands fn each contact's first time of an action, when it is
// before to (tracking_firsts).
func (s *Store) firstTimes(ctx context.Context, subaccounts []int64, src FunnelSource, to time.Time, fn func(contact, at int64)) error {
	w := actionWhere(&whereBuilder{}, subaccounts, src)
	w.add(`first_at < ` + w.arg(ms(to)))
	return s.contactTimes(ctx, `SELECT contact_id, first_at FROM tracking_firsts`+w.sql(), w.args, fn)
}

// FunnelNext returns, for the contacts that reached a funnel's previous
// step (prev: contact → when), the times they did src between from and to
// (unix ms, ascending) from which the step is taken: the first one after
// prev. When the contacts are many for the action's, a contact's first
// time of the action (tracking_firsts) answers alone when it is after
// prev — it is then the first after prev — and the events are read only
// for the contacts whose first time is not; otherwise FunnelTimes reads
// every contact's events.
func (s *Store) FunnelNext(ctx context.Context, subaccounts []int64, src FunnelSource, from, to time.Time, prev map[int64]int64) (map[int64][]int64, error) {
	contacts := make([]int64, 0, len(prev))
	for c := range prev {
		contacts = append(contacts, c)
	}
	slices.Sort(contacts)
	if src.CampaignID != 0 || len(prev) == 0 || subaccounts != nil && len(subaccounts) == 0 {
		return s.FunnelTimes(ctx, subaccounts, src, from, to, false, contacts)
	}
	known, err := s.actionContacts(ctx, subaccounts, src)
	if err != nil {
		return nil, err
	}
	if known == 0 || int64(len(prev))*4 < known {
		return s.FunnelTimes(ctx, subaccounts, src, from, to, false, contacts)
	}
	out := map[int64][]int64{}
	var before []int64
	err = s.firstTimes(ctx, subaccounts, src, to, func(contact, at int64) {
		p, ok := prev[contact]
		switch {
		case !ok:
		case at > p && at >= ms(from):
			out[contact] = []int64{at}
		default:
			before = append(before, contact)
		}
	})
	if err != nil || len(before) == 0 {
		return out, err
	}
	slices.Sort(before)
	times, err := s.FunnelTimes(ctx, subaccounts, src, from, to, false, before)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, times)
	return out, nil
}

// funnelFirsts answers a funnel's first step (each contact's first time
// of an action between from and to) from the contacts' first times of the
// action (tracking_firsts) when that reads fewer rows than the action's
// events in the period: a contact whose first time is in the period did
// it first then; one whose first time is before is read from its events
// in the period; one whose first time is after did not do it. ok is false
// when the events are fewer, or when most contacts began before the
// period: the caller reads the events then.
func (s *Store) funnelFirsts(ctx context.Context, subaccounts []int64, src FunnelSource, from, to time.Time) (map[int64][]int64, bool, error) {
	// The events in the period (the hourly rollup, whole hours), against
	// the sum of the monthly distinct contacts: at least the contacts with
	// a first time.
	w := actionWhere(&whereBuilder{}, subaccounts, src)
	w.add(`hour >= ` + w.arg(ms(from)/3_600_000))
	w.add(`hour <= ` + w.arg(ms(to)/3_600_000))
	var events int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(events), 0) FROM tracking_hourly`+w.sql(), w.args...).Scan(&events); err != nil {
		return nil, false, fmt.Errorf("funnel step: %w", err)
	}
	contacts, err := s.actionContacts(ctx, subaccounts, src)
	if err != nil {
		return nil, false, err
	}
	if contacts == 0 || events < 2*contacts {
		return nil, false, nil
	}
	out := map[int64][]int64{}
	var before []int64
	err = s.firstTimes(ctx, subaccounts, src, to, func(contact, at int64) {
		if at >= ms(from) {
			out[contact] = []int64{at}
		} else {
			before = append(before, contact)
		}
	})
	if err != nil {
		return nil, false, err
	}
	switch {
	case len(before) > len(out):
		return nil, false, nil
	case len(before) == 0:
		// Not FunnelTimes with no contacts: that is every contact's.
		return out, true, nil
	}
	slices.Sort(before)
	times, err := s.FunnelTimes(ctx, subaccounts, src, from, to, true, before)
	if err != nil {
		return nil, false, err
	}
	maps.Copy(out, times)
	return out, true, nil
}

func (s *Store) funnelRows(ctx context.Context, query string, args []any, out map[int64][]int64) error {
	return s.contactTimes(ctx, query, args, func(contact, at int64) { out[contact] = append(out[contact], at) })
}

// contactTimes runs a query of (contact, time) rows and hands each to fn.
func (s *Store) contactTimes(ctx context.Context, query string, args []any, fn func(contact, at int64)) error {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("funnel step: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var contact, at int64
		if err := rows.Scan(&contact, &at); err != nil {
			return err
		}
		fn(contact, at)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("funnel step: %w", err)
	}
	return nil
}

// BotMonth is a month's conversation figures of one bot (0: messages of
// no bot).
type BotMonth struct {
	BotID                   int64
	MAU, MEU                int64
	MessagesIn, MessagesOut int64
}

// conversationBot is the bot a message counts for: the one it carries (a
// bot's send, or a reply to one), else for an inbound message the router
// of its channel.
const conversationBot = `CASE WHEN m.bot_id IS NOT NULL THEN m.bot_id WHEN m.direction = 'mo' THEN COALESCE(r.id, 0) ELSE 0 END`

// ConversationFigures counts, between from and to, per bot: distinct
// contacts with any message (MAU), distinct contacts who wrote (MEU), and
// messages in and out. bot 0 counts every bot; total adds a row with BotID
// -1 counting contacts once across bots.
func (s *Store) ConversationFigures(ctx context.Context, subaccounts []int64, botID int64, from, to time.Time) ([]BotMonth, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return nil, nil
		}
		w.in(`m.subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	w.add(`m.at >= ` + w.arg(ms(from)))
	w.add(`m.at < ` + w.arg(ms(to)))
	if botID != 0 {
		w.add(conversationBot + ` = ` + w.arg(botID))
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+conversationBot+` AS b, COUNT(DISTINCT m.contact_id),
		COUNT(DISTINCT CASE WHEN m.direction = 'mo' THEN m.contact_id END),
		SUM(CASE WHEN m.direction = 'mo' THEN 1 ELSE 0 END), SUM(CASE WHEN m.direction = 'mt' THEN 1 ELSE 0 END)
		FROM messages m LEFT JOIN bots r ON r.channel_id = m.channel_id AND r.kind = 'router'`+w.sql()+`
		GROUP BY `+conversationBot+` ORDER BY 1`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("conversation figures: %w", err)
	}
	defer rows.Close()
	var out []BotMonth
	for rows.Next() {
		var b BotMonth
		if err := rows.Scan(&b.BotID, &b.MAU, &b.MEU, &b.MessagesIn, &b.MessagesOut); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// ConversationTotals is ConversationFigures for every bot at once: each
// contact counted once.
func (s *Store) ConversationTotals(ctx context.Context, subaccounts []int64, from, to time.Time) (BotMonth, error) {
	var b BotMonth
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return b, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	w.add(`at >= ` + w.arg(ms(from)))
	w.add(`at < ` + w.arg(ms(to)))
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(DISTINCT contact_id), COUNT(DISTINCT CASE WHEN direction = 'mo' THEN contact_id END),
		COALESCE(SUM(CASE WHEN direction = 'mo' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN direction = 'mt' THEN 1 ELSE 0 END), 0)
		FROM messages`+w.sql(), w.args...).Scan(&b.MAU, &b.MEU, &b.MessagesIn, &b.MessagesOut)
	if err != nil {
		return b, fmt.Errorf("conversation totals: %w", err)
	}
	b.BotID = -1
	return b, nil
}

// ContactActivity is one contact's messages in a period: the user details
// of the conversation metrics.
type ContactActivity struct {
	ContactID   int64     `json:"contact_id"`
	Phone       string    `json:"phone"`
	Name        string    `json:"name"`
	First       time.Time `json:"first_at"`
	Last        time.Time `json:"last_at"`
	MessagesIn  int64     `json:"messages_in"`
	MessagesOut int64     `json:"messages_out"`
}

// ConversationUsers lists the contacts with messages between from and to
// (of one bot, when botID is not 0), most active first, at most limit.
func (s *Store) ConversationUsers(ctx context.Context, subaccounts []int64, botID int64, from, to time.Time, limit int) ([]ContactActivity, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return nil, nil
		}
		w.in(`m.subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	w.add(`m.at >= ` + w.arg(ms(from)))
	w.add(`m.at < ` + w.arg(ms(to)))
	if botID != 0 {
		w.add(conversationBot + ` = ` + w.arg(botID))
	}
	rows, err := s.r.QueryContext(ctx, `SELECT a.contact_id, c.phone, c.name, a.first, a.last, a.mo, a.mt FROM (
		SELECT m.contact_id, MIN(m.at) AS first, MAX(m.at) AS last,
		  SUM(CASE WHEN m.direction = 'mo' THEN 1 ELSE 0 END) AS mo, SUM(CASE WHEN m.direction = 'mt' THEN 1 ELSE 0 END) AS mt
		FROM messages m LEFT JOIN bots r ON r.channel_id = m.channel_id AND r.kind = 'router'`+w.sql()+`
		GROUP BY m.contact_id) a JOIN contacts c ON c.id = a.contact_id
		ORDER BY a.mo + a.mt DESC, a.contact_id LIMIT `+w.arg(limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("conversation users: %w", err)
	}
	defer rows.Close()
	var out []ContactActivity
	for rows.Next() {
		var a ContactActivity
		var first, last int64
		if err := rows.Scan(&a.ContactID, &a.Phone, &a.Name, &first, &last, &a.MessagesIn, &a.MessagesOut); err != nil {
			return nil, err
		}
		a.First, a.Last = fromMS(first), fromMS(last)
		out = append(out, a)
	}
	return out, rows.Err()
}
