package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// DeskHistoryOptions describe the help desk's past for a history of
// messages already written (the demo's): one team on one channel.
type DeskHistoryOptions struct {
	SubaccountID, ChannelID, TeamID int64
	Agents                          []int64 // the team's agents
	From, To                        time.Time
	Tags                            []string
	Seed                            uint64
}

// DeskHistoryResult counts what WriteDeskHistory wrote.
type DeskHistoryResult struct {
	Tickets, FromActive, ActiveMessages int
}

// deskPastTicket is a ticket of the history, before it is written.
type deskPastTicket struct {
	row              TicketRow
	contact, opener  int64
	active           int64
	closeAt, lastAct int64
}

// WriteDeskHistory gives a history of messages its help desk: the
// templates the team's agents sent become active messages sent from the
// desk, and the contacts' messages open tickets as the router would have
// (one per contact at a time; for the agent whose active message the
// contact answers within its window, else in the team's queue, taken by
// one of its agents). Their first response is the agent's first message
// after the opening when there is one; they were closed with tags or,
// some, abandoned — all before To. It keeps the metrics' rollup as it
// writes, and writing it again changes nothing (a ticket is known by the
// message that opened it).
func (s *Store) WriteDeskHistory(ctx context.Context, o DeskHistoryOptions) (*DeskHistoryResult, error) {
	res := &DeskHistoryResult{}
	if len(o.Agents) == 0 {
		return res, nil
	}
	r := rand.New(rand.NewPCG(o.Seed, 16))
	isAgent := map[int64]bool{}
	for _, a := range o.Agents {
		isAgent[a] = true
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, direction, origin, contact_id, COALESCE(sender_user_id, 0), content_type, at FROM messages
		WHERE subaccount_id = $1 AND direction IN ('mt', 'mo') AND at >= $2 AND at < $3 AND channel_id = $4
		  AND contact_id IS NOT NULL AND (direction = 'mo' OR sender_user_id IS NOT NULL) ORDER BY at, id`,
		o.SubaccountID, ms(o.From), ms(o.To), o.ChannelID)
	if err != nil {
		return nil, fmt.Errorf("desk history: %w", err)
	}
	type sent struct{ id, agent, at int64 }
	var actives []int64
	lastActive := map[int64]sent{}
	open := map[int64]*deskPastTicket{}
	var tickets []*deskPastTicket
	end := ms(o.To)
	for rows.Next() {
		var id, contact, sender, at int64
		var dir, origin, ctype string
		if err := rows.Scan(&id, &dir, &origin, &contact, &sender, &ctype, &at); err != nil {
			rows.Close()
			return nil, err
		}
		t := open[contact]
		if t != nil && at >= t.closeAt {
			delete(open, contact)
			t = nil
		}
		if dir == "mt" {
			if !isAgent[sender] {
				continue
			}
			if ctype == "template" && (origin == "api" || origin == "desk") {
				actives = append(actives, id)
				lastActive[contact] = sent{id, sender, at}
			}
			if t != nil && t.row.State == domain.TicketClosed && t.row.FirstResponseAt == 0 && at > t.row.AssignedAt {
				t.row.FirstResponseAt, t.row.AgentID = at, sender
			}
			continue
		}
		if t != nil {
			t.lastAct = max(t.lastAct, at)
			continue
		}
		t = &deskPastTicket{contact: contact, opener: id, lastAct: at}
		t.row = TicketRow{SubaccountID: o.SubaccountID, OpenedAt: at, Origin: domain.TicketFromInbound}
		if a, ok := lastActive[contact]; ok && at-a.at < domain.ActiveWindow.Milliseconds() {
			delete(lastActive, contact)
			t.active, t.row.AgentID, t.row.AssignedAt, t.row.Origin = a.id, a.agent, at, domain.TicketFromActiveMessage
		} else {
			t.row.TeamID, t.row.AgentID = o.TeamID, o.Agents[r.IntN(len(o.Agents))]
			t.row.AssignedAt = at + 1000*(5+r.Int64N(r.Int64N(900)+1))
		}
		if r.IntN(100) < 7 {
			t.row.State = domain.TicketAbandoned
			t.closeAt = at + 30*60_000
			if r.IntN(2) == 0 {
				t.row.FirstResponseAt = t.row.AssignedAt + 1000*(10+r.Int64N(300))
			}
		} else {
			t.row.State = domain.TicketClosed
			t.closeAt = t.row.AssignedAt + 1000*(180+r.Int64N(r.Int64N(2400)+1))
			tags := []string{o.Tags[r.IntN(len(o.Tags))]}
			if r.IntN(3) == 0 {
				if tag := o.Tags[r.IntN(len(o.Tags))]; tag != tags[0] {
					tags = append(tags, tag)
				}
			}
			t.row.Tags = strings.Join(tags, ",")
		}
		if t.closeAt >= end {
			continue // still open when the history ends: the live desk has it
		}
		open[contact] = t
		tickets = append(tickets, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, t := range tickets {
		if t.row.State == domain.TicketClosed {
			if t.row.FirstResponseAt == 0 || t.row.FirstResponseAt >= t.closeAt {
				t.row.FirstResponseAt = t.row.AssignedAt + 1000*(10+r.Int64N(300))
			}
			t.closeAt = max(t.closeAt, t.row.FirstResponseAt+60_000, t.lastAct+60_000)
			if t.closeAt >= end {
				t.closeAt = end - 1
			}
		}
		t.row.ClosedAt = t.closeAt
	}
	// The agents' templates were sent from the desk.
	for batch := range slices.Chunk(actives, 500) {
		w := &whereBuilder{}
		w.in(`id`, len(batch), func(i int) any { return batch[i] })
		if _, err := s.w.ExecContext(ctx, `UPDATE messages SET origin = 'desk'`+w.sql()+` AND origin <> 'desk'`, w.args...); err != nil {
			return nil, fmt.Errorf("desk history: active messages: %w", err)
		}
	}
	res.ActiveMessages = len(actives)
	for batch := range slices.Chunk(tickets, 500) {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			d := deskDelta{}
			for _, t := range batch {
				var id int64
				err := tx.QueryRowContext(ctx, `INSERT INTO desk_tickets (subaccount_id, channel_id, contact_id, team_id, agent_id, state,
					origin, active_message_id, opened_by_message_id, opened_at, assigned_at, first_response_at, closed_at, last_activity_at, tags)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING RETURNING id`,
					o.SubaccountID, o.ChannelID, t.contact, nullInt(t.row.TeamID), nullInt(t.row.AgentID), string(t.row.State),
					t.row.Origin, nullInt(t.active), t.opener, t.row.OpenedAt, nullInt(t.row.AssignedAt), nullInt(t.row.FirstResponseAt),
					t.row.ClosedAt, t.closeAt, t.row.Tags).Scan(&id)
				if errors.Is(err, sql.ErrNoRows) {
					continue // written before
				}
				if err != nil {
					return fmt.Errorf("desk history: ticket: %w", err)
				}
				if t.row.Tags != "" {
					for _, tag := range strings.Split(t.row.Tags, ",") {
						if _, err := tx.ExecContext(ctx, `INSERT INTO desk_ticket_tags (ticket_id, tag) VALUES ($1, $2)`, id, tag); err != nil {
							return fmt.Errorf("desk history: tag: %w", err)
						}
					}
				}
				if err := s.ticketEventTx(ctx, tx, id, fromMS(t.row.AssignedAt), "assigned", 0, t.row.AgentID, t.row.TeamID); err != nil {
					return err
				}
				kind, by := "closed", t.row.AgentID
				if t.row.State == domain.TicketAbandoned {
					kind, by = "abandoned", 0
				}
				if err := s.ticketEventTx(ctx, tx, id, fromMS(t.row.ClosedAt), kind, by, 0, 0); err != nil {
					return err
				}
				d.add(&t.row, 1)
				res.Tickets++
				if t.active != 0 {
					res.FromActive++
				}
			}
			return s.applyDesk(ctx, tx, d)
		})
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}
