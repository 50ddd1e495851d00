package demo

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/bench"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/store"
)

// The demo's history: what a small business's last three months look like.
const (
	HistoryDays   = 90
	HistoryPerDay = 2000 // messages a day over both subaccounts, on average
	// RecentHistory is the part of the history written before live traffic
	// starts: what it builds on (the contacts' sessions, conversations
	// still open, free entry points of 72 hours, each number's tier window
	// of 24 hours), so live sends are derived as if the history had
	// happened.
	RecentHistory = 75 * time.Hour
)

// historyContacts is how many people each subaccount's history talks to:
// the demo's contacts, and more created with the history.
var historyContacts = map[string]int{"Varejo Centro": 1500, "Loja Online": 900}

// History writes the demo's past, once: HistoryDays of traffic ending
// when the demo first started (State.HistoryEnd), into the database at DSN
// while the server answers. It marks the state done when all is written;
// a demo stopped in the middle resumes it on its next start, where it
// stopped.
type History struct {
	Services server.Services
	DSN      string
	State    *State
	Dir      string        // the data folder, where State is saved
	TTL      time.Duration // the demo's message time to live: what was never delivered expired
	PerDay   int           // messages a day; HistoryPerDay when 0
}

// Pending reports whether there is history left to write.
func (h *History) Pending() bool { return !h.State.HistoryEnd.IsZero() && !h.State.HistoryDone }

// Run writes what is left of the history: the recent part, then ready is
// called (live traffic may start), then the rest. ready is called once,
// even when there is nothing to write or writing fails.
func (h *History) Run(ctx context.Context, ready func()) error {
	if !h.Pending() {
		ready()
		if h.State.HistoryDone && !h.State.DeskHistoryDone {
			return h.desk(ctx) // a history written before it had its desk
		}
		return nil
	}
	w, err := h.World(ctx)
	if err != nil {
		ready()
		return fmt.Errorf("demo history: %w", err)
	}
	t0 := time.Now()
	cut := h.State.HistoryEnd.Add(-RecentHistory)
	recent, err := bench.WriteHistory(ctx, h.DSN, w, bench.HistoryOptions{From: cut})
	ready()
	if err != nil {
		return fmt.Errorf("demo history: %w", err)
	}
	slog.Info("demo history: the last days are written; live traffic starts", slog.Int("messages", recent.Written),
		slog.Duration("took", time.Since(t0).Round(time.Millisecond)))
	rest, err := bench.WriteHistory(ctx, h.DSN, w, bench.HistoryOptions{To: cut})
	if err != nil {
		return fmt.Errorf("demo history: %w", err)
	}
	campaigns := append(recent.Campaigns, rest.Campaigns...)
	if err := h.events(ctx, campaigns); err != nil {
		return fmt.Errorf("demo history: %w", err)
	}
	h.State.HistoryDone = true
	h.State.HistoryMT, h.State.HistoryMO = recent.MT+rest.MT, recent.MO+rest.MO
	if err := h.State.Save(h.Dir); err != nil {
		return err
	}
	slog.Info("demo history written", slog.Int("messages", recent.Messages+rest.Messages),
		slog.Int("campaigns", len(rest.Campaigns)), slog.Duration("took", time.Since(t0).Round(time.Millisecond)))
	if err := h.desk(ctx); err != nil {
		return err
	}
	return h.extractions(ctx)
}

// desk gives the history its help desk (store.WriteDeskHistory): each
// team's tickets of the 90 days, so the attendance metrics have a past.
// It ends an hour before the history does: the live desk routes what came
// after.
func (h *History) desk(ctx context.Context) error {
	admin := access.System()
	teams, err := h.Services.Desk.Teams(ctx, admin)
	if err != nil {
		return fmt.Errorf("demo desk history: %w", err)
	}
	end := h.State.HistoryEnd.Add(-time.Hour)
	for i, t := range teams {
		if t.ChannelID == nil {
			continue
		}
		res, err := h.Services.Desk.Store.WriteDeskHistory(ctx, store.DeskHistoryOptions{SubaccountID: t.SubaccountID,
			ChannelID: *t.ChannelID, TeamID: t.ID, Agents: t.Members, From: end.AddDate(0, 0, -HistoryDays), To: end,
			Tags: tags, Seed: h.State.SimulatorID + uint64(i)})
		if err != nil {
			return fmt.Errorf("demo desk history: %w", err)
		}
		slog.Info("demo desk history written", slog.String("team", t.Name), slog.Int("tickets", res.Tickets),
			slog.Int("from_active_messages", res.FromActive), slog.Int("active_messages", res.ActiveMessages))
	}
	h.State.DeskHistoryDone = true
	return h.State.Save(h.Dir)
}

// extractions asks the report manager, as the demo's supervisor, for a
// file of each kind — the active messages, the chatbots' metrics and the
// help desk's tickets — so its list has something of each to show.
func (h *History) extractions(ctx context.Context) error {
	users, err := h.Services.Access.Users(ctx, access.System())
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Email != "supervisor@ticks.local" {
			continue
		}
		p := access.ForUser(&u)
		end := h.State.HistoryEnd.In(h.Services.Extracts.Location)
		for _, in := range []extracts.Input{
			{Type: "notifications_summary", From: end.AddDate(0, 0, -6).Format(time.DateOnly), To: end.Format(time.DateOnly), Format: "csv"},
			{Type: "conversations_summary", From: end.AddDate(0, 0, -89).Format(time.DateOnly), To: end.Format(time.DateOnly), Format: "xlsx"},
			// The help desk's tickets of the history's last week.
			{Type: "attendance_metrics", From: end.AddDate(0, 0, -6).Format(time.DateOnly), To: end.Format(time.DateOnly), Format: "csv"},
		} {
			in.Lang = u.Lang
			if _, err := h.Services.Extracts.Request(ctx, p, in); err != nil {
				return fmt.Errorf("demo extraction: %w", err)
			}
		}
	}
	return nil
}

// World describes the demo's organization for its history: the seeded
// subaccounts, numbers (with their tiers, fallback and warm-up), users
// and tokens, found by what the seed named them; the contacts by phone,
// the seeded ones and more; the templates synced from the simulator.
// Everything it reads was made by the seed, so a restart describes the
// same world and the history comes out the same.
func (h *History) World(ctx context.Context) (*bench.World, error) {
	svc, state := h.Services, h.State
	sys := access.System()
	subs, err := svc.Access.Subaccounts(ctx, sys)
	if err != nil {
		return nil, err
	}
	chans, err := svc.Channels.List(ctx, sys)
	if err != nil {
		return nil, err
	}
	users, err := svc.Access.Users(ctx, sys)
	if err != nil {
		return nil, err
	}
	tokens, err := svc.Access.Tokens(ctx, sys)
	if err != nil {
		return nil, err
	}
	tpls, err := svc.Channels.Templates(ctx, sys)
	if err != nil {
		return nil, err
	}
	bots, err := svc.Tracking.Bots(ctx, sys)
	if err != nil {
		return nil, err
	}
	w := &bench.World{PerDay: cmp.Or(h.PerDay, HistoryPerDay), Days: HistoryDays, End: state.HistoryEnd, Seed: state.SimulatorID + 1,
		TTL: h.TTL}
	for _, t := range tpls {
		if t.WABAID == Phones[0].WABAID && t.Status == "APPROVED" {
			w.Templates = append(w.Templates, worldTemplate(t))
		}
	}
	slices.SortFunc(w.Templates, func(a, b bench.WorldTemplate) int { return strings.Compare(a.Name+a.Language, b.Name+b.Language) })
	userID := func(email string) int64 {
		for _, u := range users {
			if u.Email == email {
				return u.ID
			}
		}
		return 0
	}
	tokenID := func(name string) int64 {
		for _, t := range tokens {
			if t.Name == name && t.RevokedAt == nil {
				return t.ID
			}
		}
		return 0
	}
	ids := func(v ...int64) []int64 { return slices.DeleteFunc(v, func(id int64) bool { return id == 0 }) }
	admin := userID("admin@ticks.local")
	for _, s := range []struct {
		name              string
		share, campaigns  float64
		audience          [2]float64
		agents, marketers []int64
		bots              []int64
		phones            []int
		since             []time.Duration // before the end: a number added late
		shares            []float64
	}{
		{"Varejo Centro", 0.68, 1, [2]float64{0.15, 0.4},
			ids(userID("atendimento.centro@ticks.local"), userID("supervisor@ticks.local")),
			ids(userID("supervisor@ticks.local")), ids(tokenID("demo")), []int{0}, []time.Duration{0}, []float64{1}},
		{"Loja Online", 0.32, 0.5, [2]float64{0.15, 0.35},
			ids(userID("atendimento.online@ticks.local"), admin), ids(admin), ids(tokenID(integrationToken)),
			[]int{1, 2}, []time.Duration{0, 10 * 24 * time.Hour}, []float64{0.9, 0.1}},
	} {
		i := slices.IndexFunc(subs, func(sa domain.Subaccount) bool { return sa.Name == s.name })
		if i < 0 {
			return nil, fmt.Errorf("the demo's subaccount %q is missing; delete the data folder to start over", s.name)
		}
		// Its bots answer too, so messages carry them (the conversation
		// metrics per bot); a demo seeded before it had bots has none.
		for _, b := range bots {
			if b.SubaccountID == subs[i].ID {
				s.bots = append(s.bots, b.ID)
			}
		}
		ws := bench.WorldSubaccount{ID: subs[i].ID, Share: s.share, Agents: s.agents, Marketers: s.marketers, Bots: s.bots,
			Campaigns: s.campaigns, CampaignAudience: s.audience}
		for k, p := range s.phones {
			j := slices.IndexFunc(chans, func(c domain.Channel) bool { return c.PhoneNumberID == Phones[p].PhoneNumberID })
			if j < 0 {
				return nil, fmt.Errorf("the demo's number %s is missing; delete the data folder to start over", Phones[p].PhoneNumberID)
			}
			ch := chans[j]
			wc := bench.WorldChannel{ID: ch.ID, PhoneNumberID: ch.PhoneNumberID, Share: s.shares[k], Tier: ch.Tier,
				Fallback: ch.FallbackTemplate, FallbackLanguage: ch.FallbackLanguage}
			if s.since[k] > 0 {
				wc.Since = state.HistoryEnd.Add(-s.since[k])
			}
			if ch.WarmupUntil != nil {
				wc.WarmupUntil, wc.WarmupTemplate = *ch.WarmupUntil, "hello_world"
			}
			ws.Channels = append(ws.Channels, wc)
		}
		for k := range historyContacts[s.name] {
			ws.Contacts = append(ws.Contacts, bench.WorldContact{Phone: Phone(k), Name: Name(k),
				CorrelationID: fmt.Sprintf("CLI-%05d", k), OptedOut: k%40 == 0})
		}
		w.Subaccounts = append(w.Subaccounts, ws)
	}
	return w, nil
}

// worldTemplate is a synced template as the history sends it: its body,
// the examples of its parameters and its quick replies.
func worldTemplate(t domain.Template) bench.WorldTemplate {
	body, _ := t.Body()
	var comps []struct {
		Type    string `json:"type"`
		Example struct {
			BodyText [][]string `json:"body_text"`
		} `json:"example"`
	}
	_ = json.Unmarshal(t.Components, &comps)
	var examples []string
	for _, c := range comps {
		if strings.EqualFold(c.Type, "BODY") && len(c.Example.BodyText) > 0 {
			examples = c.Example.BodyText[0]
		}
	}
	return bench.WorldTemplate{Name: t.Name, Language: t.Language, Category: strings.ToLower(t.Category), Body: body,
		Examples: examples, QuickReplies: t.QuickReplies()}
}
