package desk

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// MetricsQuery selects the tickets the attendance metrics count: those
// opened from From to To, optionally of one team or agent.
type MetricsQuery struct {
	From, To time.Time
	Team     int64
	Agent    int64
}

// Durations sums up a set of durations, in seconds.
type Durations struct {
	Count   int     `json:"count"`
	Average float64 `json:"average"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
}

// Figures are the attendance figures of a set of tickets.
type Figures struct {
	Opened             int64 `json:"opened"`
	Answered           int64 `json:"answered"`
	Closed             int64 `json:"closed"`
	Abandoned          int64 `json:"abandoned"`
	FromActiveMessages int64 `json:"from_active_messages"`
	// Waiting is a queued ticket's time until an agent took it;
	// FirstResponse the time from opening to the agent's first answer;
	// Handling from the agent taking it to its close.
	Waiting       Durations `json:"waiting"`
	FirstResponse Durations `json:"first_response"`
	Handling      Durations `json:"handling"`
}

// Group is the figures of one team, agent or tag.
type Group struct {
	ID   int64  `json:"id,omitempty"`
	Name string `json:"name"`
	Figures
}

// Metrics are the attendance metrics of a period (the report manager's
// "métricas de atendimento"), with the "análise combinada" of seed 004's
// tip 4: the active messages sent, the tickets they produced, and the
// share answered.
type Metrics struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Total   Figures   `json:"total"`
	ByTeam  []Group   `json:"by_team"`
	ByAgent []Group   `json:"by_agent"`
	ByTag   []Group   `json:"by_tag"`
	// ActiveMessagesSent is the active messages sent in the period, and
	// ActiveAnsweredShare the share of them a reply turned into a ticket.
	ActiveMessagesSent  int64   `json:"active_messages_sent"`
	ActiveAnsweredShare float64 `json:"active_answered_share"`
}

// maxMetricsPeriod is the longest period one query covers.
const maxMetricsPeriod = 92 * 24 * time.Hour

// Metrics computes the attendance metrics of the caller's subaccounts;
// supervisors and admins only.
func (s *Service) Metrics(ctx context.Context, p *access.Principal, q MetricsQuery) (*Metrics, error) {
	if err := needSupervisor(p); err != nil {
		return nil, err
	}
	if !q.To.After(q.From) || q.To.Sub(q.From) > maxMetricsPeriod {
		return nil, domain.Errorf(domain.EINVALID, "from must be before to, at most 92 days apart")
	}
	if q.Team != 0 {
		if _, err := s.team(ctx, p, q.Team); err != nil {
			return nil, domain.Errorf(domain.EINVALID, "team %d is not a team of yours", q.Team)
		}
	}
	total := newTally()
	teams, agents, tags := map[int64]*tally{}, map[int64]*tally{}, map[string]*tally{}
	of := func(m map[int64]*tally, id int64) *tally {
		t := m[id]
		if t == nil {
			t = newTally()
			m[id] = t
		}
		return t
	}
	err := s.Store.TicketRows(ctx, p.Scope, q.From, q.To, q.Team, q.Agent, func(r *store.TicketRow) {
		total.add(r)
		of(teams, r.TeamID).add(r)
		of(agents, r.AgentID).add(r)
		if r.Tags != "" {
			for _, tag := range strings.Split(r.Tags, ",") {
				t := tags[tag]
				if t == nil {
					t = newTally()
					tags[tag] = t
				}
				t.add(r)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	sent, err := s.Store.ActiveMessagesSent(ctx, p.Scope, q.From, q.To, q.Agent)
	if err != nil {
		return nil, err
	}
	m := &Metrics{From: q.From, To: q.To, Total: total.figures(), ByTeam: []Group{}, ByAgent: []Group{}, ByTag: []Group{},
		ActiveMessagesSent: sent}
	if sent > 0 {
		m.ActiveAnsweredShare = float64(m.Total.FromActiveMessages) / float64(sent)
	}
	teamNames, err := s.teamNames(ctx, p)
	if err != nil {
		return nil, err
	}
	agentNames, err := s.agentNames(ctx, p)
	if err != nil {
		return nil, err
	}
	for id, t := range teams {
		m.ByTeam = append(m.ByTeam, Group{ID: id, Name: teamNames[id], Figures: t.figures()})
	}
	for id, t := range agents {
		m.ByAgent = append(m.ByAgent, Group{ID: id, Name: agentNames[id], Figures: t.figures()})
	}
	for tag, t := range tags {
		m.ByTag = append(m.ByTag, Group{Name: tag, Figures: t.figures()})
	}
	for _, list := range [][]Group{m.ByTeam, m.ByAgent, m.ByTag} {
		sort.Slice(list, func(i, j int) bool {
			if list[i].Opened != list[j].Opened {
				return list[i].Opened > list[j].Opened
			}
			return list[i].Name < list[j].Name
		})
	}
	return m, nil
}

func (s *Service) teamNames(ctx context.Context, p *access.Principal) (map[int64]string, error) {
	list, err := s.Store.Teams(ctx, p.Scope)
	out := map[int64]string{}
	for _, t := range list {
		out[t.ID] = t.Name
	}
	return out, err
}

func (s *Service) agentNames(ctx context.Context, p *access.Principal) (map[int64]string, error) {
	// Names only: Agents would count every agent's open tickets too.
	list, err := s.Store.Users(ctx, p.Scope)
	out := map[int64]string{}
	for _, u := range list {
		out[u.ID] = cmpOr(u.Name, u.Email)
	}
	return out, err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// tally gathers the figures of a set of tickets as they are read.
type tally struct {
	f                              Figures
	waiting, firstResponse, handle []int64 // milliseconds
}

func newTally() *tally { return &tally{} }

func (t *tally) add(r *store.TicketRow) {
	t.f.Opened++
	switch r.State {
	case domain.TicketClosed:
		t.f.Closed++
	case domain.TicketAbandoned:
		t.f.Abandoned++
	}
	if r.Origin == domain.TicketFromActiveMessage {
		t.f.FromActiveMessages++
	} else if r.AssignedAt > 0 {
		t.waiting = append(t.waiting, r.AssignedAt-r.OpenedAt)
	}
	if r.FirstResponseAt > 0 {
		t.f.Answered++
		t.firstResponse = append(t.firstResponse, r.FirstResponseAt-r.OpenedAt)
	}
	if r.State == domain.TicketClosed && r.ClosedAt > 0 {
		start := r.OpenedAt
		if r.AssignedAt > 0 {
			start = r.AssignedAt
		}
		t.handle = append(t.handle, r.ClosedAt-start)
	}
}

func (t *tally) figures() Figures {
	f := t.f
	f.Waiting, f.FirstResponse, f.Handling = summarize(t.waiting), summarize(t.firstResponse), summarize(t.handle)
	return f
}

// summarize returns the count, average and nearest-rank percentiles of
// durations in milliseconds, in seconds.
func summarize(ms []int64) Durations {
	if len(ms) == 0 {
		return Durations{}
	}
	slices.Sort(ms)
	var sum int64
	for _, v := range ms {
		sum += v
	}
	rank := func(p float64) float64 {
		i := int(p*float64(len(ms))+0.999999) - 1
		i = max(0, min(i, len(ms)-1))
		return float64(ms[i]) / 1000
	}
	return Durations{Count: len(ms), Average: float64(sum) / float64(len(ms)) / 1000, P50: rank(0.5), P90: rank(0.9)}
}

// ParsePeriod reads a period's from and to: RFC 3339 instants, or
// YYYY-MM-DD dates in loc (to's date included). An empty from is the
// start of today; an empty to, the end of from's day.
func ParsePeriod(from, to string, loc *time.Location, now time.Time) (time.Time, time.Time, error) {
	parse := func(name, v string, end bool) (time.Time, error) {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		d, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil {
			return time.Time{}, domain.Errorf(domain.EINVALID, "%s %q is neither an RFC 3339 date-time nor a YYYY-MM-DD date", name, v)
		}
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	n := now.In(loc)
	f := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	t := f.AddDate(0, 0, 1)
	var err error
	if from != "" {
		if f, err = parse("from", from, false); err != nil {
			return f, t, err
		}
	}
	if to != "" {
		if t, err = parse("to", to, true); err != nil {
			return f, t, err
		}
	} else if from != "" {
		t = f.AddDate(0, 0, 1)
	}
	if !t.After(f) {
		return f, t, domain.Errorf(domain.EINVALID, "to must be after from")
	}
	return f, t, nil
}
