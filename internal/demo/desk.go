package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/desk"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/server"
)

// The demo's help desk: a team per subaccount fed by its main number, two
// agents in each, pause reasons, and agents who work the tickets the
// simulated contacts open — accept, answer, close with tags, pause for
// lunch — through the desk service, as they would from their pages.

// DeskAgents are the demo's agents: email, name and the number (an index
// of Phones) whose team they are in. The first two exist since the demo's
// first version; the desk's seed adds the others.
var DeskAgents = []struct {
	Email, Name string
	Phone       int
}{
	{"atendimento.centro@ticks.local", "Beatriz Atendimento", 0},
	{"diana.centro@ticks.local", "Diana Atendimento", 0},
	{"atendimento.online@ticks.local", "Caio Atendimento", 1},
	{"eduardo.online@ticks.local", "Eduardo Atendimento", 1},
}

// PauseReasons are the pause reasons of each of the demo's subaccounts.
var PauseReasons = []string{"Almoço", "Café", "Treinamento"}

// SeedDesk creates the desk of the demo once (state.DeskSeeded): the
// agents the first demo had not, a team per subaccount with its agents,
// each attending 8 tickets at once (the demo's contacts write a lot), and the pause reasons.
func SeedDesk(ctx context.Context, svc server.Services, state *State) error {
	admin := access.System()
	chans, err := svc.Channels.List(ctx, admin)
	if err != nil {
		return err
	}
	users, err := svc.Access.Users(ctx, admin)
	if err != nil {
		return err
	}
	byEmail := map[string]*domain.User{}
	for i := range users {
		byEmail[users[i].Email] = &users[i]
	}
	members := map[int][]int64{}
	for _, a := range DeskAgents {
		ch := channelOf(chans, a.Phone)
		if ch == nil {
			return fmt.Errorf("the demo's number %s is missing", Phones[a.Phone].PhoneNumberID)
		}
		u := byEmail[a.Email]
		if u == nil {
			if u, err = svc.Access.CreateUser(ctx, admin, access.UserInput{Email: a.Email, Name: a.Name, Role: domain.RoleAgent,
				Password: state.Password, Subaccounts: []int64{ch.SubaccountID}}); err != nil {
				return err
			}
		}
		if _, err := svc.Desk.SetAgentLimit(ctx, admin, u.ID, 8); err != nil {
			return err
		}
		members[a.Phone] = append(members[a.Phone], u.ID)
	}
	for _, phone := range []int{0, 1} {
		ch := channelOf(chans, phone)
		for _, name := range PauseReasons {
			if _, err := svc.Desk.CreatePauseReason(ctx, admin, desk.PauseReasonInput{SubaccountID: ch.SubaccountID, Name: name}); err != nil {
				return err
			}
		}
		if _, err := svc.Desk.CreateTeam(ctx, admin, desk.TeamInput{SubaccountID: ch.SubaccountID, ChannelID: &ch.ID,
			Name: "Atendimento " + Phones[phone].VerifiedName, AbandonAfterMinutes: 30, Members: members[phone]}); err != nil {
			return err
		}
	}
	state.DeskSeeded = true
	return nil
}

func channelOf(chans []domain.Channel, phone int) *domain.Channel {
	for i := range chans {
		if chans[i].PhoneNumberID == Phones[phone].PhoneNumberID {
			return &chans[i]
		}
	}
	return nil
}

// Desk plays the demo's agents: each Step, every agent answers the
// tickets given to them, closes those answered a while ago with tags,
// now and then sends an active message, and sometimes pauses.
type Desk struct {
	Services server.Services
	// Speed divides the agents' times (to answer, to close, to pause):
	// 1 (or 0) is a person's pace, tests go faster.
	Speed float64

	r      *mrand.Rand
	agents []*deskAgent
}

type deskAgent struct {
	p       *access.Principal
	name    string
	channel *domain.Channel
	status  domain.AgentStatus
	until   time.Time // when a pause ends
}

// tags are what the demo's agents close tickets with.
var tags = []string{"venda", "dúvida", "entrega", "troca", "reclamação", "elogio"}

// Start finds the agents and puts them online.
func (d *Desk) Start(ctx context.Context) error {
	d.r = mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 16))
	admin := access.System()
	chans, err := d.Services.Channels.List(ctx, admin)
	if err != nil {
		return err
	}
	users, err := d.Services.Access.Users(ctx, admin)
	if err != nil {
		return err
	}
	for _, a := range DeskAgents {
		for i := range users {
			if users[i].Email == a.Email {
				ag := &deskAgent{p: access.ForUser(&users[i]), name: strings.Fields(a.Name)[0], channel: channelOf(chans, a.Phone)}
				d.agents = append(d.agents, ag)
			}
		}
	}
	for _, a := range d.agents {
		if err := a.set(ctx, d, domain.AgentOnline, ""); err != nil {
			return err
		}
	}
	return nil
}

func (a *deskAgent) set(ctx context.Context, d *Desk, st domain.AgentStatus, reason string) error {
	if _, err := d.Services.Desk.SetStatus(ctx, a.p, st, reason); err != nil {
		return err
	}
	a.status = st
	return nil
}

// Step is one round of every agent's work.
func (d *Desk) Step(ctx context.Context) {
	now := time.Now()
	for _, a := range d.agents {
		if err := d.work(ctx, a, now); err != nil && ctx.Err() == nil {
			slog.Warn("demo desk", slog.String("agent", a.name), slog.Any("err", err))
		}
	}
}

func (d *Desk) work(ctx context.Context, a *deskAgent, now time.Time) error {
	r, svc := d.r, d.Services.Desk
	pace := func(sec uint64) time.Duration {
		return time.Duration(float64(sec) * float64(time.Second) / max(d.Speed, 1))
	}
	switch {
	case a.status == domain.AgentPaused && now.After(a.until):
		return a.set(ctx, d, domain.AgentOnline, "")
	case a.status == domain.AgentOnline && r.Float64() < 0.004: // about every 8 minutes at a step each 2 s
		a.until = now.Add(pace(uint64(60 + r.IntN(180))))
		return a.set(ctx, d, domain.AgentPaused, PauseReasons[r.IntN(len(PauseReasons))])
	}
	list, err := svc.Tickets(ctx, a.p, string(domain.TicketOpen))
	if err != nil {
		return err
	}
	for _, t := range list {
		if t.AgentID == nil || *t.AgentID != a.p.UserID {
			continue
		}
		switch {
		case t.FirstResponseAt == nil && now.Sub(t.OpenedAt) > pace(2+hash(t.ID)%10):
			_, err = svc.Reply(ctx, a.p, t.ID, desk.ReplyInput{Text: fmt.Sprintf("Olá, %s! Aqui é %s, do atendimento. Como posso ajudar?",
				firstName(t.Contact), a.name)})
		case t.FirstResponseAt != nil && now.Sub(*t.FirstResponseAt) > pace(15+hash(t.ID)%60):
			chosen := []string{tags[hash(t.ID)%uint64(len(tags))]}
			if hash(t.ID)%3 == 0 {
				chosen = append(chosen, tags[(hash(t.ID)/7)%uint64(len(tags))])
			}
			_, err = svc.Close(ctx, a.p, t.ID, chosen)
		}
		if err != nil {
			return err
		}
	}
	if a.status == domain.AgentOnline && a.channel != nil && r.Float64() < 0.03 { // an active message about every minute
		i := r.IntN(Contacts)
		_, err = svc.SendActive(ctx, a.p, desk.ActiveInput{ChannelID: a.channel.ID, To: Phone(i), Template: "pedido_enviado",
			Language: "pt_BR", Params: []string{Name(i), fmt.Sprint(20000 + r.IntN(9999)), "2"}})
	}
	return err
}

func hash(id int64) uint64 {
	h := fnv.New64a()
	fmt.Fprint(h, id)
	return h.Sum64()
}

// firstName is how an agent greets a contact: by the first name, or by
// nothing when only the number is known.
func firstName(contact string) string {
	f := strings.Fields(contact)
	if len(f) == 0 || strings.HasPrefix(f[0], "+") || strings.IndexFunc(f[0], func(r rune) bool { return r >= '0' && r <= '9' }) >= 0 {
		return "tudo bem"
	}
	return f[0]
}
