package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// scopeIDs returns the subaccounts of a scope: itself, or every
// subaccount for nil, so that reads use the indexes that start with
// subaccount_id.
func (s *Store) scopeIDs(ctx context.Context, scope []int64) ([]int64, error) {
	if scope != nil {
		return scope, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM subaccounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("subaccount ids: %w", err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// NotificationUsersRow is one line of the report manager's notifications
// users table: the outbound messages of one template and bot in a period.
type NotificationUsersRow struct {
	Template                               string
	BotID                                  int64 // 0: sent by a user or a campaign without an API token
	Sent, Failed, Delivered, Read, Replied int64
}

// NotificationUsers groups the outbound messages of scope (nil: all) in
// [from, to) by template and bot, counting them, the failed ones, those
// delivered, read and replied to (an inbound message quoting them).
func (s *Store) NotificationUsers(ctx context.Context, scope []int64, from, to time.Time) ([]NotificationUsersRow, error) {
	ids, err := s.scopeIDs(ctx, scope)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	w := &whereBuilder{}
	w.in(`m.subaccount_id`, len(ids), func(i int) any { return ids[i] })
	w.add(`m.direction = 'mt'`)
	w.add(`m.at >= ` + w.arg(ms(from)))
	w.add(`m.at < ` + w.arg(ms(to)))
	rows, err := s.r.QueryContext(ctx, `SELECT m.template_name, COALESCE(m.bot_id, 0), COUNT(*),
		SUM(CASE WHEN m.state = 'failed' THEN 1 ELSE 0 END),
		SUM(CASE WHEN m.delivered_at IS NOT NULL THEN 1 ELSE 0 END),
		SUM(CASE WHEN m.read_at IS NOT NULL THEN 1 ELSE 0 END),
		SUM(CASE WHEN m.wamid IS NOT NULL AND EXISTS (SELECT 1 FROM messages r WHERE r.context_wamid = m.wamid AND r.context_wamid <> '') THEN 1 ELSE 0 END)
		FROM messages m`+w.sql()+` GROUP BY m.template_name, COALESCE(m.bot_id, 0) ORDER BY 1, 2`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("notification users: %w", err)
	}
	defer rows.Close()
	var out []NotificationUsersRow
	for rows.Next() {
		var r NotificationUsersRow
		if err := rows.Scan(&r.Template, &r.BotID, &r.Sent, &r.Failed, &r.Delivered, &r.Read, &r.Replied); err != nil {
			return nil, fmt.Errorf("notification users: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// hourWindows cuts [from, to) into windows of at most an hour, so that a
// long extraction reads with many short statements: no read transaction
// (and on SQLite no WAL snapshot) spans it, and each window's rows come
// sorted from the index without a large sort.
func hourWindows(from, to time.Time) [][2]int64 {
	var out [][2]int64
	lo, hi := ms(from), ms(to)
	for lo < hi {
		next := min(hi, (lo/hourMS+1)*hourMS)
		out = append(out, [2]int64{lo, next})
		lo = next
	}
	return out
}

// TrackRow is one event track as the report manager extracts it; the
// reader reuses it between rows.
type TrackRow struct {
	At               time.Time
	BotID            int64
	Category, Action string
	Phone            string
	Extras           string
}

// EventTracks reads every event track of scope (nil: all) in [from, to),
// oldest first, and hands each to emit until it returns an error.
func (s *Store) EventTracks(ctx context.Context, scope []int64, from, to time.Time, emit func(*TrackRow) error) error {
	ids, err := s.scopeIDs(ctx, scope)
	if err != nil || len(ids) == 0 {
		return err
	}
	var row TrackRow
	for _, win := range hourWindows(from, to) {
		w := &whereBuilder{}
		w.in(`e.subaccount_id`, len(ids), func(i int) any { return ids[i] })
		w.add(`e.at >= ` + w.arg(win[0]))
		w.add(`e.at < ` + w.arg(win[1]))
		err := func() error {
			rows, err := s.r.QueryContext(ctx, `SELECT e.at, e.bot_id, e.category, e.action, COALESCE(c.phone, ''), e.extras
				FROM tracking_events e LEFT JOIN contacts c ON c.id = e.contact_id`+w.sql()+` ORDER BY e.at, e.id`, w.args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var at int64
				if err := rows.Scan(&at, &row.BotID, &row.Category, &row.Action, &row.Phone, &row.Extras); err != nil {
					return err
				}
				row.At = fromMS(at)
				if err := emit(&row); err != nil {
					return err
				}
			}
			return rows.Err()
		}()
		if err != nil {
			return fmt.Errorf("event tracks: %w", err)
		}
	}
	return nil
}

// ConversationRow is one conversation of the report manager's
// conversations details: its messages in the period.
type ConversationRow struct {
	ConversationID   string
	Started          time.Time // its first message in the period
	WABAID, Phone    string
	BotID            int64
	ConversationType string
	Sent, Received   int64
}

// ConversationDetails reads the conversations of scope (nil: all) that
// have messages in [from, to), in the order of their first message there,
// and hands each to emit until it returns an error.
func (s *Store) ConversationDetails(ctx context.Context, scope []int64, from, to time.Time, emit func(*ConversationRow) error) error {
	ids, err := s.scopeIDs(ctx, scope)
	if err != nil || len(ids) == 0 {
		return err
	}
	w := &whereBuilder{}
	w.in(`m.subaccount_id`, len(ids), func(i int) any { return ids[i] })
	w.add(`m.at >= ` + w.arg(ms(from)))
	w.add(`m.at < ` + w.arg(ms(to)))
	w.add(`m.conversation_id IS NOT NULL`)
	rows, err := s.r.QueryContext(ctx, `SELECT g.conversation_id, g.started, ch.waba_id, c.phone, g.bot, g.conversation_type, g.sent, g.received
		FROM (SELECT m.conversation_id, m.channel_id, m.contact_id, MIN(m.at) AS started, COALESCE(MAX(m.bot_id), 0) AS bot,
			MAX(m.conversation_type) AS conversation_type,
			SUM(CASE WHEN m.direction = 'mt' THEN 1 ELSE 0 END) AS sent, SUM(CASE WHEN m.direction = 'mo' THEN 1 ELSE 0 END) AS received
			FROM messages m`+w.sql()+` GROUP BY m.conversation_id, m.channel_id, m.contact_id) g
		JOIN channels ch ON ch.id = g.channel_id JOIN contacts c ON c.id = g.contact_id
		ORDER BY g.started, g.conversation_id`, w.args...)
	if err != nil {
		return fmt.Errorf("conversation details: %w", err)
	}
	defer rows.Close()
	var r ConversationRow
	for rows.Next() {
		var started int64
		if err := rows.Scan(&r.ConversationID, &started, &r.WABAID, &r.Phone, &r.BotID, &r.ConversationType, &r.Sent, &r.Received); err != nil {
			return fmt.Errorf("conversation details: %w", err)
		}
		r.Started = fromMS(started)
		if err := emit(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ChannelActivity is one channel's users and messages in a period: the
// report manager's conversations summary, a month at a time.
type ChannelActivity struct {
	ChannelID int64
	Channel   string // the channel's name
	Router    string // the name of the router bot that answers it, if any
	Active    int64  // contacts with a message either way (MAU)
	Engaged   int64  // contacts who sent one (MEU)
	Messages  int64
}

// ChannelActivity counts, per channel of scope (nil: all), the contacts
// with a message in [from, to), those who sent one, and the messages.
func (s *Store) ChannelActivity(ctx context.Context, scope []int64, from, to time.Time) ([]ChannelActivity, error) {
	ids, err := s.scopeIDs(ctx, scope)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	w := &whereBuilder{}
	w.in(`m.subaccount_id`, len(ids), func(i int) any { return ids[i] })
	w.add(`m.at >= ` + w.arg(ms(from)))
	w.add(`m.at < ` + w.arg(ms(to)))
	rows, err := s.r.QueryContext(ctx, `SELECT g.channel_id, ch.name, COALESCE(b.name, ''), g.active, g.engaged, g.messages
		FROM (SELECT m.channel_id, COUNT(DISTINCT m.contact_id) AS active,
			COUNT(DISTINCT CASE WHEN m.direction = 'mo' THEN m.contact_id END) AS engaged, COUNT(*) AS messages
			FROM messages m`+w.sql()+` GROUP BY m.channel_id) g
		JOIN channels ch ON ch.id = g.channel_id LEFT JOIN bots b ON b.channel_id = g.channel_id AND b.kind = 'router'
		ORDER BY ch.name, g.channel_id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("channel activity: %w", err)
	}
	defer rows.Close()
	var out []ChannelActivity
	for rows.Next() {
		var a ChannelActivity
		if err := rows.Scan(&a.ChannelID, &a.Channel, &a.Router, &a.Active, &a.Engaged, &a.Messages); err != nil {
			return nil, fmt.Errorf("channel activity: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// UserRow is one contact of the report manager's user details: its
// messages in the period.
type UserRow struct {
	First, Last    time.Time
	BotID          int64
	Phone, WAID    string
	Sent, Received int64
}

// UserDetails reads the contacts of scope (nil: all) with messages in
// [from, to), in the order of their first message there, and hands each
// to emit until it returns an error.
func (s *Store) UserDetails(ctx context.Context, scope []int64, from, to time.Time, emit func(*UserRow) error) error {
	ids, err := s.scopeIDs(ctx, scope)
	if err != nil || len(ids) == 0 {
		return err
	}
	w := &whereBuilder{}
	w.in(`m.subaccount_id`, len(ids), func(i int) any { return ids[i] })
	w.add(`m.at >= ` + w.arg(ms(from)))
	w.add(`m.at < ` + w.arg(ms(to)))
	rows, err := s.r.QueryContext(ctx, `SELECT g.first_at, g.last_at, g.bot, c.phone, c.wa_id, g.sent, g.received
		FROM (SELECT m.contact_id, MIN(m.at) AS first_at, MAX(m.at) AS last_at, COALESCE(MAX(m.bot_id), 0) AS bot,
			SUM(CASE WHEN m.direction = 'mt' THEN 1 ELSE 0 END) AS sent, SUM(CASE WHEN m.direction = 'mo' THEN 1 ELSE 0 END) AS received
			FROM messages m`+w.sql()+` GROUP BY m.contact_id) g
		JOIN contacts c ON c.id = g.contact_id
		ORDER BY g.first_at, g.contact_id`, w.args...)
	if err != nil {
		return fmt.Errorf("user details: %w", err)
	}
	defer rows.Close()
	var r UserRow
	for rows.Next() {
		var first, last int64
		if err := rows.Scan(&first, &last, &r.BotID, &r.Phone, &r.WAID, &r.Sent, &r.Received); err != nil {
			return fmt.Errorf("user details: %w", err)
		}
		r.First, r.Last = fromMS(first), fromMS(last)
		if err := emit(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// TicketExtractRow is one ticket as the report manager's attendance
// metrics extract it: the raw ticket, with its team's, agent's, channel's
// and contact's names. The reader reuses it between rows.
type TicketExtractRow struct {
	ID                          int64
	Channel, Team, Agent        string
	Contact, Phone              string
	State, Origin               string
	OpenedAt                    time.Time
	AssignedAt, FirstResponseAt *time.Time
	ClosedAt                    *time.Time
	Tags                        string // comma-separated
}

// AttendanceTickets reads the tickets of scope (nil: all) opened in
// [from, to), oldest first, and hands each to emit until it returns an
// error.
func (s *Store) AttendanceTickets(ctx context.Context, scope []int64, from, to time.Time, emit func(*TicketExtractRow) error) error {
	ids, err := s.scopeIDs(ctx, scope)
	if err != nil || len(ids) == 0 {
		return err
	}
	w := &whereBuilder{}
	w.in(`t.subaccount_id`, len(ids), func(i int) any { return ids[i] })
	w.add(`t.opened_at >= ` + w.arg(ms(from)))
	w.add(`t.opened_at < ` + w.arg(ms(to)))
	rows, err := s.r.QueryContext(ctx, `SELECT t.id, COALESCE(ch.name, ''), COALESCE(tm.name, ''), COALESCE(NULLIF(u.name, ''), u.email, ''),
		COALESCE(c.name, ''), COALESCE(c.phone, ''), t.state, t.origin, t.opened_at, t.assigned_at, t.first_response_at, t.closed_at, t.tags
		FROM desk_tickets t LEFT JOIN channels ch ON ch.id = t.channel_id LEFT JOIN desk_teams tm ON tm.id = t.team_id
		LEFT JOIN users u ON u.id = t.agent_id LEFT JOIN contacts c ON c.id = t.contact_id`+w.sql()+`
		ORDER BY t.opened_at, t.id`, w.args...)
	if err != nil {
		return fmt.Errorf("attendance tickets: %w", err)
	}
	defer rows.Close()
	var r TicketExtractRow
	for rows.Next() {
		var opened int64
		var assigned, first, closed sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Channel, &r.Team, &r.Agent, &r.Contact, &r.Phone, &r.State, &r.Origin, &opened,
			&assigned, &first, &closed, &r.Tags); err != nil {
			return fmt.Errorf("attendance tickets: %w", err)
		}
		r.OpenedAt = fromMS(opened)
		r.AssignedAt, r.FirstResponseAt, r.ClosedAt = ptrMS(assigned), ptrMS(first), ptrMS(closed)
		if err := emit(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// HistoryRow is one message of a ticket's conversation, as the report
// manager's attendance history extracts it. The reader reuses it.
type HistoryRow struct {
	TicketID     int64
	Team, Agent  string
	Phone        string
	At           time.Time
	Direction    domain.Direction
	Sender       string // the user who sent an outbound message, if one did
	BotID        int64  // the API token that sent it, if one did
	ContentType  string
	Text         string
	TemplateName string
}

// AttendanceHistory reads the conversations of the tickets of scope (nil:
// all) opened in [from, to), ticket after ticket in the order they were
// opened: each ticket's messages between its contact and channel, from
// the active message it answers (or its opening) to its close (or, while
// it is active, its last activity), oldest first. It hands each to emit
// until it returns an error.
func (s *Store) AttendanceHistory(ctx context.Context, scope []int64, from, to time.Time, emit func(*HistoryRow) error) error {
	ids, err := s.scopeIDs(ctx, scope)
	if err != nil || len(ids) == 0 {
		return err
	}
	w := &whereBuilder{}
	w.in(`t.subaccount_id`, len(ids), func(i int) any { return ids[i] })
	w.add(`t.opened_at >= ` + w.arg(ms(from)))
	w.add(`t.opened_at < ` + w.arg(ms(to)))
	rows, err := s.r.QueryContext(ctx, `SELECT t.id, COALESCE(tm.name, ''), COALESCE(NULLIF(u.name, ''), u.email, ''), COALESCE(c.phone, ''),
		m.at, m.direction, COALESCE(NULLIF(su.name, ''), su.email, ''), COALESCE(m.bot_id, 0), m.content_type, m.text, m.template_name
		FROM desk_tickets t LEFT JOIN messages am ON am.id = t.active_message_id
		JOIN messages m ON m.contact_id = t.contact_id AND m.channel_id = t.channel_id
			AND m.at >= COALESCE(am.at, t.opened_at) AND m.at <= COALESCE(t.closed_at, t.last_activity_at)
		LEFT JOIN desk_teams tm ON tm.id = t.team_id LEFT JOIN users u ON u.id = t.agent_id
		LEFT JOIN contacts c ON c.id = t.contact_id LEFT JOIN users su ON su.id = m.sender_user_id`+w.sql()+`
		ORDER BY t.opened_at, t.id, m.at, m.id`, w.args...)
	if err != nil {
		return fmt.Errorf("attendance history: %w", err)
	}
	defer rows.Close()
	var r HistoryRow
	for rows.Next() {
		var at int64
		var dir string
		if err := rows.Scan(&r.TicketID, &r.Team, &r.Agent, &r.Phone, &at, &dir, &r.Sender, &r.BotID, &r.ContentType,
			&r.Text, &r.TemplateName); err != nil {
			return fmt.Errorf("attendance history: %w", err)
		}
		r.At, r.Direction = fromMS(at), domain.Direction(dir)
		if err := emit(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}
