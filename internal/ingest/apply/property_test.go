package apply

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// The property: applying a batch's events in any order, with duplicates,
// plans the same outcome as applying them once in order. A generated world
// (channels, contacts and messages as the store would preload them) and a
// generated set of webhooks, of every kind the rules know, are planned once
// in order, and then shuffled with duplicates.

// person is someone writing to or written to by the business. Every event
// about a person names them the same way, as Meta does.
type person struct {
	waID, userID, name string
}

var people = []person{
	{"5511987650000", "", "Ana"},
	{"551187650001", "", "Bia"}, // a Brazilian WhatsApp id without the ninth digit
	{"5521987650002", "BR.2", "Caio"},
	{"", "BR.3", "Duda"}, // a business-scoped user id alone
	{"5531987650004", "", "Edu"},
	{"14155550005", "US.5", "Fay"},
	{"abc6", "", "Gil"}, // a placeholder wa_id
}

// The business's numbers: two channels of two subaccounts, and a number no
// channel owns.
var numbers = []domain.Recipient{
	{WABAID: "W1", PhoneNumberID: "PN1", DisplayPhone: "15550000001"},
	{WABAID: "W2", PhoneNumberID: "PN2", DisplayPhone: "15550000002"},
	{WABAID: "W9", PhoneNumberID: "PN9", DisplayPhone: "15550000009"},
}

// genWorld is everything the store holds before the batch.
type genWorld struct {
	channels map[string]Channel
	wabas    map[string]int64
	contacts []Contact
	messages map[string]*Message
}

func newGenWorld(r *rand.Rand) *genWorld {
	w := &genWorld{
		channels: map[string]Channel{"PN1": {10, 2}, "PN2": {11, 3}},
		wabas:    map[string]int64{"W1": 2, "W2": 3},
		contacts: []Contact{
			{ID: 30, SubaccountID: 2, PhoneKey: "+5511987650000", WAID: "5511987650000"},
			{ID: 31, SubaccountID: 2, PhoneKey: "+5511987650001", WAID: "5511987650001"}, // stored with the ninth digit
			{ID: 32, SubaccountID: 2, PhoneKey: "+5521987650002", WAID: "5521987650002"}, // without its user id
			{ID: 35, SubaccountID: 2, UserID: "US.5"},                                    // without its wa_id
			{ID: 40, SubaccountID: 3, PhoneKey: "+5511987650000", WAID: "5511987650000"},
		},
		messages: map[string]*Message{},
	}
	contactOf := map[int64]int64{2: 30, 3: 40}
	for i := 0; i < 6; i++ {
		ch := w.channels[[]string{"PN1", "PN2"}[i%2]]
		m := &Message{ID: int64(1000 + i), WAMID: fmt.Sprintf("w.api.%d", i), SubaccountID: ch.SubaccountID,
			ChannelID: ch.ID, ContactID: contactOf[ch.SubaccountID], Direction: "mt", Origin: "api",
			At: ts(int64(r.IntN(600))), Phone: "+5511987650000", WAID: "5511987650000", Status: "sent",
			ContentType: "template", TemplateCategory: "marketing", ConversationType: "business_initiated"}
		m.Progress.State, m.Progress.SentAt, m.Progress.PricingRank = domain.StateSent, m.At, -1
		if i%3 == 0 {
			m.CampaignID, m.SenderUserID = int64(7+i), int64(3)
		}
		if i == 5 {
			m.BotID = 9
		}
		w.messages[m.WAMID] = m
	}
	for i := 0; i < 3; i++ {
		m := &Message{ID: int64(2000 + i), WAMID: fmt.Sprintf("w.hook.%d", i), SubaccountID: 2, ChannelID: 10,
			ContactID: 31, Direction: "mt", Origin: "webhook", At: ts(int64(300 + r.IntN(600))), Phone: "+5511987650001",
			WAID: "551187650001", Status: "sent", ConversationType: "business_initiated"}
		m.Progress.State, m.Progress.SentAt, m.Progress.PricingRank = domain.StateSent, m.At, -1
		w.messages[m.WAMID] = m
	}
	old := &Message{ID: 3000, WAMID: "w.in.old", SubaccountID: 2, ChannelID: 10, ContactID: 30, Direction: "mo",
		Origin: "webhook", At: ts(100), Status: "received", ContentType: "text"}
	w.messages[old.WAMID] = old
	return w
}

// preload is what the store would read of w for items: only what the
// lookups ask for, as fresh copies (Plan changes the rows).
func (w *genWorld) preload(items []Webhook) *Preload {
	pre := &Preload{Messages: map[string]*Message{}, Channels: map[string]Channel{}, WABAs: map[string]int64{}}
	for _, id := range MessageIDs(items) {
		if m := w.messages[id]; m != nil {
			c := *m
			pre.Messages[id] = &c
		}
	}
	pnids, wabas := ChannelsNamed(items)
	for _, id := range pnids {
		if c, ok := w.channels[id]; ok {
			pre.Channels[id] = c
		}
	}
	for _, id := range wabas {
		if sa, ok := w.wabas[id]; ok {
			pre.WABAs[id] = sa
		}
	}
	for _, l := range ContactsNamed(items, pre) {
		for _, c := range w.contacts {
			if c.SubaccountID == l.SubaccountID && ((c.PhoneKey != "" && slices.Contains(l.PhoneKeys, c.PhoneKey)) ||
				(c.UserID != "" && slices.Contains(l.UserIDs, c.UserID))) {
				pre.Contacts = append(pre.Contacts, c)
			}
		}
	}
	return pre
}

// everything is all of w, as a store that preloaded more than asked would.
func (w *genWorld) everything() *Preload {
	pre := &Preload{Messages: map[string]*Message{}, Channels: w.channels, WABAs: w.wabas, Contacts: w.contacts}
	for id, m := range w.messages {
		c := *m
		pre.Messages[id] = &c
	}
	return pre
}

// genWebhooks makes webhooks of every kind about w: statuses of messages
// ticks sent, of messages it saw only through webhooks and of messages it
// never saw, inbound messages (replies, opt-out keywords, a system notice,
// one already stored), preferences, template and account changes, errors
// and unknown fields.
func genWebhooks(r *rand.Rand, w *genWorld) []Webhook {
	var batches []*domain.WebhookBatch
	add := func(b *domain.WebhookBatch) { batches = append(batches, b) }
	pick := func(n int) int { return r.IntN(n) }
	var wamids []string
	for id, m := range w.messages {
		if m.Direction == "mt" {
			wamids = append(wamids, id)
		}
	}
	slices.Sort(wamids)
	type target struct {
		rcpt domain.Recipient
		who  person
	}
	targets := map[string]target{}
	for i := 0; i < 6; i++ {
		id := fmt.Sprintf("w.new.%d", i)
		wamids = append(wamids, id)
		targets[id] = target{numbers[pick(len(numbers))], people[pick(len(people))]}
	}
	codes := []int{131026, 131050, 131047, 131048, 130472}
	categories := []string{"utility", "marketing", "service", "authentication"}
	for _, id := range wamids {
		tg, ok := targets[id]
		if !ok {
			m := w.messages[id]
			tg = target{numbers[m.ChannelID-10], person{waID: m.WAID}}
		}
		for _, state := range []domain.State{domain.StateSent, domain.StateDelivered, domain.StateRead, domain.StateFailed} {
			if pick(3) == 0 || (state == domain.StateFailed && pick(2) == 0) {
				continue
			}
			e := domain.StatusEvent{Recipient: tg.rcpt, WAMID: id, State: state, Timestamp: ts(int64(200 + pick(900))),
				RecipientWAID: tg.who.waID, RecipientUserID: tg.who.userID, ProfileName: tg.who.name}
			if state == domain.StateFailed {
				e.Errors = []domain.MetaError{{Code: codes[pick(len(codes))], Title: "failed", Details: "why"}}
			}
			if pick(2) == 0 {
				billable := pick(2) == 0
				e.Pricing = &domain.Pricing{Model: "PMP", Category: categories[pick(len(categories))], Type: "regular", Billable: &billable}
			}
			if pick(4) == 0 {
				e.Conversation = &domain.MetaConversation{ID: fmt.Sprintf("c%d", pick(3)), Origin: "marketing", ExpiresAt: ts(90000)}
			}
			add(&domain.WebhookBatch{Statuses: []domain.StatusEvent{e}})
		}
	}
	texts := []string{"oi", "SAIR", " sair ", "quero", "stop please"}
	for i := 0; i < 8; i++ {
		who, rc := people[pick(len(people))], numbers[pick(len(numbers))]
		e := domain.InboundMessage{Recipient: rc, WAMID: fmt.Sprintf("w.in.%d", i), FromWAID: who.waID, FromUserID: who.userID,
			ProfileName: who.name, Timestamp: ts(int64(100 + pick(900))), Type: "text", Text: texts[pick(len(texts))]}
		switch pick(5) {
		case 0:
			e.ContextWAMID = fmt.Sprintf("w.api.%d", pick(6))
		case 1:
			e.Referral = &domain.Referral{SourceType: "ad", SourceID: "123"}
		case 2:
			e.Type, e.Text = "system", ""
		case 3:
			e.WAMID = "w.in.old"
		}
		add(&domain.WebhookBatch{Messages: []domain.InboundMessage{e}})
	}
	for i := 0; i < 5; i++ {
		who := people[pick(len(people))]
		add(&domain.WebhookBatch{Preferences: []domain.PreferenceEvent{{Recipient: numbers[pick(len(numbers))], WAID: who.waID,
			UserID: who.userID, Category: "marketing_messages", Value: []string{"stop", "resume"}[pick(2)],
			Timestamp: ts(int64(100 * pick(4)))}}})
	}
	for i := 0; i < 3; i++ {
		e := domain.TemplateEvent{WABAID: []string{"W1", "W9"}[pick(2)], Field: "message_template_status_update", Name: "promo",
			Language: "pt_BR", Status: []string{"APPROVED", "PAUSED"}[pick(2)], Timestamp: ts(int64(100 * pick(3)))}
		add(&domain.WebhookBatch{Templates: []domain.TemplateEvent{e}})
	}
	add(&domain.WebhookBatch{Accounts: []domain.AccountEvent{
		{Recipient: numbers[pick(len(numbers))], Field: "account_update", Event: "UPGRADE", Tier: "TIER_10K", Timestamp: ts(int64(pick(500)))},
		{Recipient: domain.Recipient{WABAID: "W1", DisplayPhone: "15550000001"}, Field: "phone_number_quality_update", Event: "FLAGGED", Timestamp: ts(50)},
		{Recipient: domain.Recipient{WABAID: "W2"}, Field: "account_update", Tier: "TIER_1K", Timestamp: ts(60)},
	}})
	add(&domain.WebhookBatch{Errors: []domain.ErrorEvent{{Recipient: numbers[0], Errors: []domain.MetaError{{Code: 130429, Title: "Rate limit hit"}}}}})
	add(&domain.WebhookBatch{Errors: []domain.ErrorEvent{{Recipient: numbers[1], Errors: []domain.MetaError{{Code: 131000, Title: "Something"}}, Timestamp: ts(70)}}})
	add(&domain.WebhookBatch{Unknown: []domain.UnknownChange{{Recipient: numbers[2], Field: "calls", Value: []byte(`{"n":1}`)}}})

	// Meta sends several changes in one webhook at times.
	r.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	var items []Webhook
	for i := 0; i < len(batches); {
		b := *batches[i]
		for n := pick(3); n > 0 && i+1 < len(batches); n-- {
			i++
			o := batches[i]
			b.Statuses, b.Messages = append(b.Statuses, o.Statuses...), append(b.Messages, o.Messages...)
			b.Preferences, b.Templates = append(b.Preferences, o.Preferences...), append(b.Templates, o.Templates...)
			b.Accounts, b.Errors, b.Unknown = append(b.Accounts, o.Accounts...), append(b.Errors, o.Errors...), append(b.Unknown, o.Unknown...)
		}
		i++
		items = append(items, Webhook{InboxID: int64(len(items) + 1), ReceivedAt: received, Batch: &b})
	}
	return items
}

// shuffled is items in another order, some of them twice (a webhook
// delivered again keeps its inbox row when the inbox is replayed).
func shuffled(r *rand.Rand, items []Webhook) []Webhook {
	out := slices.Clone(items)
	for i := 0; i < 1+len(items)/3; i++ {
		out = append(out, items[r.IntN(len(items))])
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// outcome describes what a plan writes, in terms that do not depend on the
// order it was planned in: channels and contacts by their outside
// identities instead of provisional ids; sets instead of lists where the
// store's writes commute (an event is recorded once per hash; template and
// channel updates keep the latest). The order of the writes, the Moved
// flag (which only picks the statement) and a new contact's name (set
// again by the inbound updates, which are here) are left out.
func outcome(plan *Plan, pre *Preload) string {
	channel := func(id int64) string {
		if id < 0 {
			return "new:" + plan.NewChannels[-id-1].PhoneNumberID
		}
		return fmt.Sprint(id)
	}
	contact := func(id int64) string {
		if id < 0 {
			c := plan.NewContacts[-id-1]
			return fmt.Sprintf("new:%d|%s|%s", c.SubaccountID, c.PhoneKey, c.UserID)
		}
		return fmt.Sprint(id)
	}
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	set := map[string]bool{}
	line := func(format string, args ...any) { set[fmt.Sprintf(format, args...)] = true }
	for id, m := range pre.Messages {
		p := &m.Progress
		billable := "-"
		if p.Pricing.Billable != nil {
			billable = fmt.Sprint(*p.Pricing.Billable)
		}
		line("message %s sa=%d ch=%s contact=%s %s %s at=%d cat=%q phone=%s wa=%s user=%s c/s/b=%d/%d/%d state=%s status=%s err=%d %q %q sent=%d delivered=%d read=%d failed=%d pricing=%s/%s/%s/%s rank=%d meta=%+v new=%v written=%v",
			id, m.SubaccountID, channel(m.ChannelID), contact(m.ContactID), m.Direction, m.Origin, ms(m.At), m.TemplateCategory,
			m.Phone, m.WAID, m.UserID, m.CampaignID, m.SenderUserID, m.BotID, p.State, p.Status(), p.ErrorCode, p.ErrorTitle,
			p.ErrorDetail, ms(p.SentAt), ms(p.DeliveredAt), ms(p.ReadAt), ms(p.FailedAt), p.Pricing.Model, p.Pricing.Category,
			p.Pricing.Type, billable, p.PricingRank, p.MetaConversation, m.New, m.changed || m.New || m.inbound)
	}
	written := 0
	for _, m := range plan.Messages {
		if m.changed || m.New {
			written++
		}
	}
	line("messages to write %d of %d listed", written, len(plan.Messages))
	for _, c := range plan.NewChannels {
		c.ID = 0
		line("new channel %+v", c)
	}
	for _, c := range plan.NewContacts {
		line("new contact %d %q %q %q %q", c.SubaccountID, c.Phone, c.PhoneKey, c.WAID, c.UserID)
	}
	for _, c := range plan.ContactIDs {
		line("contact ids %s %q %q %q %q", contact(c.ContactID), c.UserID, c.WAID, c.Phone, c.PhoneKey)
	}
	for _, in := range plan.Inbound {
		line("inbound %s %q %q %q %q %q %d %q %q %v %q", in.Message.WAMID, in.Text, in.ContextWAMID, in.ButtonPayload,
			in.Referral, in.Content, in.ErrorCode, in.ErrorTitle, in.ErrorDetail, in.FromContact, in.ProfileName)
	}
	for _, o := range plan.OptOuts {
		line("opt-out %s %v %d", contact(o.ContactID), o.Stop, ms(o.At))
	}
	for _, u := range plan.Templates {
		line("template %d %s %s %s %s %s %s %s %s %d", u.SubaccountID, u.WABAID, u.MetaID, u.Name, u.Language, u.Category,
			u.Status, u.Quality, u.Reason, ms(u.At))
	}
	for _, u := range plan.ChannelUpdates {
		line("channel update %s %q %q %q %q %d", channel(u.ChannelID), u.DisplayPhone, u.WABAID, u.Tier, u.Quality, ms(u.At))
	}
	for _, e := range plan.Events {
		line("event %s %d %s %s %q %q %s %d", e.Hash, e.SubaccountID, channel(e.ChannelID), e.Field, e.Event, e.Detail, e.Payload, ms(e.At))
	}
	for k, t := range plan.Timelines {
		line("timeline %s %s from %d", channel(k.ChannelID), contact(k.ContactID), ms(t))
	}
	for k, n := range plan.Rollup {
		if n != 0 {
			line("rollup %+v %d", k, n)
		}
	}
	line("stubs %d inbound %d", plan.Stats.StubsCreated, plan.Stats.Inbound)
	lines := make([]string, 0, len(set))
	for l := range set {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// checkAnyOrder plans a generated batch in order and shuffled with
// duplicates, and fails when the outcomes differ.
func checkAnyOrder(t *testing.T, seed, shuffle uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	w := newGenWorld(r)
	items := genWebhooks(r, w)
	rules := Rules{OptOutKeywords: []string{"SAIR", "PARAR"}}

	plan := func(items []Webhook, pre *Preload) string {
		t.Helper()
		p, err := rules.Plan(items, pre)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		return outcome(p, pre)
	}
	pre := w.preload(items)
	want := plan(items, pre)

	// Reading more than the lookups ask for changes nothing: they ask for
	// everything the plan needs.
	all := w.everything()
	if got := plan(items, all); !sameOutcome(t, got, want) {
		t.Fatalf("seed %d: the lookups miss rows the plan needs", seed)
	}

	again := shuffled(rand.New(rand.NewPCG(seed, shuffle)), items)
	if got := plan(again, w.preload(again)); !sameOutcome(t, got, want) {
		t.Fatalf("seed %d, shuffle %d: %d webhooks shuffled with duplicates plan another outcome", seed, shuffle, len(again))
	}
}

// sameOutcome compares outcomes, ignoring the rows a store that preloaded
// everything holds beyond the batch's own, and reports the first difference.
func sameOutcome(t *testing.T, got, want string) bool {
	t.Helper()
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	inW := map[string]bool{}
	for _, l := range w {
		inW[l] = true
	}
	inG := map[string]bool{}
	for _, l := range g {
		inG[l] = true
	}
	ok := true
	for _, l := range w {
		if !inG[l] {
			t.Errorf("missing: %s", l)
			ok = false
		}
	}
	for _, l := range g {
		if !inW[l] && !(strings.HasPrefix(l, "message ") && strings.HasSuffix(l, "written=false")) {
			t.Errorf("extra:   %s", l)
			ok = false
		}
	}
	return ok
}

func TestPlanInAnyOrder(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 50
	}
	for seed := uint64(1); seed <= uint64(n); seed++ {
		checkAnyOrder(t, seed, seed*7919)
		if t.Failed() {
			return
		}
	}
}

func FuzzPlanInAnyOrder(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(42), uint64(7))
	f.Add(uint64(1287), uint64(621)) // a set-aside event beside the event creating its channel
	f.Fuzz(func(t *testing.T, seed, shuffle uint64) {
		checkAnyOrder(t, seed, shuffle)
	})
}
