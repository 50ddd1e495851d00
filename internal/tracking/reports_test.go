package tracking_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/tracking"
)

// record stores events through the service, failing on any refusal.
func record(t *testing.T, w *world, events []string) {
	t.Helper()
	for start := 0; start < len(events); start += tracking.MaxBatch {
		part := events[start:min(start+tracking.MaxBatch, len(events))]
		res, err := w.svc.Record(context.Background(), w.botP, 0, eventsOf(t, `{"events": [`+strings.Join(part, ",")+`]}`))
		if err != nil || len(res.Errors) > 0 {
			t.Fatalf("record: %+v %v", res, err)
		}
	}
	if err := w.svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func eventsOf(t *testing.T, body string) []tracking.EventInput { return events(t, body) }

func event(category, action string, contact int, at time.Time) string {
	return fmt.Sprintf(`{"category": %q, "action": %q, "contact": "+55119876%05d", "at": %q}`, category, action, contact, at.Format(time.RFC3339))
}

// TestFunnel: 100 contacts open the menu; the even ones ask for a boleto 10
// minutes later, the ones ending in 1 two hours later (too late for a 1 h
// funnel); every fourth pays 30 minutes after the boleto, and those ending
// in 5 pay without asking (not a funnel).
func TestFunnel(t *testing.T) {
	w := newWorld(t)
	t0 := w.now.Add(-48 * time.Hour)
	var list []string
	for i := range 100 {
		a := t0.Add(time.Duration(i) * time.Minute)
		list = append(list, event("Menu", "Abriu", i, a))
		switch {
		case i%2 == 0:
			list = append(list, event("Menu", "Boleto", i, a.Add(10*time.Minute)))
			if i%4 == 0 {
				list = append(list, event("Pagamento", "Pago", i, a.Add(40*time.Minute)))
			}
		case i%10 == 1:
			list = append(list, event("Menu", "Boleto", i, a.Add(2*time.Hour)))
		case i%10 == 5:
			list = append(list, event("Pagamento", "Pago", i, a.Add(20*time.Minute)))
		}
	}
	// A second opening of the menu does not count twice.
	list = append(list, event("Menu", "Abriu", 0, t0.Add(5*time.Hour)))
	record(t, w, list)
	res, err := w.svc.Funnel(context.Background(), w.sup1, tracking.FunnelQuery{Within: "1h",
		From: t0.Add(-time.Hour).Format(time.RFC3339), To: t0.Add(3 * time.Hour).Format(time.RFC3339),
		Steps: []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}, {Category: "Menu", Action: "Boleto"}, {Category: "Pagamento", Action: "Pago"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		contacts   int64
		conversion float64
		median     float64
	}{{100, 1, -1}, {50, 0.5, 600}, {25, 0.5, 1800}}
	for i, s := range res.Steps {
		med := -1.0
		if s.MedianSeconds != nil {
			med = *s.MedianSeconds
		}
		if s.Contacts != want[i].contacts || s.Conversion != want[i].conversion || med != want[i].median {
			t.Errorf("step %d: %+v (median %v), want %+v", i, s, med, want[i])
		}
	}
	// With 3 hours, the late boletos count too.
	res, err = w.svc.Funnel(context.Background(), w.sup1, tracking.FunnelQuery{Within: "3h",
		From: t0.Add(-time.Hour).Format(time.RFC3339), To: t0.Add(3 * time.Hour).Format(time.RFC3339),
		Steps: []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}, {Category: "Menu", Action: "Boleto"}}})
	if err != nil || res.Steps[1].Contacts != 60 {
		t.Errorf("3 h funnel: %+v %v", res, err)
	}
	for _, bad := range []tracking.FunnelQuery{
		{Steps: []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}}},
		{Steps: []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}, {Category: "Menu"}}},
		{Steps: []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}, {Campaign: 1, Stage: "opened"}}},
		{Steps: []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}, {Campaign: 1, Stage: "read", Action: "x"}}},
		{Steps: []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}, {Category: "Menu", Action: "Boleto"}}, Within: "forever"},
		{Steps: []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}, {Category: "Menu", Action: "Boleto"}}, Within: "90d"},
		{Steps: []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}, {Category: "Menu", Action: "Boleto"}}, From: "2025-01-01", To: "2026-01-01"},
	} {
		if _, err := w.svc.Funnel(context.Background(), w.sup1, bad); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := w.svc.Funnel(context.Background(), w.botP, tracking.FunnelQuery{Steps: []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}, {Category: "Menu", Action: "Boleto"}}}); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("a bot reading a funnel: %v", err)
	}
}

// TestEventReportBuckets: events at known times land in the right hours,
// days, weeks and months of São Paulo, with distinct contacts per bucket.
func TestEventReportBuckets(t *testing.T) {
	w := newWorld(t)
	w.now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) // Monday 09:00 in São Paulo
	at := func(day, hour int) time.Time { return time.Date(2026, 2, day, hour, 30, 0, 0, saoPaulo) }
	record(t, w, []string{
		event("Menu", "Boleto", 1, at(27, 10)), // Friday
		event("Menu", "Boleto", 1, at(27, 10)),
		event("Menu", "Boleto", 2, at(27, 11)),
		event("Menu", "Boleto", 1, at(28, 23)),                                  // Saturday night: still the 28th in São Paulo, the 1st in UTC
		event("Menu", "Boleto", 3, time.Date(2026, 3, 2, 8, 0, 0, 0, saoPaulo)), // Monday: a new week and month
	})
	q := func(g string) map[string][2]int64 {
		rows, err := w.svc.EventReport(context.Background(), w.sup1, tracking.EventQuery{Granularity: g,
			From: time.Date(2026, 2, 23, 0, 0, 0, 0, saoPaulo), To: time.Date(2026, 3, 3, 0, 0, 0, 0, saoPaulo)})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][2]int64{}
		for _, r := range rows {
			out[r.Period] = [2]int64{r.Count, r.Contacts}
		}
		return out
	}
	cases := map[string]map[string][2]int64{
		"day":   {"2026-02-27": {3, 2}, "2026-02-28": {1, 1}, "2026-03-02": {1, 1}},
		"week":  {"2026-02-23": {4, 2}, "2026-03-02": {1, 1}},
		"month": {"2026-02": {4, 2}, "2026-03": {1, 1}},
		"hour": {"2026-02-27T10:00:00-03:00": {2, 1}, "2026-02-27T11:00:00-03:00": {1, 1}, "2026-02-28T23:00:00-03:00": {1, 1},
			"2026-03-02T08:00:00-03:00": {1, 1}},
	}
	for g, want := range cases {
		got := q(g)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", g, got, want)
		}
	}
}

// TestConversations: a generated March with known figures. The bot sends to
// 40 contacts, every third answers it; 5 others write in twice without
// context (the channel's router's); a person sends to 3 of the bot's
// contacts; April and the other subaccount are elsewhere.
func TestConversations(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ch, err := w.st.Channel(ctx, *w.router.ChannelID)
	if err != nil {
		t.Fatal(err)
	}
	r := domain.Recipient{PhoneNumberID: ch.PhoneNumberID}
	var inbox int64
	apply := func(b *domain.WebhookBatch) {
		inbox++
		if _, err := w.st.ApplyWebhooks(ctx, []store.InboxBatch{{InboxID: inbox, ReceivedAt: time.Now(), Batch: b}}, inbox); err != nil {
			t.Fatal(err)
		}
	}
	campaign := int64(9)
	send := func(phone string, at time.Time, bot *int64, camp *int64) *domain.Message {
		c, err := w.st.UpsertContact(ctx, w.sub1, store.ContactInput{Phone: phone})
		if err != nil {
			t.Fatal(err)
		}
		m := &domain.Message{SubaccountID: w.sub1, ChannelID: ch.ID, ContactID: c.ID, Phone: c.Phone, WAID: c.WAID,
			ContentType: "text", Text: "Olá", At: at, State: domain.StateSending, Status: domain.StatusSending, BotID: bot, CampaignID: camp}
		if err := w.st.InsertOutbound(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
		return m
	}
	march := func(day, minute int) time.Time { return time.Date(2026, 3, day, 12, minute, 0, 0, saoPaulo) }
	bot := w.bot.ID
	for i := range 40 {
		phone := fmt.Sprintf("+55119876%05d", i)
		m := send(phone, march(i%28+1, 0), &bot, &campaign)
		wamid := fmt.Sprintf("wamid.C%d", i)
		if err := w.st.MarkAccepted(ctx, m.ID, wamid, m.WAID); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			apply(&domain.WebhookBatch{Statuses: []domain.StatusEvent{{Recipient: r, WAMID: wamid, State: domain.StateDelivered,
				Timestamp: march(i%28+1, 1), RecipientWAID: m.WAID}}})
		}
		if i%3 == 0 {
			apply(&domain.WebhookBatch{Messages: []domain.InboundMessage{{Recipient: r, WAMID: fmt.Sprintf("wamid.R%d", i), FromWAID: m.WAID,
				Timestamp: march(i%28+1, 5), Type: "text", Text: "Oi", ContextWAMID: wamid}}})
		}
	}
	for i := range 5 {
		for j := range 2 {
			apply(&domain.WebhookBatch{Messages: []domain.InboundMessage{{Recipient: r, WAMID: fmt.Sprintf("wamid.W%d-%d", i, j),
				FromWAID: fmt.Sprintf("55119877%05d", i), Timestamp: march(10+i, 20+j), Type: "text", Text: "Bom dia"}}})
		}
	}
	for i := range 3 {
		send(fmt.Sprintf("+55119876%05d", i), march(20, 30), nil, nil)
	}
	send("+5511987600001", time.Date(2026, 4, 2, 12, 0, 0, 0, saoPaulo), &bot, nil)

	res, err := w.svc.Conversations(ctx, w.sup1, tracking.ConversationQuery{From: "2026-03"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, row := range res.Rows {
		got[row.Bot] = fmt.Sprintf("%s %s mau=%d meu=%d in=%d out=%d", row.Month, row.BotName, row.MAU, row.MEU, row.MessagesIn, row.MessagesOut)
	}
	want := map[int64]string{
		w.bot.ID:    "2026-03 Atendimento mau=40 meu=14 in=14 out=40",
		w.router.ID: "2026-03 Roteador mau=5 meu=5 in=10 out=0",
		0:           "2026-03  mau=3 meu=0 in=0 out=3",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows:\n%v\nwant\n%v", got, want)
	}
	if len(res.Totals) != 1 || res.Totals[0].MAU != 45 || res.Totals[0].MEU != 19 || res.Totals[0].MessagesIn != 24 || res.Totals[0].MessagesOut != 43 {
		t.Errorf("totals: %+v", res.Totals)
	}
	two, err := w.svc.Conversations(ctx, w.sup1, tracking.ConversationQuery{From: "2026-03", To: "2026-04", BotID: bot})
	if err != nil || len(two.Rows) != 2 || two.Rows[1].Month != "2026-04" || two.Rows[1].MAU != 1 {
		t.Errorf("two months of the bot: %+v %v", two, err)
	}
	users, err := w.svc.ConversationUsers(ctx, w.sup1, tracking.ConversationQuery{From: "2026-03", BotID: w.router.ID}, 100)
	if err != nil || len(users) != 5 || users[0].MessagesIn != 2 || users[0].First.After(users[0].Last) {
		t.Errorf("the router's users: %+v %v", users, err)
	}
	other := w.svc
	if _, err := other.Conversations(ctx, w.sup1, tracking.ConversationQuery{From: "2026-03", BotID: w.other.ID}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("another subaccount's bot: %v", err)
	}
	for _, q := range []tracking.ConversationQuery{{From: "March"}, {From: "2026-05", To: "2026-03"}, {From: "2020-01", To: "2026-03"}} {
		if _, err := w.svc.Conversations(ctx, w.sup1, q); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%+v: %v", q, err)
		}
	}

	// The campaign's funnel: delivered (the even ones), then an action.
	w.now = time.Date(2026, 3, 30, 12, 0, 0, 0, saoPaulo)
	var list []string
	for i := 0; i < 40; i += 4 {
		list = append(list, event("Menu", "Boleto", i, time.Date(2026, 3, 29, 12, 0, 0, 0, saoPaulo)))
	}
	for i := 0; i < 40; i += 8 {
		c := i%28 + 1
		if c >= 23 { // within 7 days of now
			list = append(list, event("Menu", "Boleto", i, march(c, 31)))
		}
	}
	record(t, w, list)
	res2, err := w.svc.Funnel(ctx, w.sup1, tracking.FunnelQuery{From: "2026-03-23", To: "2026-03-28", Within: "1h",
		Steps: []tracking.FunnelStep{{Campaign: campaign, Stage: "delivered"}, {Category: "Menu", Action: "Boleto"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Delivered between the 23rd and the 28th: the even i with i%28+1 in
	// 23..28, i.e. i in {22, 24, 26} (and none past 28 in range). Of those,
	// 24 did the action 30 minutes after.
	if res2.Steps[0].Contacts != 3 || res2.Steps[1].Contacts != 1 || *res2.Steps[1].MedianSeconds != 1800 {
		t.Errorf("campaign funnel: %+v", res2.Steps)
	}
}

// TestFunnelRepeatedFirstStep: contacts open the menu every day, so a
// funnel's first step is answered from each contact's first time of the
// action (more events than contacts), going back to the events for the
// contacts who began before the period. 60 contacts open it on days -4 to
// -1 at 00:i; those ending in 0, 4 and 8 opened it on days -6 and -5 too
// (before the period); 10 others only on day -1 (after it). Contacts i%3
// == 0 ask for a boleto 10 minutes after their first opening in the
// period (recorded last), i%3 == 1 after one before it (and those of
// them who opened it before the period again 20 minutes after their first
// opening in it), i%3 == 2 a day after it (and those ending in 0 and 5
// of them 10 minutes before it and 15 after).
func TestFunnelRepeatedFirstStep(t *testing.T) {
	w := newWorld(t)
	day := func(k, i int) time.Time {
		return w.now.Add(time.Duration(k)*24*time.Hour + time.Duration(i)*time.Minute)
	}
	var list, late []string
	for i := range 70 {
		for k := -6; k <= -1; k++ {
			switch {
			case i >= 60 && k != -1, i < 60 && k < -4 && i%4 != 0:
				continue
			}
			if k == -4 && i%3 == 0 {
				late = append(late, event("Menu", "Abriu", i, day(k, i)))
				continue
			}
			list = append(list, event("Menu", "Abriu", i, day(k, i)))
		}
		switch {
		case i >= 60:
		case i%3 == 0:
			list = append(list, event("Menu", "Boleto", i, day(-4, i).Add(10*time.Minute)))
		case i%3 == 1 && i%4 == 0:
			list = append(list, event("Menu", "Boleto", i, day(-5, i).Add(10*time.Minute)),
				event("Menu", "Boleto", i, day(-4, i).Add(20*time.Minute)))
		case i%3 == 2:
			list = append(list, event("Menu", "Boleto", i, day(-3, i).Add(10*time.Minute)))
			if i%5 == 0 {
				list = append(list, event("Menu", "Boleto", i, day(-4, i).Add(-10*time.Minute)),
					event("Menu", "Boleto", i, day(-4, i).Add(15*time.Minute)))
			}
		}
	}
	// The first openings of the contacts asking for a boleto after them
	// arrive last: their first time goes back.
	record(t, w, list)
	record(t, w, late)
	steps := []tracking.FunnelStep{{Category: "Menu", Action: "Abriu"}, {Category: "Menu", Action: "Boleto"}}
	for _, c := range []struct {
		within string
		want   [2]int64
	}{{"1h", [2]int64{60, 29}}, {"25h", [2]int64{60, 45}}} {
		res, err := w.svc.Funnel(context.Background(), w.sup1, tracking.FunnelQuery{Within: c.within, Steps: steps,
			From: day(-4, 0).Add(-time.Hour).Format(time.RFC3339), To: day(-1, 0).Add(-time.Hour).Format(time.RFC3339)})
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]int64{res.Steps[0].Contacts, res.Steps[1].Contacts}; got != c.want {
			t.Errorf("within %s: %v, want %v", c.within, got, c.want)
		}
		if c.within == "1h" && (res.Steps[1].MedianSeconds == nil || *res.Steps[1].MedianSeconds != 600) {
			t.Errorf("within 1h: median %v, want 600", res.Steps[1].MedianSeconds)
		}
	}
	// From day -6 every contact's first time is in the period; those ending
	// in 0, 4 and 8 take it then, two days before their boletos, but those
	// of i%3 == 0 and 5, 35 and 50 of i%3 == 2 are still in time.
	res, err := w.svc.Funnel(context.Background(), w.sup1, tracking.FunnelQuery{Within: "1h", Steps: steps,
		From: day(-6, 0).Add(-time.Hour).Format(time.RFC3339), To: day(-1, 0).Add(-time.Hour).Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	if got := [2]int64{res.Steps[0].Contacts, res.Steps[1].Contacts}; got != [2]int64{60, 18} {
		t.Errorf("from day -6: %v, want [60 18]", got)
	}
}

// TestContactCountsAcrossBatches: events of three senders (a bot, the
// router, a supervisor without a bot) over eight days across a week's and a
// month's end, recorded a few at a time in random order, count in every
// report — by day, week and month, of every bot and of each — what counting
// the events' contacts directly gives.
func TestContactCountsAcrossBatches(t *testing.T) {
	w := newWorld(t)
	w.now = time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC) // Tuesday; 7 days back is February 24th
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 17))
	type ev struct {
		contact, sender int
		action          string
		at              time.Time
	}
	senders := []*access.Principal{w.botP, w.routerP, w.sup1}
	botOf := []int64{w.bot.ID, w.router.ID, 0}
	var list []ev
	for range 400 {
		list = append(list, ev{contact: r.IntN(12), sender: r.IntN(3), action: fmt.Sprintf("A%d", r.IntN(2)),
			at: w.now.Add(-time.Duration(r.IntN(7*24*60)) * time.Minute)})
	}
	for start := 0; start < len(list); {
		n := min(1+r.IntN(6), len(list)-start)
		for sender := range senders {
			var part []string
			for _, e := range list[start : start+n] {
				if e.sender == sender {
					part = append(part, event("Menu", e.action, e.contact, e.at))
				}
			}
			if len(part) == 0 {
				continue
			}
			res, err := w.svc.Record(ctx, senders[sender], 0, events(t, `{"events": [`+strings.Join(part, ",")+`]}`))
			if err != nil || len(res.Errors) > 0 {
				t.Fatalf("record: %+v %v", res, err)
			}
			// Each call folded on its own: the counts must add up
			// across the folder's transactions.
			if err := w.svc.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		start += n
	}
	label := func(g string, at time.Time) string {
		l := at.In(saoPaulo)
		y, m, d := l.Date()
		switch g {
		case "week":
			return time.Date(y, m, d-(int(l.Weekday())+6)%7, 0, 0, 0, 0, saoPaulo).Format("2006-01-02")
		case "month":
			return l.Format("2006-01")
		}
		return l.Format("2006-01-02")
	}
	for _, g := range []string{"day", "week", "month"} {
		for _, bot := range []int64{0, w.bot.ID, w.router.ID} {
			want := map[string][2]int64{}
			seen := map[string]bool{}
			for _, e := range list {
				if bot != 0 && botOf[e.sender] != bot {
					continue
				}
				k := label(g, e.at) + " " + e.action
				c := want[k]
				c[0]++
				if id := fmt.Sprint(k, e.contact); !seen[id] {
					seen[id] = true
					c[1]++
				}
				want[k] = c
			}
			rows, err := w.svc.EventReport(ctx, w.sup1, tracking.EventQuery{Granularity: g, BotID: bot,
				From: w.now.Add(-9 * 24 * time.Hour), To: w.now.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][2]int64{}
			for _, row := range rows {
				got[row.Period+" "+row.Action] = [2]int64{row.Count, row.Contacts}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s, bot %d:\n got %v\nwant %v", g, bot, got, want)
			}
		}
	}
}
