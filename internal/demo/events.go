package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/bench"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/tracking"
)

// The menu bots' flow (issue 17): a contact opens the menu and most choose
// an option; half of those who ask for a boleto pay it within the hour,
// and those who ask for an agent are handed over.
const (
	MenuCategory = "Escolha de Menu"
	MenuOpened   = "Abriu o menu"
)

// MenuOptions are the options of the demo's menu, the likelier first.
var MenuOptions = []string{"2ª via de boleto", "Falar com atendente", "Consultar pedido", "Rastrear entrega", "Promoções", "Cancelar pedido"}

// menuSessionsPerDay is how many menu sessions a weekday of the history
// has, per subaccount (Sundays a third).
var menuSessionsPerDay = map[string]int{"Varejo Centro": 40, "Loja Online": 20}

// menuFlow is one session of the menu: the events of a contact from the
// menu's opening, at at.
func menuFlow(r *mrand.Rand, at time.Time, extras map[string]any) []tracking.EventInput {
	var out []tracking.EventInput
	add := func(category, action string, at time.Time) {
		b, _ := json.Marshal(extras)
		t := at.UTC().Truncate(time.Second)
		out = append(out, tracking.EventInput{Category: category, Action: action, At: &t, Extras: b})
	}
	add(MenuCategory, MenuOpened, at)
	if r.IntN(10) >= 7 { // left without choosing
		return out
	}
	// Likelier options first: weights 6, 5, 4, 3, 2, 1.
	x, choice := r.IntN(21), 0
	for w := 6; x >= w; w-- {
		x -= w
		choice++
	}
	option := MenuOptions[choice]
	at = at.Add(time.Duration(20+r.IntN(300)) * time.Second)
	add(MenuCategory, option, at)
	switch {
	case option == "2ª via de boleto" && r.IntN(2) == 0:
		add("Pagamento", "Boleto pago", at.Add(time.Duration(300+r.IntN(3000))*time.Second))
	case option == "Falar com atendente":
		add("Atendimento", "Transferido para atendente", at.Add(time.Duration(2+r.IntN(10))*time.Second))
	}
	return out
}

// events records the menu bots' event tracks along the history, through
// the tracking service as the bots' API calls do: sessions of the
// history's contacts on every day (more on weekdays, by day than by
// night), and contacts who read a campaign's message opening the menu a
// few minutes later, the campaign named in the extras — so the custom report,
// a funnel from a campaign's reads and the conversation metrics have
// data. Each event has an idempotency key, so a history resumed after a
// stop counts none twice.
func (h *History) events(ctx context.Context, campaigns []bench.Campaign) error {
	svc := h.Services.Tracking
	subs, err := h.Services.Access.Subaccounts(ctx, access.System())
	if err != nil {
		return err
	}
	bots, err := svc.Bots(ctx, access.System())
	if err != nil {
		return err
	}
	loc := svc.Location
	end := h.State.HistoryEnd
	total := 0
	for _, sa := range subs {
		i := slices.IndexFunc(bots, func(b domain.Bot) bool { return b.SubaccountID == sa.ID && b.Kind == domain.BotFlow })
		perDay, known := menuSessionsPerDay[sa.Name]
		if i < 0 || !known {
			continue // a demo seeded before it had bots
		}
		bot := bots[i].ID
		r := mrand.New(mrand.NewPCG(h.State.SimulatorID+17, uint64(sa.ID)))
		var list []tracking.EventInput
		first := time.Date(end.In(loc).Year(), end.In(loc).Month(), end.In(loc).Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -HistoryDays+1)
		for d := range HistoryDays {
			day := first.AddDate(0, 0, d)
			n := perDay
			if day.Weekday() == time.Sunday {
				n /= 3
			}
			for range n {
				at := day.Add(time.Duration(7*3600+r.IntN(15*3600)) * time.Second)
				if r.IntN(6) == 0 { // a few by night
					at = day.Add(time.Duration(r.IntN(24*3600)) * time.Second)
				}
				phone := Phone(r.IntN(historyContacts[sa.Name]))
				for _, e := range menuFlow(r, at, map[string]any{"origem": "menu"}) {
					e.Contact = json.RawMessage(strconv.Quote(phone))
					list = append(list, e)
				}
			}
		}
		// Contacts who read a campaign's message open the menu after it.
		seen := map[int64]bool{} // both parts of the history list every campaign
		for _, c := range campaigns {
			if c.SubaccountID != sa.ID || seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			reads, err := svc.Store.FunnelTimes(ctx, []int64{sa.ID}, store.FunnelSource{CampaignID: c.ID, Stage: "read"},
				c.Start, end, true, nil)
			if err != nil {
				return err
			}
			contacts := make([]int64, 0, len(reads))
			for id := range reads {
				contacts = append(contacts, id)
			}
			slices.Sort(contacts)
			for _, id := range contacts {
				if r.IntN(100) >= 35 {
					continue
				}
				at := time.UnixMilli(reads[id][0]).Add(time.Duration(30+r.IntN(20*60)) * time.Second)
				for _, e := range menuFlow(r, at, map[string]any{"origem": "campanha", "campanha": c.Name}) {
					e.Contact = json.RawMessage(strconv.FormatInt(id, 10))
					list = append(list, e)
				}
			}
		}
		list = slices.DeleteFunc(list, func(e tracking.EventInput) bool { return !e.At.Before(end) })
		slices.SortStableFunc(list, func(a, b tracking.EventInput) int { return a.At.Compare(*b.At) })
		for k := range list {
			list[k].Bot = &bot
			list[k].IdempotencyKey = fmt.Sprintf("demo-history-%d-%d", sa.ID, k)
		}
		n, err := recordAsOf(ctx, svc, sa.ID, list)
		if err != nil {
			return err
		}
		total += n
	}
	// The history is complete once its events are in the reports, not
	// only in the intake.
	if err := svc.Flush(ctx); err != nil {
		return err
	}
	slog.Info("demo history: the menu bots' event tracks are recorded", slog.Int("events", total))
	return nil
}

// recordAsOf records list (sorted by time) in batches of at most 1,000
// events of at most six days, each as of its last event's time: what the
// bots would have sent then.
func recordAsOf(ctx context.Context, svc *tracking.Service, sub int64, list []tracking.EventInput) (int, error) {
	total := 0
	for len(list) > 0 {
		n := 1
		for n < len(list) && n < tracking.MaxBatch && list[n].At.Sub(*list[0].At) < 6*24*time.Hour {
			n++
		}
		batch := list[:n]
		list = list[n:]
		asOf := *svc
		last := *batch[len(batch)-1].At
		asOf.Now = func() time.Time { return last.Add(time.Minute) }
		res, err := asOf.Record(ctx, access.System(), sub, batch)
		if err != nil {
			return total, err
		}
		if len(res.Errors) > 0 {
			return total, fmt.Errorf("demo event tracks: %d refused, the first: %s", len(res.Errors), res.Errors[0].Error)
		}
		total += res.Accepted
	}
	return total, nil
}

// menu records a live menu session of the contact with phone, now, by the
// subaccount's menu bot: what the bot does when a contact writes first.
func (g *Traffic) menu(ctx context.Context, sub int64, phone string) {
	if g.menuBots == nil {
		g.menuBots = map[int64]int64{}
		bots, err := g.Services.Tracking.Bots(ctx, access.System())
		if err != nil {
			slog.Warn("demo traffic: bots", slog.Any("err", err))
			return
		}
		for _, b := range bots {
			if b.Kind == domain.BotFlow && g.menuBots[b.SubaccountID] == 0 {
				g.menuBots[b.SubaccountID] = b.ID
			}
		}
	}
	bot := g.menuBots[sub]
	if bot == 0 {
		return
	}
	// The session began a few minutes ago; what it would do later is left
	// out.
	now := time.Now()
	list := slices.DeleteFunc(menuFlow(g.r, now.Add(-6*time.Minute), map[string]any{"origem": "menu"}),
		func(e tracking.EventInput) bool { return e.At.After(now) })
	for k := range list {
		list[k].Bot = &bot
		list[k].Contact = json.RawMessage(strconv.Quote(phone))
	}
	if _, err := g.Services.Tracking.Record(ctx, access.System(), sub, list); err != nil && ctx.Err() == nil {
		slog.Warn("demo traffic: event tracks", slog.Any("err", err))
	}
}
