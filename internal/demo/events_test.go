package demo

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/tracking"
)

// checkEventTracks checks what the history's menu bots recorded (issue
// 17): menu sessions on every day, each of the menu's options, the
// campaign readers who opened the menu after reading (a funnel from a
// campaign's reads), and conversation metrics per bot.
func checkEventTracks(t *testing.T, srv *server.Server, state *State, dsn string) {
	t.Helper()
	ctx := context.Background()
	svc := srv.Services.Tracking
	sys := access.System()
	from, to := state.HistoryEnd.AddDate(0, 0, -HistoryDays), state.HistoryEnd.Add(time.Minute)
	rows, err := svc.EventReport(ctx, sys, tracking.EventQuery{From: from, To: to, Granularity: domain.GranularityDay})
	if err != nil {
		t.Fatal(err)
	}
	days := map[string]bool{}
	actions := map[string]int64{}
	for _, r := range rows {
		if r.Contacts < 1 || r.Contacts > r.Count {
			t.Errorf("%s %s/%s: %d events of %d contacts", r.Period, r.Category, r.Action, r.Count, r.Contacts)
		}
		if r.Action == MenuOpened {
			days[r.Period] = true
		}
		actions[r.Action] += r.Count
	}
	if len(days) < HistoryDays-1 {
		t.Errorf("the menu was opened on %d days of the history's %d", len(days), HistoryDays)
	}
	for _, a := range append(slices.Clone(MenuOptions), MenuOpened, "Boleto pago", "Transferido para atendente") {
		if actions[a] == 0 {
			t.Errorf("no event %q in the history (%v)", a, actions)
		}
	}
	if actions[MenuOpened] <= actions["2ª via de boleto"] || actions["2ª via de boleto"] <= actions["Boleto pago"] {
		t.Errorf("the menu's flow narrows: opened %d, boleto %d, paid %d", actions[MenuOpened], actions["2ª via de boleto"], actions["Boleto pago"])
	}

	// The campaign with the most reads: about a third of its readers open
	// the menu, 30 s to 20 min after reading.
	var campaign, reads int64
	db := rawDB(t, dsn)
	if err := db.QueryRow(`SELECT campaign_id, COUNT(DISTINCT contact_id) FROM messages WHERE campaign_id IS NOT NULL AND read_at IS NOT NULL
		GROUP BY campaign_id ORDER BY 2 DESC, 1 LIMIT 1`).Scan(&campaign, &reads); err != nil {
		t.Fatal(err)
	}
	f, err := svc.Funnel(ctx, sys, tracking.FunnelQuery{Within: "1h", From: from.Format(time.RFC3339), To: to.Format(time.RFC3339),
		Steps: []tracking.FunnelStep{{Campaign: campaign, Stage: "read"}, {Category: MenuCategory, Action: MenuOpened}}})
	if err != nil {
		t.Fatal(err)
	}
	read, opened := f.Steps[0], f.Steps[1]
	if read.Contacts != reads || opened.Contacts < reads/6 || opened.Contacts > reads/2 || opened.MedianSeconds == nil ||
		*opened.MedianSeconds < 30 || *opened.MedianSeconds > 21*60 {
		t.Errorf("campaign %d's funnel: %d readers (want %d), %d opened the menu, median %v s: want about a third within 20 minutes",
			campaign, read.Contacts, reads, opened.Contacts, opened.MedianSeconds)
	}

	t.Logf("event tracks: %v; campaign %d: %d readers, %d opened the menu within an hour (median %.0f s)",
		actions, campaign, read.Contacts, opened.Contacts, *opened.MedianSeconds)

	// The conversation metrics show the demo's bots.
	bots, err := svc.Bots(ctx, sys)
	if err != nil || len(bots) != 4 {
		t.Fatalf("the demo has %d bots (%v), want a router and a menu bot of each subaccount", len(bots), err)
	}
	end := state.HistoryEnd.In(svc.Location)
	conv, err := svc.Conversations(ctx, sys, tracking.ConversationQuery{From: end.AddDate(0, -3, 0).Format("2006-01"), To: end.Format("2006-01")})
	if err != nil {
		t.Fatal(err)
	}
	withBot := 0
	for _, r := range conv.Rows {
		if slices.ContainsFunc(bots, func(b domain.Bot) bool { return b.ID == r.Bot }) && r.MAU > 0 && r.MessagesOut > 0 {
			withBot++
		}
	}
	t.Logf("conversation metrics: %d rows, %d of the demo's bots", len(conv.Rows), withBot)
	if withBot == 0 {
		t.Errorf("no month of the conversation metrics has a demo bot's messages: %+v", conv.Rows)
	}
}
