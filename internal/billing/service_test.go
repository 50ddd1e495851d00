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
	phones := map[phoneKey]*billing.PhoneCount{}
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
		want.Messages = append(want.Messages, billing.MessageCount{Category: k.cat, PricingType: k.typ, Billable: k.billable, Count: n})
	}
	for _, p := range phones {
		want.ByPhone = append(want.ByPhone, *p)
	}
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
