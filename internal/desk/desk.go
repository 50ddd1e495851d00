// Package desk is the help desk (Atendimento, SPEC 4.7): teams and their
// agents, each agent's status with the time spent in it, the Mensagens
// Ativas tab of the messages an agent sent, tickets opened by contacts'
// replies and distributed to online agents, and the attendance metrics.
// The web pages, the API and the demo call it alike.
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

// Service is the help desk.
type Service struct {
	Store *store.Store
	Send  *send.Service
	// Events, when set, is told of every change an open desk page shows.
	Events Publisher
	// Location is where "today" of the agents' status times is counted.
	Location *time.Location
	// AbandonAfter is the idle time after which a ticket of no team (one
	// from an active message) is abandoned; a team sets its own.
	AbandonAfter time.Duration
	Now          func() time.Time
}

// Publisher hands a desk event to the pages watching it.
type Publisher interface {
	Publish(e Event)
}

// Event is a change on the desk: a ticket, an active message's status or
// an agent's status. Subaccount scopes who may see it; User, when set, is
// the one agent it concerns.
type Event struct {
	Kind         string `json:"kind"` // ticket, active, agent
	SubaccountID int64  `json:"subaccount_id"`
	UserID       int64  `json:"user_id,omitempty"`
	TeamID       int64  `json:"team_id,omitempty"`
	Data         any    `json:"data"`
}

// New returns the desk over st, sending through snd.
func New(st *store.Store, snd *send.Service) *Service {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		loc = time.UTC
	}
	return &Service{Store: st, Send: snd, Location: loc, AbandonAfter: 24 * time.Hour, Now: time.Now}
}

func (s *Service) publish(e Event) {
	if s.Events != nil {
		s.Events.Publish(e)
	}
}

// needUser returns the desk user p acts as: a logged-in user, or an API
// token made for a user.
func needUser(p *access.Principal) error {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return err
	}
	if p.UserID == 0 {
		return domain.Errorf(domain.EINVALID, "the desk needs a user: log in, or use an API token created with user_id")
	}
	return nil
}

func needSupervisor(p *access.Principal) error {
	return p.Need(domain.RoleAdmin, domain.RoleSupervisor)
}

// SetStatus sets the caller's status. A pause takes a reason from the
// subaccounts' list when there is one; the other statuses take none.
func (s *Service) SetStatus(ctx context.Context, p *access.Principal, status domain.AgentStatus, reason string) (*domain.Agent, error) {
	if !status.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "status must be online, paused, invisible or offline")
	}
	if err := needUser(p); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if status != domain.AgentPaused && reason != "" {
		return nil, domain.Errorf(domain.EINVALID, "reason is only for a pause")
	}
	if status == domain.AgentPaused {
		list, err := s.Store.PauseReasons(ctx, p.Scope)
		if err != nil {
			return nil, err
		}
		if len(list) > 0 && !slices.ContainsFunc(list, func(r domain.PauseReason) bool { return r.Name == reason }) {
			names := make([]string, len(list))
			for i, r := range list {
				names[i] = r.Name
			}
			return nil, domain.Errorf(domain.EINVALID, "reason must be one of the pause reasons: %s", strings.Join(names, ", "))
		}
		if len(reason) > 100 {
			return nil, domain.Errorf(domain.EINVALID, "reason is at most 100 characters")
		}
	}
	if _, err := s.Store.SetAgentStatus(ctx, p.UserID, status, reason, s.Now()); err != nil {
		return nil, err
	}
	a, err := s.agent(ctx, p.UserID, p.Scope)
	if err != nil {
		return nil, err
	}
	s.publishAgent(a, p.Scope)
	return a, nil
}

func (s *Service) publishAgent(a *domain.Agent, scope []int64) {
	for _, sa := range scope {
		s.publish(Event{Kind: "agent", SubaccountID: sa, UserID: a.UserID, Data: a})
	}
	if scope == nil {
		s.publish(Event{Kind: "agent", UserID: a.UserID, Data: a})
	}
}

// EndSession records that a user's session ended: they are offline.
func (s *Service) EndSession(ctx context.Context, u *domain.User) error {
	changed, err := s.Store.SetAgentStatus(ctx, u.ID, domain.AgentOffline, "", s.Now())
	if err != nil || !changed {
		return err
	}
	if a, err := s.agent(ctx, u.ID, u.Subaccounts); err == nil {
		s.publishAgent(a, u.Subaccounts)
	}
	return nil
}

// Me returns the caller's own desk state: status, teams, today's times.
func (s *Service) Me(ctx context.Context, p *access.Principal) (*domain.Agent, error) {
	if err := needUser(p); err != nil {
		return nil, err
	}
	return s.agent(ctx, p.UserID, p.Scope)
}

func (s *Service) agent(ctx context.Context, userID int64, scope []int64) (*domain.Agent, error) {
	// One user's row, whatever their role: a supervisor or admin in no
	// team is offline until they set a status.
	a, err := s.Store.Agent(ctx, userID)
	if err != nil {
		return nil, err
	}
	one := []domain.Agent{*a}
	if err := s.withToday(ctx, one); err != nil {
		return nil, err
	}
	return &one[0], nil
}

// Agents lists the agents of the caller's subaccounts with their status,
// load and time in each status today; supervisors and admins only.
func (s *Service) Agents(ctx context.Context, p *access.Principal) ([]domain.Agent, error) {
	if err := needSupervisor(p); err != nil {
		return nil, err
	}
	list, err := s.Store.Agents(ctx, p.Scope)
	if err != nil {
		return nil, err
	}
	return list, s.withToday(ctx, list)
}

// withToday fills each agent's time in each status since midnight.
func (s *Service) withToday(ctx context.Context, list []domain.Agent) error {
	now := s.Now().In(s.Location)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.Location)
	ids := make([]int64, len(list))
	for i := range list {
		ids[i] = list[i].UserID
	}
	log, err := s.Store.StatusLog(ctx, ids, midnight, now)
	if err != nil {
		return err
	}
	times := StatusTimes(log, midnight, now)
	for i := range list {
		list[i].Today = times[list[i].UserID]
		if list[i].Today == nil {
			list[i].Today = map[domain.AgentStatus]int64{}
		}
	}
	return nil
}

// StatusTimes adds up, per user, the seconds spent in each status from
// from to to, given the log of changes in order of time (each user's
// first entry may be before from: the status the period starts in).
// Before a user's first entry they were offline.
func StatusTimes(log []domain.StatusChange, from, to time.Time) map[int64]map[domain.AgentStatus]int64 {
	type current struct {
		status domain.AgentStatus
		since  time.Time
	}
	out := map[int64]map[domain.AgentStatus]int64{}
	cur := map[int64]current{}
	add := func(user int64, st domain.AgentStatus, a, b time.Time) {
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if !b.After(a) {
			return
		}
		if out[user] == nil {
			out[user] = map[domain.AgentStatus]int64{}
		}
		out[user][st] += int64(b.Sub(a) / time.Second)
	}
	for _, c := range log {
		if prev, ok := cur[c.UserID]; ok {
			add(c.UserID, prev.status, prev.since, c.At)
		}
		cur[c.UserID] = current{c.Status, c.At}
	}
	for user, c := range cur {
		add(user, c.status, c.since, to)
	}
	return out
}

// StatusLog returns the status changes of the agents of the caller's
// subaccounts from from to to (a supervisor's report).
func (s *Service) StatusLog(ctx context.Context, p *access.Principal, from, to time.Time) ([]domain.StatusChange, error) {
	if err := needSupervisor(p); err != nil {
		return nil, err
	}
	if !to.After(from) || to.Sub(from) > 90*24*time.Hour {
		return nil, domain.Errorf(domain.EINVALID, "from must be before to, at most 90 days apart")
	}
	agents, err := s.Store.Agents(ctx, p.Scope)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(agents))
	for i := range agents {
		ids[i] = agents[i].UserID
	}
	log, err := s.Store.StatusLog(ctx, ids, from, to)
	if log == nil {
		log = []domain.StatusChange{}
	}
	return log, err
}
