package desk

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/store"
)

// Tickets lists the tickets the caller attends: an agent's own and the
// waiting ones of their teams' queues; a supervisor's or admin's every
// ticket of their subaccounts. state ("" for all) narrows the list.
func (s *Service) Tickets(ctx context.Context, p *access.Principal, state string) ([]domain.Ticket, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return nil, err
	}
	f := store.TicketFilter{Subaccounts: p.Scope, State: domain.TicketState(state)}
	if state != "" && !f.State.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "state must be waiting, open, closed or abandoned")
	}
	if p.Role == domain.RoleAgent {
		if err := needUser(p); err != nil {
			return nil, err
		}
		teams, err := s.Store.TeamsOfUser(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		f.Agent, f.Teams = p.UserID, teams
	}
	return s.Store.Tickets(ctx, f)
}

// Attending lists the tickets of Tickets that are still attended:
// waiting or open, in one read (the desk's live page reads it often).
func (s *Service) Attending(ctx context.Context, p *access.Principal) ([]domain.Ticket, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return nil, err
	}
	f := store.TicketFilter{Subaccounts: p.Scope, Active: true}
	if p.Role == domain.RoleAgent {
		if err := needUser(p); err != nil {
			return nil, err
		}
		teams, err := s.Store.TeamsOfUser(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		f.Agent, f.Teams = p.UserID, teams
	}
	return s.Store.Tickets(ctx, f)
}

// ticket returns a ticket the caller may see: an agent sees their own and
// the waiting ones of their teams.
func (s *Service) ticket(ctx context.Context, p *access.Principal, id int64) (*domain.Ticket, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return nil, err
	}
	t, err := s.Store.Ticket(ctx, id)
	if err != nil {
		return nil, err
	}
	notFound := domain.Errorf(domain.ENOTFOUND, "ticket %d not found", id)
	if !p.CanSee(t.SubaccountID) {
		return nil, notFound
	}
	if p.Role != domain.RoleAgent {
		return t, nil
	}
	if t.AgentID != nil && *t.AgentID == p.UserID {
		return t, nil
	}
	if t.State == domain.TicketWaiting && t.TeamID != nil {
		teams, err := s.Store.TeamsOfUser(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		if slices.Contains(teams, *t.TeamID) {
			return t, nil
		}
	}
	return nil, notFound
}

// TicketView is a ticket with its whole conversation and history.
type TicketView struct {
	domain.Ticket
	Messages []domain.Message     `json:"messages"`
	Events   []domain.TicketEvent `json:"events"`
	// WindowEndsAt is when the contact's customer-service window closes
	// (free text until then, a template after); nil when it never opened.
	WindowEndsAt *time.Time `json:"window_ends_at"`
}

// conversationLimit bounds the messages a ticket's view shows.
const conversationLimit = 300

// Ticket returns a ticket the caller may see with its conversation: every
// message between the contact and the channel, earlier ones included.
func (s *Service) Ticket(ctx context.Context, p *access.Principal, id int64) (*TicketView, error) {
	t, err := s.ticket(ctx, p, id)
	if err != nil {
		return nil, err
	}
	v := &TicketView{Ticket: *t}
	if v.Messages, err = s.Store.Conversation(ctx, t.ContactID, t.ChannelID, conversationLimit); err != nil {
		return nil, err
	}
	if v.Messages == nil {
		v.Messages = []domain.Message{}
	}
	if v.Events, err = s.Store.TicketEvents(ctx, id); err != nil {
		return nil, err
	}
	for i := len(v.Messages) - 1; i >= 0; i-- {
		if m := v.Messages[i]; m.Direction == domain.DirectionMO {
			end := m.At.Add(24 * time.Hour)
			v.WindowEndsAt = &end
			break
		}
	}
	return v, nil
}

// ReplyInput is an agent's answer on a ticket: free text inside the
// customer-service window, a template outside it.
type ReplyInput struct {
	Text     string   `json:"text,omitempty"`
	Template string   `json:"template,omitempty"`
	Language string   `json:"language,omitempty"`
	Params   []string `json:"params,omitempty"`
}

// Reply sends an answer on a ticket through the send pipeline. An agent
// answering a waiting ticket of their team takes it.
func (s *Service) Reply(ctx context.Context, p *access.Principal, id int64, in ReplyInput) (*send.Outcome, error) {
	if err := needUser(p); err != nil {
		return nil, err
	}
	t, err := s.ticket(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !t.State.Active() {
		return nil, domain.Errorf(domain.ECONFLICT, "ticket %d is %s: it takes no more answers", id, t.State)
	}
	req := &send.Request{ChannelID: t.ChannelID, To: t.ContactPhone, Origin: "ticket"}
	switch {
	case in.Template != "":
		req.Type = "template"
		req.Template = &send.TemplateRef{Name: in.Template, Language: in.Language, Params: in.Params}
	case strings.TrimSpace(in.Text) != "":
		req.Type, req.Text = "text", in.Text
	default:
		return nil, domain.Errorf(domain.EINVALID, "text or template is required")
	}
	if t.AgentID == nil || *t.AgentID != p.UserID {
		if p.Role == domain.RoleAgent || t.State == domain.TicketWaiting {
			if err := s.Store.TransferTicket(ctx, id, p.UserID, 0, p.UserID, s.Now()); err != nil {
				return nil, err
			}
		}
	}
	out, err := s.Send.Send(ctx, p, req)
	if err != nil {
		return nil, err
	}
	if !out.Refused {
		if err := s.Store.TicketAnswered(ctx, id, s.Now()); err != nil {
			return nil, err
		}
	}
	s.publishTicket(ctx, id)
	return out, nil
}

// TransferInput names who a ticket goes to: an agent, or a team's queue.
type TransferInput struct {
	AgentID int64 `json:"agent_id,omitempty"`
	TeamID  int64 `json:"team_id,omitempty"`
}

// Transfer gives an active ticket to another agent or team of its
// subaccount. Its agent or a supervisor may.
func (s *Service) Transfer(ctx context.Context, p *access.Principal, id int64, in TransferInput) (*domain.Ticket, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return nil, err
	}
	t, err := s.ticket(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if (in.AgentID == 0) == (in.TeamID == 0) {
		return nil, domain.Errorf(domain.EINVALID, "give agent_id or team_id, one of them")
	}
	if in.TeamID != 0 {
		team, err := s.Store.Team(ctx, in.TeamID)
		if err != nil || team.SubaccountID != t.SubaccountID {
			return nil, domain.Errorf(domain.EINVALID, "team_id %d is not a team of this ticket's subaccount", in.TeamID)
		}
	}
	if in.AgentID != 0 {
		u, err := s.Store.User(ctx, in.AgentID)
		if err != nil || u.Disabled || u.Role == domain.RoleViewer || (u.Role != domain.RoleAdmin && !slices.Contains(u.Subaccounts, t.SubaccountID)) {
			return nil, domain.Errorf(domain.EINVALID, "agent_id %d does not attend this ticket's subaccount", in.AgentID)
		}
	}
	if !t.State.Active() {
		return nil, domain.Errorf(domain.ECONFLICT, "ticket %d is %s", id, t.State)
	}
	if err := s.Store.TransferTicket(ctx, id, in.AgentID, in.TeamID, p.UserID, s.Now()); err != nil {
		return nil, err
	}
	return s.publishTicket(ctx, id), nil
}

// Close closes an active ticket with tags (at most 10, each up to 50
// characters). Its agent or a supervisor may.
func (s *Service) Close(ctx context.Context, p *access.Principal, id int64, tags []string) (*domain.Ticket, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return nil, err
	}
	clean, err := cleanTags(tags)
	if err != nil {
		return nil, err
	}
	t, err := s.ticket(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !t.State.Active() {
		return nil, domain.Errorf(domain.ECONFLICT, "ticket %d is already %s", id, t.State)
	}
	if p.Role == domain.RoleAgent && (t.AgentID == nil || *t.AgentID != p.UserID) {
		return nil, domain.Errorf(domain.EFORBIDDEN, "ticket %d is not yours: take it by answering first", id)
	}
	if err := s.Store.CloseTicket(ctx, id, clean, p.UserID, s.Now()); err != nil {
		return nil, err
	}
	return s.publishTicket(ctx, id), nil
}

func cleanTags(tags []string) ([]string, error) {
	if len(tags) > 10 {
		return nil, domain.Errorf(domain.EINVALID, "tags: at most 10")
	}
	out := []string{}
	for _, tag := range tags {
		tag = strings.TrimSpace(tag)
		if tag == "" {
			continue
		}
		if len(tag) > 50 || strings.ContainsAny(tag, ",\n\r") {
			return nil, domain.Errorf(domain.EINVALID, "tags: %q is over 50 characters or holds a comma", tag)
		}
		if !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	return out, nil
}

// publishTicket tells the pages of a ticket's change and returns it.
func (s *Service) publishTicket(ctx context.Context, id int64) *domain.Ticket {
	t, err := s.Store.Ticket(ctx, id)
	if err != nil {
		return nil
	}
	s.publishTickets([]domain.Ticket{*t})
	return t
}

func (s *Service) publishTickets(list []domain.Ticket) {
	for i := range list {
		t := &list[i]
		e := Event{Kind: "ticket", SubaccountID: t.SubaccountID, Data: t}
		if t.AgentID != nil {
			e.UserID = *t.AgentID
		}
		if t.TeamID != nil {
			e.TeamID = *t.TeamID
		}
		s.publish(e)
	}
}
