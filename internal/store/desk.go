package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// The help desk's SQL: teams, agents and their status log, pause reasons,
// tickets. The rules (who may, what moves where) are internal/desk's.

// CreateTeam creates a team with its members.
func (s *Store) CreateTeam(ctx context.Context, t *domain.Team) error {
	t.CreatedAt = s.Now().UTC().Truncate(time.Millisecond)
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO desk_teams (subaccount_id, channel_id, name, abandon_after_minutes, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			t.SubaccountID, nullIntPtr(t.ChannelID), t.Name, t.AbandonAfterMinutes, ms(t.CreatedAt)).Scan(&t.ID)
		if isUniqueViolation(err) {
			return domain.Errorf(domain.ECONFLICT, "a team named %q already exists", t.Name)
		}
		if isForeignKeyViolation(err) { // its channel was checked: what is missing is the subaccount
			return domain.Errorf(domain.EINVALID, "subaccount %d does not exist", t.SubaccountID)
		}
		if err != nil {
			return fmt.Errorf("create team: %w", err)
		}
		return s.setMembersTx(ctx, tx, t.ID, t.Members)
	})
}

// SetTeamMembers replaces a team's members.
func (s *Store) SetTeamMembers(ctx context.Context, teamID int64, users []int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM desk_team_members WHERE team_id = $1`, teamID); err != nil {
			return fmt.Errorf("clear members: %w", err)
		}
		return s.setMembersTx(ctx, tx, teamID, users)
	})
}

func (s *Store) setMembersTx(ctx context.Context, tx *sql.Tx, teamID int64, users []int64) error {
	for _, u := range users {
		if _, err := tx.ExecContext(ctx, `INSERT INTO desk_team_members (team_id, user_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, teamID, u); err != nil {
			if isForeignKeyViolation(err) {
				return domain.Errorf(domain.EINVALID, "user %d does not exist", u)
			}
			return fmt.Errorf("add member %d: %w", u, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO desk_agents (user_id) VALUES ($1) ON CONFLICT DO NOTHING`, u); err != nil {
			return fmt.Errorf("add agent %d: %w", u, err)
		}
	}
	return nil
}

// Teams lists the teams of the given subaccounts (all when nil), with their
// members.
func (s *Store) Teams(ctx context.Context, subaccounts []int64) ([]domain.Team, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return []domain.Team{}, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	rows, err := s.readQuery(ctx, `SELECT id, subaccount_id, channel_id, name, abandon_after_minutes, created_at
		FROM desk_teams`+w.sql()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	out := []domain.Team{}
	byID := map[int64]int{}
	for rows.Next() {
		var t domain.Team
		var ch sql.NullInt64
		var at int64
		if err := rows.Scan(&t.ID, &t.SubaccountID, &ch, &t.Name, &t.AbandonAfterMinutes, &at); err != nil {
			rows.Close()
			return nil, err
		}
		if ch.Valid {
			t.ChannelID = &ch.Int64
		}
		t.CreatedAt, t.Members = fromMS(at), []int64{}
		byID[t.ID] = len(out)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	mrows, err := s.readQuery(ctx, `SELECT team_id, user_id FROM desk_team_members ORDER BY team_id, user_id`)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var team, user int64
		if err := mrows.Scan(&team, &user); err != nil {
			return nil, err
		}
		if i, ok := byID[team]; ok {
			out[i].Members = append(out[i].Members, user)
		}
	}
	return out, mrows.Err()
}

// Team returns one team.
func (s *Store) Team(ctx context.Context, id int64) (*domain.Team, error) {
	all, err := s.Teams(ctx, nil)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].ID == id {
			return &all[i], nil
		}
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "team %d not found", id)
}

// TeamsOfUser returns the ids of the teams a user belongs to.
func (s *Store) TeamsOfUser(ctx context.Context, userID int64) ([]int64, error) {
	rows, err := s.readQuery(ctx, `SELECT team_id FROM desk_team_members WHERE user_id = $1 ORDER BY team_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("teams of user: %w", err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SetAgentLimit sets how many tickets an agent attends at once.
func (s *Store) SetAgentLimit(ctx context.Context, userID int64, max int) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO desk_agents (user_id, max_tickets) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET max_tickets = excluded.max_tickets`, userID, max)
	if isForeignKeyViolation(err) {
		return domain.Errorf(domain.ENOTFOUND, "user %d not found", userID)
	}
	return err
}

// SetAgentStatus records an agent's new status at at, appending it to the
// log. It reports false, and records nothing, when the agent already has
// that status and reason.
func (s *Store) SetAgentStatus(ctx context.Context, userID int64, status domain.AgentStatus, reason string, at time.Time) (bool, error) {
	changed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var cur, curReason string
		err := tx.QueryRowContext(ctx, `SELECT status, reason FROM desk_agents WHERE user_id = $1`, userID).Scan(&cur, &curReason)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read status: %w", err)
		}
		if errors.Is(err, sql.ErrNoRows) {
			cur = string(domain.AgentOffline)
		}
		if cur == string(status) && curReason == reason {
			return nil
		}
		changed = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO desk_agents (user_id, status, reason, since) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, since = excluded.since`,
			userID, string(status), reason, ms(at)); err != nil {
			if isForeignKeyViolation(err) {
				return domain.Errorf(domain.ENOTFOUND, "user %d not found", userID)
			}
			return fmt.Errorf("set status: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO desk_status_log (user_id, status, reason, at) VALUES ($1, $2, $3, $4)`,
			userID, string(status), reason, ms(at))
		return err
	})
	return changed, err
}

// Agents lists the users who attend the desk in any of the subaccounts
// (all when nil): agents, and anyone in a team, with their status, teams
// and open tickets.
func (s *Store) Agents(ctx context.Context, subaccounts []int64) ([]domain.Agent, error) {
	w := &whereBuilder{}
	w.add(`(u.role = 'agent' OR u.id IN (SELECT user_id FROM desk_team_members))`)
	w.add(`NOT u.disabled`)
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return []domain.Agent{}, nil
		}
		w.add(`u.id IN (SELECT user_id FROM user_subaccounts WHERE subaccount_id IN (` +
			w.list(len(subaccounts), func(i int) any { return subaccounts[i] }) + `))`)
	}
	return s.agents(ctx, w)
}

// Agent returns one user's desk state as Agents lists it, whatever their
// role (a supervisor at the desk too), or ENOTFOUND.
func (s *Store) Agent(ctx context.Context, userID int64) (*domain.Agent, error) {
	w := &whereBuilder{}
	w.add(`u.id = ` + w.arg(userID))
	list, err := s.agents(ctx, w)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, domain.Errorf(domain.ENOTFOUND, "user %d not found", userID)
	}
	return &list[0], nil
}

func (s *Store) agents(ctx context.Context, w *whereBuilder) ([]domain.Agent, error) {
	rows, err := s.readQuery(ctx, `SELECT u.id, u.name, u.email, COALESCE(a.max_tickets, 5), COALESCE(a.status, 'offline'),
		COALESCE(a.reason, ''), COALESCE(a.since, 0),
		(SELECT COUNT(*) FROM desk_tickets t WHERE t.agent_id = u.id AND t.state = 'open')
		FROM users u LEFT JOIN desk_agents a ON a.user_id = u.id`+w.sql()+` ORDER BY u.name, u.id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	out := []domain.Agent{}
	for rows.Next() {
		var a domain.Agent
		var status string
		var since int64
		if err := rows.Scan(&a.UserID, &a.Name, &a.Email, &a.MaxTickets, &status, &a.Reason, &since, &a.OpenTickets); err != nil {
			rows.Close()
			return nil, err
		}
		a.Status = domain.AgentStatus(status)
		if since > 0 {
			t := fromMS(since)
			a.Since = &t
		}
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Teams, err = s.TeamsOfUser(ctx, out[i].UserID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// StatusLog returns the status changes of users from from to to, preceded
// by each user's last change before from (the status the period starts
// in), in order of time.
func (s *Store) StatusLog(ctx context.Context, users []int64, from, to time.Time) ([]domain.StatusChange, error) {
	if len(users) == 0 {
		return nil, nil
	}
	a := &sqlArgs{}
	in := a.list(len(users), func(i int) any { return users[i] })
	f, t := a.arg(ms(from)), a.arg(ms(to))
	query := `SELECT l.user_id, l.status, l.reason, l.at FROM desk_status_log l
		WHERE l.user_id IN (` + in + `) AND l.at >= ` + f + ` AND l.at < ` + t + `
		UNION ALL
		SELECT l.user_id, l.status, l.reason, l.at FROM desk_status_log l
		WHERE l.user_id IN (` + in + `) AND l.id = (SELECT p.id FROM desk_status_log p
			WHERE p.user_id = l.user_id AND p.at < ` + f + ` ORDER BY p.at DESC, p.id DESC LIMIT 1)
		ORDER BY 4, 1`
	rows, err := s.readQuery(ctx, query, a.args...)
	if err != nil {
		return nil, fmt.Errorf("status log: %w", err)
	}
	defer rows.Close()
	var out []domain.StatusChange
	for rows.Next() {
		var c domain.StatusChange
		var status string
		var at int64
		if err := rows.Scan(&c.UserID, &status, &c.Reason, &at); err != nil {
			return nil, err
		}
		c.Status, c.At = domain.AgentStatus(status), fromMS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreatePauseReason adds a pause reason to a subaccount's list.
func (s *Store) CreatePauseReason(ctx context.Context, r *domain.PauseReason) error {
	err := s.w.QueryRowContext(ctx, `INSERT INTO desk_pause_reasons (subaccount_id, name) VALUES ($1, $2) RETURNING id`,
		r.SubaccountID, r.Name).Scan(&r.ID)
	if isUniqueViolation(err) {
		return domain.Errorf(domain.ECONFLICT, "the pause reason %q already exists", r.Name)
	}
	if isForeignKeyViolation(err) {
		return domain.Errorf(domain.EINVALID, "subaccount %d does not exist", r.SubaccountID)
	}
	return err
}

// PauseReasons lists the pause reasons of the subaccounts (all when nil).
func (s *Store) PauseReasons(ctx context.Context, subaccounts []int64) ([]domain.PauseReason, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return []domain.PauseReason{}, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	rows, err := s.readQuery(ctx, `SELECT id, subaccount_id, name FROM desk_pause_reasons`+w.sql()+` ORDER BY name, id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("pause reasons: %w", err)
	}
	defer rows.Close()
	out := []domain.PauseReason{}
	for rows.Next() {
		var r domain.PauseReason
		if err := rows.Scan(&r.ID, &r.SubaccountID, &r.Name); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeskInbound is a contact's message the desk routes to a ticket.
type DeskInbound struct {
	ID           int64
	SubaccountID int64
	ChannelID    int64
	ContactID    int64
	At           time.Time
}

const deskCursorKey = "desk.cursor"

// DeskCursor returns the id of the last message the desk routed, and
// whether there is one.
func (s *Store) DeskCursor(ctx context.Context) (int64, bool, error) {
	var v string
	err := s.readQueryRow(ctx, `SELECT value FROM kv WHERE key = $1`, deskCursorKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read desk cursor: %w", err)
	}
	id, err := strconv.ParseInt(v, 10, 64)
	return id, true, err
}

// SetDeskCursor moves the desk's cursor.
func (s *Store) SetDeskCursor(ctx context.Context, id int64) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO kv (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, deskCursorKey, strconv.FormatInt(id, 10))
	return err
}

// InboundAfter returns up to limit messages contacts sent, with ids after
// id, in order: what the desk has not routed yet.
func (s *Store) InboundAfter(ctx context.Context, id int64, limit int) ([]DeskInbound, error) {
	rows, err := s.readQuery(ctx, `SELECT id, subaccount_id, channel_id, contact_id, at FROM messages
		WHERE id > $1 AND direction = 'mo' AND subaccount_id <> $2 ORDER BY id LIMIT $3`,
		id, domain.UnassignedSubaccountID, limit)
	if err != nil {
		return nil, fmt.Errorf("inbound after %d: %w", id, err)
	}
	defer rows.Close()
	var out []DeskInbound
	for rows.Next() {
		var m DeskInbound
		var at int64
		if err := rows.Scan(&m.ID, &m.SubaccountID, &m.ChannelID, &m.ContactID, &at); err != nil {
			return nil, err
		}
		m.At = fromMS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// RouteInbound puts a contact's message in a ticket: the open one of the
// contact on that channel, or a new one — assigned to the agent whose
// active message (sent within the window before it) it answers, or else
// waiting in the channel's team queue. A message routed before changes
// nothing. It returns the ticket touched or opened (0 when no team takes
// it) and whether it is new.
func (s *Store) RouteInbound(ctx context.Context, m DeskInbound) (int64, bool, error) {
	var id int64
	created := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM desk_tickets WHERE contact_id = $1 AND channel_id = $2
			AND state IN ('waiting', 'open') ORDER BY id DESC LIMIT 1`, m.ContactID, m.ChannelID).Scan(&id)
		if err == nil {
			_, err = tx.ExecContext(ctx, `UPDATE desk_tickets SET last_activity_at = $1 WHERE id = $2 AND last_activity_at < $3`,
				ms(m.At), id, ms(m.At))
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("find open ticket: %w", err)
		}
		var active, agent int64
		err = tx.QueryRowContext(ctx, `SELECT m.id, m.sender_user_id FROM messages m
			WHERE m.contact_id = $1 AND m.channel_id = $2 AND m.origin = 'desk' AND m.direction = 'mt'
			  AND m.at <= $3 AND m.at > $4 AND m.state <> 'failed' AND m.sender_user_id IS NOT NULL
			  AND NOT EXISTS (SELECT 1 FROM desk_tickets t WHERE t.active_message_id = m.id)
			ORDER BY m.at DESC LIMIT 1`,
			m.ContactID, m.ChannelID, ms(m.At), ms(m.At.Add(-domain.ActiveWindow))).Scan(&active, &agent)
		var res sql.Result
		switch {
		case err == nil:
			res, err = tx.ExecContext(ctx, `INSERT INTO desk_tickets (subaccount_id, channel_id, contact_id, agent_id, state, origin,
				active_message_id, opened_by_message_id, opened_at, assigned_at, last_activity_at)
				VALUES ($1, $2, $3, $4, 'open', 'active_message', $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
				m.SubaccountID, m.ChannelID, m.ContactID, agent, active, m.ID, ms(m.At), ms(m.At), ms(m.At))
		case errors.Is(err, sql.ErrNoRows):
			var team int64
			err = tx.QueryRowContext(ctx, `SELECT id FROM desk_teams WHERE subaccount_id = $1 AND (channel_id = $2 OR channel_id IS NULL)
				ORDER BY channel_id IS NULL, id LIMIT 1`, m.SubaccountID, m.ChannelID).Scan(&team)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // no desk here
			}
			if err != nil {
				return fmt.Errorf("find team: %w", err)
			}
			res, err = tx.ExecContext(ctx, `INSERT INTO desk_tickets (subaccount_id, channel_id, contact_id, team_id, state, origin,
				opened_by_message_id, opened_at, last_activity_at)
				VALUES ($1, $2, $3, $4, 'waiting', 'inbound', $5, $6, $7) ON CONFLICT DO NOTHING`,
				m.SubaccountID, m.ChannelID, m.ContactID, team, m.ID, ms(m.At), ms(m.At))
		default:
			return fmt.Errorf("find active message: %w", err)
		}
		if err != nil {
			return fmt.Errorf("open ticket: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // routed before
		}
		if err := tx.QueryRowContext(ctx, `SELECT id, agent_id FROM desk_tickets WHERE opened_by_message_id = $1`, m.ID).
			Scan(&id, new(sql.NullInt64)); err != nil {
			return err
		}
		created = true
		d := deskDelta{}
		if err := s.track(ctx, tx, d, id, 1); err != nil {
			return err
		}
		if err := s.applyDesk(ctx, tx, d); err != nil {
			return err
		}
		if agent != 0 {
			return s.ticketEventTx(ctx, tx, id, m.At, "assigned", 0, agent, 0)
		}
		return nil
	})
	return id, created, err
}

func (s *Store) ticketEventTx(ctx context.Context, tx *sql.Tx, ticket int64, at time.Time, kind string, by, agent, team int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO desk_ticket_events (ticket_id, at, kind, by_user_id, agent_id, team_id)
		VALUES ($1, $2, $3, $4, $5, $6)`, ticket, ms(at), kind, nullInt(by), nullInt(agent), nullInt(team))
	if err != nil {
		return fmt.Errorf("ticket event: %w", err)
	}
	return nil
}

// Distribute gives waiting tickets, oldest first, to the online agents of
// their team who attend fewer than their limit, the least loaded first. It
// returns the tickets assigned.
func (s *Store) Distribute(ctx context.Context, at time.Time) ([]domain.Ticket, error) {
	// The router calls it after every batch of webhooks: a read first, so
	// that an empty queue does not take the writer from the ingestion.
	var one int
	err := s.readQueryRow(ctx, `SELECT 1 FROM desk_tickets WHERE state = 'waiting' AND team_id IS NOT NULL LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("waiting tickets: %w", err)
	}
	var assigned []int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, team_id FROM desk_tickets WHERE state = 'waiting' AND team_id IS NOT NULL
			ORDER BY opened_at, id LIMIT 500`)
		if err != nil {
			return fmt.Errorf("waiting tickets: %w", err)
		}
		type waiting struct{ id, team int64 }
		var queue []waiting
		for rows.Next() {
			var w waiting
			if err := rows.Scan(&w.id, &w.team); err != nil {
				rows.Close()
				return err
			}
			queue = append(queue, w)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(queue) == 0 {
			return err
		}
		d := deskDelta{}
		for _, w := range queue {
			var agent int64
			err := tx.QueryRowContext(ctx, `SELECT a.user_id FROM desk_agents a
				JOIN desk_team_members mb ON mb.user_id = a.user_id AND mb.team_id = $1
				WHERE a.status = 'online'
				  AND (SELECT COUNT(*) FROM desk_tickets t WHERE t.agent_id = a.user_id AND t.state = 'open') < a.max_tickets
				ORDER BY (SELECT COUNT(*) FROM desk_tickets t WHERE t.agent_id = a.user_id AND t.state = 'open'), a.since, a.user_id
				LIMIT 1`, w.team).Scan(&agent)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("pick agent: %w", err)
			}
			if err := s.track(ctx, tx, d, w.id, -1); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE desk_tickets SET agent_id = $1, state = 'open', assigned_at = $2
				WHERE id = $3 AND state = 'waiting'`, agent, ms(at), w.id); err != nil {
				return fmt.Errorf("assign ticket: %w", err)
			}
			if err := s.track(ctx, tx, d, w.id, 1); err != nil {
				return err
			}
			if err := s.ticketEventTx(ctx, tx, w.id, at, "assigned", 0, agent, w.team); err != nil {
				return err
			}
			assigned = append(assigned, w.id)
		}
		return s.applyDesk(ctx, tx, d)
	})
	if err != nil || len(assigned) == 0 {
		return nil, err
	}
	return s.Tickets(ctx, TicketFilter{IDs: assigned})
}

// AbandonIdle marks abandoned the waiting and open tickets with no
// activity for their team's idle time (idle for tickets of no team) and
// returns them.
func (s *Store) AbandonIdle(ctx context.Context, now time.Time, idle time.Duration) ([]domain.Ticket, error) {
	var ids []int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT t.id FROM desk_tickets t LEFT JOIN desk_teams tm ON tm.id = t.team_id
			WHERE t.state IN ('waiting', 'open')
			  AND t.last_activity_at < $1 - COALESCE(tm.abandon_after_minutes * 60000, $2)`, ms(now), idle.Milliseconds())
		if err != nil {
			return fmt.Errorf("idle tickets: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		d := deskDelta{}
		for _, id := range ids {
			if err := s.track(ctx, tx, d, id, -1); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE desk_tickets SET state = 'abandoned', closed_at = $1 WHERE id = $2`, ms(now), id); err != nil {
				return fmt.Errorf("abandon ticket: %w", err)
			}
			if err := s.track(ctx, tx, d, id, 1); err != nil {
				return err
			}
			if err := s.ticketEventTx(ctx, tx, id, now, "abandoned", 0, 0, 0); err != nil {
				return err
			}
		}
		return s.applyDesk(ctx, tx, d)
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return s.Tickets(ctx, TicketFilter{IDs: ids})
}

// TicketFilter selects tickets. Empty fields select everything.
type TicketFilter struct {
	Subaccounts []int64 // nil: every subaccount
	IDs         []int64
	State       domain.TicketState
	Active      bool // only waiting and open tickets
	// Agent, with Teams, is an agent's view: their own tickets, and the
	// waiting tickets of their teams.
	Agent     int64
	Teams     []int64
	AgentOnly int64 // only tickets of this agent
	TeamOnly  int64 // only tickets of this team
	Limit     int
}

const ticketColumns = `t.id, t.subaccount_id, t.channel_id, t.contact_id, COALESCE(NULLIF(c.name, ''), c.phone, ''), COALESCE(c.phone, ''),
	t.team_id, COALESCE(tm.name, ''), t.agent_id, COALESCE(NULLIF(u.name, ''), u.email, ''), t.state, t.origin, t.active_message_id,
	t.opened_at, t.assigned_at, t.first_response_at, t.closed_at, t.last_activity_at, t.tags`

const ticketFrom = ` FROM desk_tickets t LEFT JOIN contacts c ON c.id = t.contact_id
	LEFT JOIN desk_teams tm ON tm.id = t.team_id LEFT JOIN users u ON u.id = t.agent_id`

func scanTicket(row interface{ Scan(...any) error }) (*domain.Ticket, error) {
	var t domain.Ticket
	var team, agent, active, assigned, first, closed sql.NullInt64
	var state, tags string
	var opened, last int64
	if err := row.Scan(&t.ID, &t.SubaccountID, &t.ChannelID, &t.ContactID, &t.Contact, &t.ContactPhone, &team, &t.Team,
		&agent, &t.Agent, &state, &t.Origin, &active, &opened, &assigned, &first, &closed, &last, &tags); err != nil {
		return nil, err
	}
	if team.Valid {
		t.TeamID = &team.Int64
	}
	if agent.Valid {
		t.AgentID = &agent.Int64
	}
	if active.Valid {
		t.ActiveMessageID = &active.Int64
	}
	t.State, t.OpenedAt, t.LastActivityAt = domain.TicketState(state), fromMS(opened), fromMS(last)
	t.AssignedAt, t.FirstResponseAt, t.ClosedAt = ptrMS(assigned), ptrMS(first), ptrMS(closed)
	t.Tags = []string{}
	if tags != "" {
		t.Tags = strings.Split(tags, ",")
	}
	return &t, nil
}

// Tickets lists the tickets f selects, the newest first.
func (s *Store) Tickets(ctx context.Context, f TicketFilter) ([]domain.Ticket, error) {
	w := &whereBuilder{}
	if f.Subaccounts != nil {
		if len(f.Subaccounts) == 0 {
			return []domain.Ticket{}, nil
		}
		w.in(`t.subaccount_id`, len(f.Subaccounts), func(i int) any { return f.Subaccounts[i] })
	}
	if len(f.IDs) > 0 {
		w.in(`t.id`, len(f.IDs), func(i int) any { return f.IDs[i] })
	}
	if f.State != "" {
		w.add(`t.state = ` + w.arg(string(f.State)))
	}
	if f.Active {
		w.add(`t.state IN ('waiting', 'open')`)
	}
	if f.Agent != 0 {
		cond := `t.agent_id = ` + w.arg(f.Agent)
		if len(f.Teams) > 0 {
			cond = `(` + cond + ` OR (t.state = 'waiting' AND t.team_id IN (` + w.list(len(f.Teams), func(i int) any { return f.Teams[i] }) + `)))`
		}
		w.add(cond)
	}
	if f.AgentOnly != 0 {
		w.add(`t.agent_id = ` + w.arg(f.AgentOnly))
	}
	if f.TeamOnly != 0 {
		w.add(`t.team_id = ` + w.arg(f.TeamOnly))
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	rows, err := s.readQuery(ctx, `SELECT `+ticketColumns+ticketFrom+w.sql()+` ORDER BY t.opened_at DESC, t.id DESC LIMIT `+w.arg(limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	defer rows.Close()
	out := []domain.Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// Ticket returns one ticket.
func (s *Store) Ticket(ctx context.Context, id int64) (*domain.Ticket, error) {
	t, err := scanTicket(s.readQueryRow(ctx, `SELECT `+ticketColumns+ticketFrom+` WHERE t.id = $1`, id))
	if err != nil {
		return nil, notFound(err, "ticket", id)
	}
	return t, nil
}

// TicketEvents returns a ticket's history in order.
func (s *Store) TicketEvents(ctx context.Context, id int64) ([]domain.TicketEvent, error) {
	rows, err := s.readQuery(ctx, `SELECT at, kind, by_user_id, agent_id, team_id FROM desk_ticket_events
		WHERE ticket_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("ticket events: %w", err)
	}
	defer rows.Close()
	out := []domain.TicketEvent{}
	for rows.Next() {
		var e domain.TicketEvent
		var at int64
		var by, agent, team sql.NullInt64
		if err := rows.Scan(&at, &e.Kind, &by, &agent, &team); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		if by.Valid {
			e.ByUserID = &by.Int64
		}
		if agent.Valid {
			e.AgentID = &agent.Int64
		}
		if team.Valid {
			e.TeamID = &team.Int64
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// TransferTicket gives an active ticket to an agent (open) or to a team's
// queue (waiting, no agent).
func (s *Store) TransferTicket(ctx context.Context, id, agent, team, by int64, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		d := deskDelta{}
		if err := s.track(ctx, tx, d, id, -1); err != nil {
			return err
		}
		var res sql.Result
		var err error
		if agent != 0 {
			res, err = tx.ExecContext(ctx, `UPDATE desk_tickets SET agent_id = $1, team_id = COALESCE($2, team_id), state = 'open',
				assigned_at = COALESCE(assigned_at, $3), last_activity_at = $4 WHERE id = $5 AND state IN ('waiting', 'open')`,
				agent, nullInt(team), ms(at), ms(at), id)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE desk_tickets SET agent_id = NULL, team_id = $1, state = 'waiting', last_activity_at = $2
				WHERE id = $3 AND state IN ('waiting', 'open')`, team, ms(at), id)
		}
		if err != nil {
			return fmt.Errorf("transfer ticket: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.Errorf(domain.ECONFLICT, "ticket %d is no longer open", id)
		}
		if err := s.track(ctx, tx, d, id, 1); err != nil {
			return err
		}
		if err := s.applyDesk(ctx, tx, d); err != nil {
			return err
		}
		return s.ticketEventTx(ctx, tx, id, at, "transferred", by, agent, team)
	})
}

// CloseTicket closes an active ticket with its tags.
func (s *Store) CloseTicket(ctx context.Context, id int64, tags []string, by int64, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		d := deskDelta{}
		if err := s.track(ctx, tx, d, id, -1); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE desk_tickets SET state = 'closed', closed_at = $1, tags = $2, last_activity_at = $3
			WHERE id = $4 AND state IN ('waiting', 'open')`, ms(at), strings.Join(tags, ","), ms(at), id)
		if err != nil {
			return fmt.Errorf("close ticket: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.Errorf(domain.ECONFLICT, "ticket %d is no longer open", id)
		}
		for _, tag := range tags {
			if _, err := tx.ExecContext(ctx, `INSERT INTO desk_ticket_tags (ticket_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, tag); err != nil {
				return fmt.Errorf("tag ticket: %w", err)
			}
		}
		if err := s.track(ctx, tx, d, id, 1); err != nil {
			return err
		}
		if err := s.applyDesk(ctx, tx, d); err != nil {
			return err
		}
		return s.ticketEventTx(ctx, tx, id, at, "closed", by, 0, 0)
	})
}

// TicketAnswered records an agent's answer on a ticket: the first one is
// its first response.
func (s *Store) TicketAnswered(ctx context.Context, id int64, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		d := deskDelta{}
		if err := s.track(ctx, tx, d, id, -1); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE desk_tickets SET first_response_at = COALESCE(first_response_at, $1),
			last_activity_at = $2 WHERE id = $3`, ms(at), ms(at), id); err != nil {
			return err
		}
		if err := s.track(ctx, tx, d, id, 1); err != nil {
			return err
		}
		return s.applyDesk(ctx, tx, d)
	})
}

// Conversation returns up to limit of the latest messages between a
// contact and a channel, oldest first.
func (s *Store) Conversation(ctx context.Context, contactID, channelID int64, limit int) ([]domain.Message, error) {
	rows, err := s.readQuery(ctx, `SELECT `+messageColumns+messageFrom+`
		WHERE m.contact_id = $1 AND m.channel_id = $2 ORDER BY m.at DESC, m.id DESC LIMIT $3`, contactID, channelID, limit)
	if err != nil {
		return nil, fmt.Errorf("conversation: %w", err)
	}
	defer rows.Close()
	var out []domain.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, rows.Err()
}

// ActiveMessage is an agent's message sent from the desk, not yet answered.
type ActiveMessage struct {
	ID           int64
	SenderUserID int64
	SubaccountID int64
	ChannelID    int64
	ContactID    int64
	To           string
	Template     string
	State        domain.State
	ErrorCode    int
	ErrorTitle   string
	ErrorDetail  string
	ErrorArgs    []string
	Status       domain.Status
	At           time.Time
}

// ActiveMessages returns the messages an agent sent from the desk since
// since that no ticket came from, the newest first.
func (s *Store) ActiveMessages(ctx context.Context, userID int64, since time.Time) ([]ActiveMessage, error) {
	return s.activeMessages(ctx, `m.sender_user_id = $1 AND m.origin = 'desk' AND m.at >= $2
		AND NOT EXISTS (SELECT 1 FROM desk_tickets t WHERE t.active_message_id = m.id)
		ORDER BY m.at DESC, m.id DESC LIMIT 500`, userID, ms(since))
}

// DeskMessageStates returns the id and state of every message sent from
// the desk since since, read from an index alone: the router compares
// them with the last poll's and reads whole rows only for those that
// moved (DeskMessages).
func (s *Store) DeskMessageStates(ctx context.Context, since time.Time) (map[int64]domain.State, error) {
	rows, err := s.readQuery(ctx, `SELECT id, state FROM messages WHERE origin = 'desk' AND at >= $1`, ms(since))
	if err != nil {
		return nil, fmt.Errorf("desk message states: %w", err)
	}
	defer rows.Close()
	out := map[int64]domain.State{}
	for rows.Next() {
		var id int64
		var state string
		if err := rows.Scan(&id, &state); err != nil {
			return nil, err
		}
		out[id] = domain.State(state)
	}
	return out, rows.Err()
}

// DeskMessages returns the desk messages of ids.
func (s *Store) DeskMessages(ctx context.Context, ids []int64) ([]ActiveMessage, error) {
	var out []ActiveMessage
	for len(ids) > 0 {
		n := min(len(ids), 500)
		w := &whereBuilder{}
		w.add(`m.origin = 'desk'`)
		w.in(`m.id`, n, func(i int) any { return ids[i] })
		list, err := s.activeMessages(ctx, w.and(), w.args...)
		if err != nil {
			return nil, err
		}
		out, ids = append(out, list...), ids[n:]
	}
	return out, nil
}

func (s *Store) activeMessages(ctx context.Context, where string, args ...any) ([]ActiveMessage, error) {
	rows, err := s.readQuery(ctx, `SELECT m.id, COALESCE(m.sender_user_id, 0), m.subaccount_id, m.channel_id, m.contact_id,
		m.phone, m.template_name, m.state, m.status, m.error_code, m.error_title, m.error_detail, m.error_args, m.at
		FROM messages m WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("active messages: %w", err)
	}
	defer rows.Close()
	out := []ActiveMessage{}
	for rows.Next() {
		var a ActiveMessage
		var state, status, args string
		var at int64
		if err := rows.Scan(&a.ID, &a.SenderUserID, &a.SubaccountID, &a.ChannelID, &a.ContactID, &a.To, &a.Template, &state, &status,
			&a.ErrorCode, &a.ErrorTitle, &a.ErrorDetail, &args, &at); err != nil {
			return nil, err
		}
		a.State, a.Status, a.At, a.ErrorArgs = domain.State(state), domain.Status(status), fromMS(at), decodeArgs(args)
		out = append(out, a)
	}
	return out, rows.Err()
}

// TicketRow is one ticket's figures for the attendance metrics.
type TicketRow struct {
	SubaccountID    int64
	TeamID          int64 // 0: none
	AgentID         int64 // 0: none
	State           domain.TicketState
	Origin          string
	OpenedAt        int64 // unix ms
	AssignedAt      int64 // 0 when never
	FirstResponseAt int64
	ClosedAt        int64
	Tags            string
}

// TicketRows calls fn for every ticket of the subaccounts (all when nil)
// opened from from to to, optionally of one team or agent.
func (s *Store) TicketRows(ctx context.Context, subaccounts []int64, from, to time.Time, team, agent int64, fn func(*TicketRow)) error {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	w.add(`opened_at >= ` + w.arg(ms(from)))
	w.add(`opened_at < ` + w.arg(ms(to)))
	if team != 0 {
		w.add(`team_id = ` + w.arg(team))
	}
	if agent != 0 {
		w.add(`agent_id = ` + w.arg(agent))
	}
	rows, err := s.readQuery(ctx, `SELECT `+ticketRowColumns+` FROM desk_tickets`+w.sql(), w.args...)
	if err != nil {
		return fmt.Errorf("ticket rows: %w", err)
	}
	defer rows.Close()
	var r TicketRow
	for rows.Next() {
		if err := scanTicketRow(rows, &r); err != nil {
			return err
		}
		fn(&r)
	}
	return rows.Err()
}

// ActiveMessagesSent counts the messages sent from the desk from from to
// to in the subaccounts (all when nil), optionally by one agent.
func (s *Store) ActiveMessagesSent(ctx context.Context, subaccounts []int64, from, to time.Time, agent int64) (int64, error) {
	w := &whereBuilder{}
	w.add(`origin = 'desk'`)
	w.add(`direction = 'mt'`)
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return 0, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	w.add(`at >= ` + w.arg(ms(from)))
	w.add(`at < ` + w.arg(ms(to)))
	if agent != 0 {
		w.add(`sender_user_id = ` + w.arg(agent))
	}
	var n int64
	err := s.readQueryRow(ctx, `SELECT COUNT(*) FROM messages`+w.sql(), w.args...).Scan(&n)
	return n, err
}

// readQuery runs a read as a cached statement: the desk's pages and its
// router run the same few queries many times a second, and SQLite spends
// more time parsing a small query than running it.
func (s *Store) readQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// readQueryRow is readQuery for a single row.
func (s *Store) readQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return s.r.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}
