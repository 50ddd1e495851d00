package billing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

var saoPaulo, _ = time.LoadLocation("America/Sao_Paulo")

var numbers = []domain.Recipient{
	{WABAID: "300000000000001", PhoneNumberID: "400000000000001", DisplayPhone: "551130000001"},
	{WABAID: "300000000000001", PhoneNumberID: "400000000000002", DisplayPhone: "551130000002"},
}

// octoberPrice is the shipped card's price of a charged message in
// October 2026 (per-message pricing), in millionths of a dollar.
var octoberPrice = map[string]int64{"marketing": 62_500, "utility": 6_800, "authentication": 6_800}

// money writes millionths as dollars and cents, rounding half up.
func money(micros int64) string {
	cents := (micros + 5_000) / 10_000
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}

// world is a month of generated traffic and the report it must give,
// computed here from the rules of the issue, not from ticks's code.
type world struct {
	batches []*domain.WebhookBatch
	want    billing.Report
}

type event struct {
	at       time.Time
	inbound  bool
	referral bool
	template string // "" for a free-form reply
	fail     bool
}

// generate makes contacts' timelines around October 2026 (São Paulo):
// inbound messages, some from ads, and outbound templates of every
// category and free-form replies, and Meta's webhooks for them.
func generate(seed uint64, contacts int) *world {
	r := rand.New(rand.NewPCG(seed, 15))
	w := &world{}
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, saoPaulo)
	to := time.Date(2026, 11, 1, 0, 0, 0, 0, saoPaulo)
	type msgKey struct {
		cat, typ string
		billable bool
	}
	type phoneKey struct{ pn, cat string }
	msgs := map[msgKey]int64{}
	var total int64
	phones := map[phoneKey]*billing.PhoneCount{}
	phoneCost := map[phoneKey]int64{}
	msgCost := map[msgKey]int64{}
	days := map[string]*billing.DayCount{}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		days[d.Format(time.DateOnly)] = &billing.DayCount{Date: d.Format(time.DateOnly)}
	}
	want := &w.want
	seq := 0
	for c := range contacts {
		num := numbers[c%len(numbers)]
		waid := fmt.Sprintf("5511%09d", 900000000+c)
		// Start a little before the month so its edges are crossed.
		at := from.Add(-36*time.Hour + time.Duration(r.IntN(48*3600))*time.Second)
		var lastIn time.Time
		lastRef := false
		var convEnd time.Time
		convFEP := false
		for at.Before(to.Add(36 * time.Hour)) {
			ev := event{at: at}
			session := !lastIn.IsZero() && at.Before(lastIn.Add(24*time.Hour))
			switch x := r.IntN(10); {
			case x < 3:
				ev.inbound, ev.referral = true, r.IntN(3) == 0
			case x < 6 && session:
				// a free-form reply in the window
			default:
				ev.template = []string{"marketing", "utility", "authentication"}[r.IntN(3)]
				ev.fail = r.IntN(20) == 0
			}
			seq++
			wamid := fmt.Sprintf("wamid.gt.%d", seq)
			if ev.inbound {
				in := domain.InboundMessage{Recipient: num, WAMID: wamid, FromWAID: waid, Timestamp: at, Type: "text", Text: "oi"}
				if ev.referral {
					in.Referral = &domain.Referral{SourceType: "ad", SourceID: "ad1", CTWAClid: "clid"}
				}
				w.batches = append(w.batches, &domain.WebhookBatch{Messages: []domain.InboundMessage{in}})
				lastIn, lastRef = at, ev.referral
			} else {
				// Derive the conversation by the rules of SPEC 3.
				opens := domain.ConversationType("")
				if !at.Before(convEnd) {
					switch {
					case session && lastRef:
						opens, convEnd, convFEP = domain.ConversationFreeEntryPoint, at.Add(72*time.Hour), true
					case session:
						opens, convEnd, convFEP = domain.ConversationUserInitiated, at.Add(24*time.Hour), false
					default:
						opens, convEnd, convFEP = domain.ConversationBusinessInitiated, at.Add(24*time.Hour), false
					}
				}
				// What Meta charges.
				cat, typ, billable := ev.template, "regular", true
				switch {
				case convFEP:
					cat, typ, billable = "referral_conversion", "free_entry_point", false
				case ev.template == "":
					cat, typ, billable = "service", "free_customer_service", false
				case ev.template == "utility" && session:
					typ, billable = "free_customer_service", false
				}
				var st []domain.StatusEvent
				if ev.fail {
					cat, typ, billable = "", "", false
					st = append(st, domain.StatusEvent{Recipient: num, WAMID: wamid, State: domain.StateFailed, Timestamp: at,
						RecipientWAID: waid, Errors: []domain.MetaError{{Code: 131026, Title: "Message undeliverable"}}})
				} else {
					b := billable
					pr := &domain.Pricing{Model: "PMP", Category: cat, Type: typ, Billable: &b}
					st = append(st,
						domain.StatusEvent{Recipient: num, WAMID: wamid, State: domain.StateSent, Timestamp: at, RecipientWAID: waid, Pricing: pr},
						domain.StatusEvent{Recipient: num, WAMID: wamid, State: domain.StateDelivered, Timestamp: at.Add(3 * time.Second), RecipientWAID: waid, Pricing: pr})
					if r.IntN(2) == 0 {
						st = append(st, domain.StatusEvent{Recipient: num, WAMID: wamid, State: domain.StateRead, Timestamp: at.Add(40 * time.Second), RecipientWAID: waid})
					}
				}
				for i := range st {
					w.batches = append(w.batches, &domain.WebhookBatch{Statuses: st[i : i+1]})
				}
				if !at.Before(from) && at.Before(to) {
					rc := domain.ReportCategory(cat)
					msgs[msgKey{rc, typ, billable}]++
					pk := phoneKey{num.PhoneNumberID, rc}
					if phones[pk] == nil {
						phones[pk] = &billing.PhoneCount{PhoneNumberID: num.PhoneNumberID, DisplayPhone: num.DisplayPhone, Category: rc}
					}
					ph := phones[pk]
					ph.Messages++
					day := days[at.In(saoPaulo).Format(time.DateOnly)]
					if billable {
						want.Charged++
						ph.Charged++
						day.Charged++
						phoneCost[pk] += octoberPrice[rc]
						msgCost[msgKey{rc, typ, billable}] += octoberPrice[rc]
						total += octoberPrice[rc]
					} else {
						want.Free++
					}
					if opens != "" {
						ph.Conversations++
						day.Total++
						want.Conversations.Total++
						if billable {
							want.Conversations.Paid++
						} else {
							want.Conversations.Free++
						}
						switch opens {
						case domain.ConversationBusinessInitiated:
							want.Conversations.BusinessInitiated++
							day.BusinessInitiated++
						case domain.ConversationUserInitiated:
							want.Conversations.UserInitiated++
							day.UserInitiated++
						default:
							want.Conversations.FreeEntryPoint++
							day.FreeEntryPoint++
						}
					}
				}
			}
			at = at.Add(time.Duration(60+r.IntN(30*3600)) * time.Second)
		}
	}
	for k, n := range msgs {
		want.Messages = append(want.Messages, billing.MessageCount{Category: k.cat, PricingType: k.typ, Billable: k.billable, Count: n,
			Cost: money(msgCost[k])})
	}
	for k, p := range phones {
		p.Cost = money(phoneCost[k])
		want.ByPhone = append(want.ByPhone, *p)
	}
	want.EstimatedCost = money(total)
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		want.Daily = append(want.Daily, *days[d.Format(time.DateOnly)])
	}
	return w
}

// deliver applies the batches shuffled, a fifth of them twice, in groups
// as the processor would.
func deliver(t *testing.T, st *store.Store, batches []*domain.WebhookBatch, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	all := append([]*domain.WebhookBatch(nil), batches...)
	for _, b := range batches {
		if r.IntN(5) == 0 {
			all = append(all, b)
		}
	}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	id := int64(0)
	for len(all) > 0 {
		n := min(len(all), 1+r.IntN(40))
		items := make([]store.InboxBatch, n)
		for i := range items {
			id++
			items[i] = store.InboxBatch{InboxID: id, ReceivedAt: time.Now(), Batch: all[i]}
		}
		if _, err := st.ApplyWebhooks(context.Background(), items, id); err != nil {
			t.Fatalf("apply: %v", err)
		}
		all = all[n:]
	}
}

func sortReport(r *billing.Report) {
	sortBy(r.Messages, func(m billing.MessageCount) string {
		return fmt.Sprint(m.Category, m.PricingType, m.Billable)
	})
	sortBy(r.ByPhone, func(p billing.PhoneCount) string { return p.PhoneNumberID + p.Category })
}

func sortBy[T any](s []T, key func(T) string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if key(s[j]) < key(s[i]) {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func newService(st *store.Store, now time.Time) *billing.Service {
	svc := billing.New(st, saoPaulo)
	svc.Now = func() time.Time { return now }
	return svc
}

func report(t *testing.T, svc *billing.Service, p *access.Principal, q string) *billing.Report {
	t.Helper()
	v, _ := url.ParseQuery(q)
	query, err := svc.ParseQuery(v)
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.Consumption(context.Background(), p, query)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConsumptionGroundTruth(t *testing.T) {
	st := storetest.Open(t)
	// São Paulo's days (the report) and UTC's (the reconciliation) kept
	// from the start: the day level follows the deliveries as they come.
	for _, off := range []int64{-3, 0} {
		if err := st.KeepConsumptionDays(context.Background(), off); err != nil {
			t.Fatal(err)
		}
	}
	w := generate(1, 40)
	deliver(t, st, w.batches, 2)
	if err := st.CheckConsumption(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc := newService(st, time.Date(2026, 11, 5, 12, 0, 0, 0, saoPaulo))
	got := report(t, svc, access.System(), "month=2026-10")
	if !got.Partial || got.ConsolidatedOn != "2026-11-09" || got.PricingModel != "PMP" || got.ClosedAt != nil {
		t.Errorf("partial %v consolidated_on %s model %s closed %v", got.Partial, got.ConsolidatedOn, got.PricingModel, got.ClosedAt)
	}
	if got.Conversations != w.want.Conversations {
		t.Errorf("conversations\n got %+v\nwant %+v", got.Conversations, w.want.Conversations)
	}
	if got.Charged != w.want.Charged || got.Free != w.want.Free {
		t.Errorf("charged %d free %d, want %d %d", got.Charged, got.Free, w.want.Charged, w.want.Free)
	}
	if got.EstimatedCost != w.want.EstimatedCost || got.Currency != "USD" || got.Unpriced != 0 {
		t.Errorf("estimated cost %s %s (unpriced %d), want %s USD", got.EstimatedCost, got.Currency, got.Unpriced, w.want.EstimatedCost)
	}
	sortReport(got)
	sortReport(&w.want)
	for _, c := range []struct {
		name      string
		got, want any
	}{{"messages", got.Messages, w.want.Messages}, {"by_phone", got.ByPhone, w.want.ByPhone}, {"daily", got.Daily, w.want.Daily}} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s\n got %+v\nwant %+v", c.name, c.got, c.want)
		}
	}
	t.Logf("conversations %+v, charged %d, free %d", got.Conversations, got.Charged, got.Free)
	if w.want.Conversations.FreeEntryPoint == 0 || w.want.Conversations.UserInitiated == 0 || w.want.Conversations.Paid == 0 {
		t.Errorf("the generated month lacks a kind of conversation: %+v", w.want.Conversations)
	}

	// Delivered again, shuffled otherwise: the same report.
	deliver(t, st, w.batches, 3)
	again := report(t, svc, access.System(), "month=2026-10")
	sortReport(again)
	if !reflect.DeepEqual(again, got) {
		t.Errorf("a second delivery changed the report")
	}
}

// sent is a marketing template Meta priced, sent at a São Paulo time.
func sent(wamid, waid string, at time.Time, model string, billable bool) *domain.WebhookBatch {
	b := billable
	return &domain.WebhookBatch{Statuses: []domain.StatusEvent{{Recipient: numbers[0], WAMID: wamid, State: domain.StateSent,
		Timestamp: at, RecipientWAID: waid, Pricing: &domain.Pricing{Model: model, Category: "marketing", Type: "regular", Billable: &b}}}}
}

// TestClosingFreezesTheMonth: partial until the end of the 5th business day,
// then the month is a snapshot and what arrives later is an adjustment.
func TestClosingFreezesTheMonth(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	oct := func(day, hour int) time.Time { return time.Date(2026, 10, day, hour, 0, 0, 0, saoPaulo) }
	deliver(t, st, []*domain.WebhookBatch{
		sent("wamid.c1", "5511900000001", oct(1, 0), "PMP", true), // 03:00 UTC on the 1st
		sent("wamid.c2", "5511900000002", oct(31, 23), "PMP", true),
		sent("wamid.c3", "5511900000003", time.Date(2026, 11, 1, 0, 30, 0, 0, saoPaulo), "PMP", true),  // November
		sent("wamid.c4", "5511900000004", time.Date(2026, 9, 30, 23, 30, 0, 0, saoPaulo), "PMP", true), // September
	}, 1)

	before := newService(st, time.Date(2026, 11, 9, 23, 59, 0, 0, saoPaulo))
	r := report(t, before, access.System(), "month=2026-10")
	if !r.Partial || r.ClosedAt != nil || r.Conversations.Total != 2 || r.EstimatedCost != "0.13" {
		t.Fatalf("before the end of 9 November: partial %v closed %v conversations %d cost %s", r.Partial, r.ClosedAt,
			r.Conversations.Total, r.EstimatedCost)
	}
	if _, ok, _ := st.ConsumptionClosing(ctx, "2026-10"); ok {
		t.Fatal("a partial month was closed")
	}

	after := newService(st, time.Date(2026, 11, 10, 0, 0, 1, 0, saoPaulo))
	r = report(t, after, access.System(), "month=2026-10")
	if r.Partial || r.ClosedAt == nil || r.Conversations.Total != 2 || len(r.Adjustments) != 0 {
		t.Fatalf("after: partial %v closed %v conversations %d adjustments %v", r.Partial, r.ClosedAt, r.Conversations.Total, r.Adjustments)
	}
	closedAt := *r.ClosedAt

	// A message of 15 October seen only now, and a second message in c1's
	// conversation: the month's figures stay, the changes are adjustments.
	deliver(t, st, []*domain.WebhookBatch{
		sent("wamid.late", "5511900000009", oct(15, 10), "PMP", true),
		sent("wamid.c1b", "5511900000001", oct(1, 2), "PMP", false),
	}, 2)
	if err := st.CheckConsumption(ctx); err != nil { // the days and the closed month's changes followed
		t.Fatal(err)
	}
	later := newService(st, time.Date(2026, 12, 1, 0, 0, 0, 0, saoPaulo))
	r = report(t, later, access.System(), "month=2026-10")
	if r.Conversations.Total != 2 || r.Charged != 2 || r.EstimatedCost != "0.13" || !r.ClosedAt.Equal(closedAt) {
		t.Errorf("the closed month changed: %+v charged %d cost %s closed %v", r.Conversations, r.Charged, r.EstimatedCost, r.ClosedAt)
	}
	want := []billing.Adjustment{
		{Date: "2026-10-01", Category: "marketing", Messages: 1, Charged: 0, Conversations: 0, Cost: "0.00"},
		{Date: "2026-10-15", Category: "marketing", Messages: 1, Charged: 1, Conversations: 1, Cost: "0.06"},
	}
	if !reflect.DeepEqual(r.Adjustments, want) {
		t.Errorf("adjustments\n got %+v\nwant %+v", r.Adjustments, want)
	}
	// Closing again is a no-op.
	if _, err := later.Close(ctx, billing.Month{Year: 2026, Month: time.October}); err != nil {
		t.Fatal(err)
	}
	if r2 := report(t, later, access.System(), "month=2026-10"); !reflect.DeepEqual(r2, r) {
		t.Errorf("a second close changed the month")
	}

	// A time zone first asked for after the closing (UTC−5): its days are
	// counted from the hourly snapshot then. There October holds c2 and c3
	// (c1 and c4 fall on 30 September), and c1b on 1 October.
	rioBranco, err := time.LoadLocation("America/Rio_Branco")
	if err != nil {
		t.Fatal(err)
	}
	west := newService(st, time.Date(2026, 12, 1, 0, 0, 0, 0, saoPaulo))
	west.Location = rioBranco
	r = report(t, west, access.System(), "month=2026-10")
	if r.Partial || r.Conversations.Total != 2 || r.Charged != 2 || r.EstimatedCost != "0.13" || !r.ClosedAt.Equal(closedAt) {
		t.Errorf("UTC−5: %+v charged %d cost %s closed %v", r.Conversations, r.Charged, r.EstimatedCost, r.ClosedAt)
	}
	if !reflect.DeepEqual(r.Adjustments, want) {
		t.Errorf("UTC−5 adjustments\n got %+v\nwant %+v", r.Adjustments, want)
	}
	if err := st.CheckConsumption(ctx); err != nil {
		t.Fatal(err)
	}

	// A rebuild of the rollup from the messages leaves the days, the
	// closed month and its adjustments as they were.
	if err := st.RebuildConsumption(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.CheckConsumption(ctx); err != nil {
		t.Fatal(err)
	}
	if r2 := report(t, west, access.System(), "month=2026-10"); !reflect.DeepEqual(r2, r) {
		t.Errorf("a rebuild changed the report\n got %+v\nwant %+v", r2, r)
	}
}

// TestPricingModelAcrossJuly2025: June 2025 is priced per paid
// conversation, July 2025 per charged message, each with its own rates.
func TestPricingModelAcrossJuly2025(t *testing.T) {
	st := storetest.Open(t)
	deliver(t, st, []*domain.WebhookBatch{
		// One conversation of two marketing messages on 30 June...
		sent("wamid.j1", "5511900000001", time.Date(2025, 6, 30, 10, 0, 0, 0, saoPaulo), "CBP", true),
		sent("wamid.j2", "5511900000001", time.Date(2025, 6, 30, 11, 0, 0, 0, saoPaulo), "CBP", true),
		// ... and the same on 1 July.
		sent("wamid.k1", "5511900000002", time.Date(2025, 7, 1, 10, 0, 0, 0, saoPaulo), "PMP", true),
		sent("wamid.k2", "5511900000002", time.Date(2025, 7, 1, 11, 0, 0, 0, saoPaulo), "PMP", true),
	}, 1)
	svc := newService(st, time.Date(2026, 1, 1, 0, 0, 0, 0, saoPaulo))
	june := report(t, svc, access.System(), "month=2025-06")
	july := report(t, svc, access.System(), "month=2025-07")
	if june.PricingModel != "CBP" || june.Conversations.Paid != 1 || june.Charged != 2 || june.EstimatedCost != "0.06" {
		t.Errorf("June 2025: %s, %d paid conversations, %d charged, cost %s; want CBP, 1, 2, 0.06 (one conversation)",
			june.PricingModel, june.Conversations.Paid, june.Charged, june.EstimatedCost)
	}
	if july.PricingModel != "PMP" || july.Conversations.Paid != 1 || july.Charged != 2 || july.EstimatedCost != "0.13" {
		t.Errorf("July 2025: %s, %d paid conversations, %d charged, cost %s; want PMP, 1, 2, 0.13 (two messages)",
			july.PricingModel, july.Conversations.Paid, july.Charged, july.EstimatedCost)
	}
}

func TestConsumptionIsForAdmins(t *testing.T) {
	st := storetest.Open(t)
	svc := newService(st, time.Date(2026, 11, 5, 12, 0, 0, 0, saoPaulo))
	for _, role := range []domain.Role{domain.RoleSupervisor, domain.RoleAgent, domain.RoleViewer} {
		p := &access.Principal{Role: role, Scope: []int64{2}}
		if _, err := svc.Consumption(context.Background(), p, billing.Query{Month: billing.Month{Year: 2026, Month: time.October}}); domain.ErrorCode(err) != domain.EFORBIDDEN {
			t.Errorf("%s: %v, want forbidden", role, err)
		}
		if _, err := svc.RateCard(p); domain.ErrorCode(err) != domain.EFORBIDDEN {
			t.Errorf("%s on the rate card: %v, want forbidden", role, err)
		}
	}
	// A month without traffic answers zeros.
	r := report(t, svc, access.System(), "month=2026-10")
	if r.Conversations.Total != 0 || r.EstimatedCost != "0.00" || len(r.Daily) != 31 || len(r.Messages) != 0 {
		t.Errorf("an empty month: %+v", r)
	}
}
