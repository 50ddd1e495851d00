package apply

import (
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// The business number the tests' webhooks are addressed to, owned by
// channel 10 of subaccount 2.
var rcpt = domain.Recipient{WABAID: "W1", PhoneNumberID: "PN1", DisplayPhone: "15550001111"}

const (
	channelID    = 10
	subaccountID = 2
	contactID    = 30
	contactWAID  = "5511987654321"
)

func ts(sec int64) time.Time { return time.Unix(1750000000+sec, 0).UTC() }

var received = ts(10_000)

// webhooks wraps each batch in an inbox row of its own.
func webhooks(batches ...*domain.WebhookBatch) []Webhook {
	items := make([]Webhook, len(batches))
	for i, b := range batches {
		items[i] = Webhook{InboxID: int64(i + 1), ReceivedAt: received, Batch: b}
	}
	return items
}

func statuses(events ...domain.StatusEvent) *domain.WebhookBatch {
	return &domain.WebhookBatch{Statuses: events}
}

func status(wamid string, state domain.State, sec int64, errs ...domain.MetaError) domain.StatusEvent {
	return domain.StatusEvent{Recipient: rcpt, WAMID: wamid, State: state, Timestamp: ts(sec), RecipientWAID: contactWAID, Errors: errs}
}

func inbound(wamid, text string, sec int64) domain.InboundMessage {
	return domain.InboundMessage{Recipient: rcpt, WAMID: wamid, FromWAID: contactWAID, ProfileName: "Ana",
		Timestamp: ts(sec), Type: "text", Text: text}
}

// sent is a message ticks sent to the contact, as the store preloads it.
func sent(wamid string) *Message {
	m := &Message{ID: 100, WAMID: wamid, SubaccountID: subaccountID, ChannelID: channelID, ContactID: contactID,
		Direction: "mt", Origin: "api", At: ts(0), Phone: "+" + contactWAID, WAID: contactWAID,
		Status: "sending", ContentType: "template", TemplateCategory: "utility", ConversationType: "business_initiated"}
	m.Progress.State, m.Progress.PricingRank = domain.StateSending, -1
	return m
}

// world is what the store would preload: the channel of rcpt and the
// contact, with the given messages.
func world(msgs ...*Message) *Preload {
	pre := &Preload{Messages: map[string]*Message{}, Channels: map[string]Channel{rcpt.PhoneNumberID: {channelID, subaccountID}},
		WABAs:    map[string]int64{rcpt.WABAID: subaccountID},
		Contacts: []Contact{{ID: contactID, SubaccountID: subaccountID, PhoneKey: "+" + contactWAID, WAID: contactWAID}}}
	for _, m := range msgs {
		pre.Messages[m.WAMID] = m
	}
	return pre
}

func mustPlan(t *testing.T, r Rules, items []Webhook, pre *Preload) *Plan {
	t.Helper()
	plan, err := r.Plan(items, pre)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return plan
}

func TestStatusMerge(t *testing.T) {
	undeliverable := domain.MetaError{Code: 131026, Title: "Message undeliverable", Details: "Message Undeliverable."}
	spam := domain.MetaError{Code: 131048, Title: "Spam rate limit hit", Message: "too many"}
	for _, tc := range []struct {
		name      string
		events    []domain.StatusEvent
		state     domain.State
		status    domain.Status
		delivered int64 // seconds, -1 for none
		read      int64
		errCode   int
		errDetail string
		changed   int // events that changed the message
	}{
		{"in order", []domain.StatusEvent{status("w", domain.StateSent, 1), status("w", domain.StateDelivered, 2), status("w", domain.StateRead, 3)},
			domain.StateRead, domain.StatusRead, 2, 3, 0, "", 3},
		{"out of order", []domain.StatusEvent{status("w", domain.StateRead, 3), status("w", domain.StateDelivered, 2), status("w", domain.StateSent, 1)},
			domain.StateRead, domain.StatusRead, 2, 3, 0, "", 3},
		{"duplicates", []domain.StatusEvent{status("w", domain.StateDelivered, 2), status("w", domain.StateDelivered, 2), status("w", domain.StateDelivered, 2)},
			domain.StateDelivered, domain.StatusDelivered, 2, -1, 0, "", 1},
		{"read implies delivered", []domain.StatusEvent{status("w", domain.StateRead, 3)},
			domain.StateRead, domain.StatusRead, 3, 3, 0, "", 1},
		{"failed is terminal and keeps its times", []domain.StatusEvent{status("w", domain.StateFailed, 2, undeliverable), status("w", domain.StateDelivered, 3), status("w", domain.StateRead, 4)},
			domain.StateFailed, domain.StatusUndelivered, -1, -1, 131026, "Message Undeliverable.", 1},
		{"a delivery before the failure stays", []domain.StatusEvent{status("w", domain.StateDelivered, 1), status("w", domain.StateFailed, 2, undeliverable), status("w", domain.StateRead, 4)},
			domain.StateFailed, domain.StatusUndelivered, 1, -1, 131026, "Message Undeliverable.", 2},
		{"a failure reported late takes back the times after it", []domain.StatusEvent{status("w", domain.StateDelivered, 3), status("w", domain.StateRead, 4), status("w", domain.StateFailed, 2, undeliverable)},
			domain.StateFailed, domain.StatusUndelivered, -1, -1, 131026, "Message Undeliverable.", 3},
		{"the earliest failure's reason", []domain.StatusEvent{status("w", domain.StateFailed, 5, undeliverable), status("w", domain.StateFailed, 2, spam)},
			domain.StateFailed, domain.StatusRejected, -1, -1, 131048, "too many", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sent("w")
			plan := mustPlan(t, Rules{}, webhooks(statuses(tc.events...)), world(m))
			p := m.Progress
			if p.State != tc.state || p.Status() != tc.status {
				t.Errorf("state %s status %s, want %s %s", p.State, p.Status(), tc.state, tc.status)
			}
			for _, c := range []struct {
				what string
				got  time.Time
				want int64
			}{{"delivered", p.DeliveredAt, tc.delivered}, {"read", p.ReadAt, tc.read}} {
				if (c.want < 0) != c.got.IsZero() || (c.want >= 0 && !c.got.Equal(ts(c.want))) {
					t.Errorf("%s at %v, want %d", c.what, c.got, c.want)
				}
			}
			if p.ErrorCode != tc.errCode || p.ErrorDetail != tc.errDetail {
				t.Errorf("error %d %q, want %d %q", p.ErrorCode, p.ErrorDetail, tc.errCode, tc.errDetail)
			}
			if plan.Stats.Statuses != len(tc.events) || plan.Stats.StatusesChanged != tc.changed {
				t.Errorf("stats %+v, want %d statuses of which %d changed", plan.Stats, len(tc.events), tc.changed)
			}
			if len(plan.Messages) != 1 || plan.Messages[0] != m || m.New || m.Moved {
				t.Errorf("messages to write %v, want the preloaded row, unmoved", plan.Messages)
			}
			if !m.At.Equal(ts(0)) || len(plan.Timelines) != 0 {
				t.Errorf("a message ticks sent moved: at %v, timelines %v", m.At, plan.Timelines)
			}
		})
	}
}

// TestStatusOfAnUnknownMessage: a status of a message ticks did not send
// creates its row, at its first status's time, in the category Meta priced
// it in, with a contact of its own.
func TestStatusOfAnUnknownMessage(t *testing.T) {
	marketing := &domain.Pricing{Model: "PMP", Category: "marketing", Type: "regular"}
	read, delivered := status("w.new", domain.StateRead, 30), status("w.new", domain.StateDelivered, 20)
	read.Pricing = marketing
	read.RecipientWAID, delivered.RecipientWAID = "5521999998888", "5521999998888"
	pre := world()
	plan := mustPlan(t, Rules{}, webhooks(statuses(read, delivered)), pre)
	if len(plan.Messages) != 1 {
		t.Fatalf("%d messages to write, want 1", len(plan.Messages))
	}
	m := plan.Messages[0]
	if !m.New || m.Counted() || m.Direction != "mt" || m.Origin != "webhook" || m.ChannelID != channelID || m.SubaccountID != subaccountID {
		t.Errorf("row %+v, want a new mt webhook row on the channel", m)
	}
	if !m.At.Equal(ts(20)) || m.TemplateCategory != "marketing" || m.Progress.State != domain.StateRead {
		t.Errorf("at %v category %q state %s, want the first status's time, marketing, read", m.At, m.TemplateCategory, m.Progress.State)
	}
	if len(plan.NewContacts) != 1 || m.ContactID != -1 || m.Phone != "+5521999998888" {
		t.Fatalf("new contacts %+v, message contact %d phone %q", plan.NewContacts, m.ContactID, m.Phone)
	}
	if c := plan.NewContacts[0]; c.SubaccountID != subaccountID || c.PhoneKey != "+5521999998888" || c.WAID != "5521999998888" {
		t.Errorf("new contact %+v", c)
	}
	if got := plan.Timelines[TimelineKey{channelID, -1}]; !got.Equal(ts(20)) || len(plan.Timelines) != 1 {
		t.Errorf("timelines %v, want the contact's from the first status", plan.Timelines)
	}
	if plan.Stats.StubsCreated != 1 || pre.Messages["w.new"] != m {
		t.Errorf("stubs %d; the row is not among the batch's messages", plan.Stats.StubsCreated)
	}
	plan.NewContacts[0].ID = 77
	if err := plan.Resolve(); err != nil {
		t.Fatal(err)
	}
	if _, ok := plan.Timelines[TimelineKey{channelID, 77}]; m.ContactID != 77 || !ok {
		t.Errorf("after Resolve: contact %d, timelines %v", m.ContactID, plan.Timelines)
	}
}

// TestMessageSeenOnlyThroughWebhooksMoves: a row created from a status
// earlier takes an earlier status's time, and counts its move in the rollup.
func TestMessageSeenOnlyThroughWebhooksMoves(t *testing.T) {
	m := sent("w")
	m.Origin, m.At, m.Status, m.TemplateCategory = "webhook", ts(7200), "sent", ""
	m.Progress.State, m.Progress.SentAt = domain.StateSent, ts(7200)
	plan := mustPlan(t, Rules{}, webhooks(statuses(status("w", domain.StateDelivered, 10))), world(m))
	if !m.Moved || !m.At.Equal(ts(10)) {
		t.Errorf("moved %v at %v, want moved to the delivered status's time", m.Moved, m.At)
	}
	if got := plan.Timelines[TimelineKey{channelID, contactID}]; !got.Equal(ts(10)) {
		t.Errorf("timeline from %v, want %v", got, ts(10))
	}
	from := RollupKey{SubaccountID: subaccountID, Direction: "mt", Hour: ts(7200).UnixMilli() / 3600000, Status: "sent",
		Accepted: true, ContentType: "template", ConversationType: "business_initiated"}
	to := from
	to.Hour, to.Status = ts(10).UnixMilli()/3600000, "delivered"
	if len(plan.Rollup) != 2 || plan.Rollup[from] != -1 || plan.Rollup[to] != 1 {
		t.Errorf("rollup moves %v, want one from %v to %v", plan.Rollup, from, to)
	}
}

func TestRollupCountsOnlyPreloadedRowsThatMoved(t *testing.T) {
	m := sent("w")
	m.CampaignID = 5
	plan := mustPlan(t, Rules{}, webhooks(statuses(status("w", domain.StateSent, 1), status("w", domain.StateRead, 2),
		status("w.other", domain.StateSent, 3))), world(m))
	from := m.rollupKey(true)
	from.Status, from.Accepted = "sending", true
	to := from
	to.Status = "read"
	if !from.Attributed || from.CampaignID != 5 {
		t.Fatalf("key %+v is not attributed to campaign 5", from)
	}
	if len(plan.Rollup) != 2 || plan.Rollup[from] != -1 || plan.Rollup[to] != 1 {
		t.Errorf("rollup moves %v, want only the preloaded row's, sending to read", plan.Rollup)
	}
	if !m.Counted() || plan.Messages[1].Counted() {
		t.Errorf("counted: preloaded %v, new %v", m.Counted(), plan.Messages[1].Counted())
	}
}

// TestUnknownPhoneNumberGoesToUnassigned: what is sent to a phone number
// no channel owns gets a channel in the unassigned subaccount, once.
func TestUnknownPhoneNumberGoesToUnassigned(t *testing.T) {
	other := domain.Recipient{WABAID: "W9", PhoneNumberID: "PN9", DisplayPhone: "15559990000"}
	in := inbound("w.in", "oi", 5)
	in.Recipient = other
	st := status("w.new", domain.StateSent, 6)
	st.Recipient = other
	acct := domain.AccountEvent{Recipient: other, Field: "account_update", Event: "VERIFIED_ACCOUNT", Tier: "TIER_1K", Timestamp: ts(7)}
	plan := mustPlan(t, Rules{}, webhooks(&domain.WebhookBatch{Statuses: []domain.StatusEvent{st},
		Messages: []domain.InboundMessage{in}, Accounts: []domain.AccountEvent{acct}}), world())
	want := NewChannel{SubaccountID: domain.UnassignedSubaccountID, Name: "Unassigned 15559990000", WABAID: "W9",
		PhoneNumberID: "PN9", DisplayPhone: "15559990000"}
	if len(plan.NewChannels) != 1 || plan.NewChannels[0] != want {
		t.Fatalf("new channels %+v, want %+v", plan.NewChannels, want)
	}
	// The contact is the unassigned subaccount's, not the one of the
	// channel's subaccount that has the same number.
	if len(plan.NewContacts) != 1 || plan.NewContacts[0].SubaccountID != domain.UnassignedSubaccountID {
		t.Fatalf("new contacts %+v, want one in the unassigned subaccount", plan.NewContacts)
	}
	m, row := plan.Messages[0], plan.Inbound[0].Message
	if m.ChannelID != -1 || row.ChannelID != -1 || m.SubaccountID != domain.UnassignedSubaccountID || row.ContactID != m.ContactID {
		t.Errorf("status row %+v, inbound row %+v, want both on the new channel with one contact", m, row)
	}
	if len(plan.ChannelUpdates) != 1 || plan.ChannelUpdates[0].ChannelID != -1 || plan.Events[0].ChannelID != -1 {
		t.Errorf("channel updates %+v, events %+v, want them on the new channel", plan.ChannelUpdates, plan.Events)
	}
	plan.NewChannels[0].ID, plan.NewContacts[0].ID = 91, 92
	if err := plan.Resolve(); err != nil {
		t.Fatal(err)
	}
	if m.ChannelID != 91 || row.ChannelID != 91 || row.ContactID != 92 || plan.ChannelUpdates[0].ChannelID != 91 ||
		plan.Events[0].ChannelID != 91 {
		t.Errorf("after Resolve: status row %+v, inbound row %+v, %+v, %+v", m, row, plan.ChannelUpdates, plan.Events)
	}
	if _, ok := plan.Timelines[TimelineKey{91, 92}]; !ok || len(plan.Timelines) != 1 {
		t.Errorf("timelines after Resolve: %v", plan.Timelines)
	}
}

func TestResolveRefusesUncreatedRows(t *testing.T) {
	e := status("w.new", domain.StateSent, 1)
	e.RecipientWAID = "5521999998888"
	plan := mustPlan(t, Rules{}, webhooks(statuses(e)), world())
	if len(plan.NewContacts) != 1 {
		t.Fatalf("new contacts %+v", plan.NewContacts)
	}
	if err := plan.Resolve(); err == nil {
		t.Fatal("Resolve accepted a contact the store did not create")
	}
}

func TestOptOut(t *testing.T) {
	optedOut := domain.MetaError{Code: 131050, Title: "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages"}
	undeliverable := domain.MetaError{Code: 131026, Title: "Message undeliverable"}
	pref := func(value string, sec int64) domain.PreferenceEvent {
		return domain.PreferenceEvent{Recipient: rcpt, WAID: contactWAID, Category: "marketing_messages", Value: value, Timestamp: ts(sec)}
	}
	system := inbound("w.sys", "STOP", 8)
	system.Type = "system"
	keywords := Rules{OptOutKeywords: []string{"SAIR", "Parar"}}
	for _, tc := range []struct {
		name  string
		rules Rules
		batch *domain.WebhookBatch
		want  []OptOut // nil: none
	}{
		{"a failure Meta reports as opted out", Rules{}, statuses(status("w", domain.StateFailed, 5, optedOut)),
			[]OptOut{{contactID, true, ts(5)}}},
		{"even when the message had already failed", Rules{}, statuses(status("w", domain.StateFailed, 4, undeliverable), status("w", domain.StateFailed, 5, optedOut)),
			[]OptOut{{contactID, true, ts(5)}}},
		{"another failure", Rules{}, statuses(status("w", domain.StateFailed, 5, undeliverable)), nil},
		{"a keyword, any case, trimmed", keywords, &domain.WebhookBatch{Messages: []domain.InboundMessage{inbound("w.in", "  sair \n", 6)}},
			[]OptOut{{contactID, true, ts(6)}}},
		{"another configured keyword", keywords, &domain.WebhookBatch{Messages: []domain.InboundMessage{inbound("w.in", "PARAR", 6)}},
			[]OptOut{{contactID, true, ts(6)}}},
		{"a text holding a keyword", keywords, &domain.WebhookBatch{Messages: []domain.InboundMessage{inbound("w.in", "sair agora", 6)}}, nil},
		{"a keyword not configured", keywords, &domain.WebhookBatch{Messages: []domain.InboundMessage{inbound("w.in", "STOP", 6)}}, nil},
		{"a system notice", Rules{OptOutKeywords: []string{"STOP"}}, &domain.WebhookBatch{Messages: []domain.InboundMessage{system}}, nil},
		{"user_preferences stop", Rules{}, &domain.WebhookBatch{Preferences: []domain.PreferenceEvent{pref("stop", 5)}},
			[]OptOut{{contactID, true, ts(5)}}},
		{"the latest wins", Rules{}, &domain.WebhookBatch{Preferences: []domain.PreferenceEvent{pref("resume", 9), pref("stop", 5)}},
			[]OptOut{{contactID, false, ts(9)}}},
		{"the latest wins, reversed", Rules{}, &domain.WebhookBatch{Preferences: []domain.PreferenceEvent{pref("stop", 5), pref("resume", 9)}},
			[]OptOut{{contactID, false, ts(9)}}},
		{"at the same instant a stop wins", Rules{}, &domain.WebhookBatch{Preferences: []domain.PreferenceEvent{pref("stop", 5), pref("resume", 5)}},
			[]OptOut{{contactID, true, ts(5)}}},
		{"at the same instant a stop wins, reversed", Rules{}, &domain.WebhookBatch{Preferences: []domain.PreferenceEvent{pref("resume", 5), pref("stop", 5)}},
			[]OptOut{{contactID, true, ts(5)}}},
		{"a failure, then a later resume", Rules{}, &domain.WebhookBatch{Statuses: []domain.StatusEvent{status("w", domain.StateFailed, 5, optedOut)},
			Preferences: []domain.PreferenceEvent{pref("resume", 9)}}, []OptOut{{contactID, false, ts(9)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := mustPlan(t, tc.rules, webhooks(tc.batch), world(sent("w")))
			if len(plan.OptOuts) != len(tc.want) {
				t.Fatalf("opt-outs %+v, want %+v", plan.OptOuts, tc.want)
			}
			for i, o := range plan.OptOuts {
				if w := tc.want[i]; o.ContactID != w.ContactID || o.Stop != w.Stop || !o.At.Equal(w.At) {
					t.Errorf("opt-out %+v, want %+v", o, w)
				}
			}
		})
	}
}

// TestOptOutIsTheDomainsOptedOutStatus: whatever code the domain's table
// maps to opted_out opts the contact out; the rules name no code.
func TestOptOutIsTheDomainsOptedOutStatus(t *testing.T) {
	for code := 0; code < 140000; code++ {
		e := status("w", domain.StateFailed, 5, domain.MetaError{Code: code})
		plan := mustPlan(t, Rules{}, webhooks(statuses(e)), world(sent("w")))
		if got, want := len(plan.OptOuts) == 1, domain.StatusFromMetaError(code) == domain.StatusOptedOut; got != want {
			t.Fatalf("code %d: opted out %v, want %v", code, got, want)
		}
		if code == 0 {
			code = 130000 // the codes between are outside every Meta range
		}
	}
}

func TestInbound(t *testing.T) {
	campaign := sent("w.campaign")
	campaign.CampaignID, campaign.SenderUserID, campaign.BotID = 5, 6, 7
	reply := inbound("w.reply", "quero", 50)
	reply.ContextWAMID = "w.campaign"
	reply.Referral = &domain.Referral{SourceType: "ad", SourceID: "123"}
	orphan := inbound("w.orphan", "e aí", 60)
	orphan.ContextWAMID = "w.unknown"
	orphan.Errors = []domain.MetaError{{Code: 131051, Title: "Unsupported message type", Message: "not supported"}}
	known := inbound("w.known", "já gravada", 70)
	pre := world(campaign, &Message{ID: 101, WAMID: "w.known", Direction: "mo", Origin: "webhook"})
	plan := mustPlan(t, Rules{}, webhooks(&domain.WebhookBatch{Messages: []domain.InboundMessage{reply, orphan, known, reply}}), pre)
	if len(plan.Inbound) != 2 || plan.Stats.Inbound != 2 {
		t.Fatalf("%d inbound to insert (stats %d), want the reply and the orphan once each", len(plan.Inbound), plan.Stats.Inbound)
	}
	r, o := plan.Inbound[0], plan.Inbound[1]
	if m := r.Message; m.CampaignID != 5 || m.SenderUserID != 6 || m.BotID != 7 || m.ContactID != contactID ||
		m.ChannelID != channelID || m.Direction != "mo" || !m.At.Equal(ts(50)) || m.ContentType != "text" {
		t.Errorf("reply row %+v, want the campaign, user and bot of the message it answers", m)
	}
	if !r.FromContact || r.ProfileName != "Ana" || r.Text != "quero" || r.Referral != `{"source_id":"123","source_type":"ad"}` {
		t.Errorf("reply %+v", r)
	}
	if m := o.Message; m.CampaignID != 0 || o.ErrorCode != 131051 || o.ErrorTitle != "Unsupported message type" || o.ErrorDetail != "not supported" {
		t.Errorf("orphan %+v, row %+v", o, m)
	}
	if got := plan.Timelines[TimelineKey{channelID, contactID}]; !got.Equal(ts(50)) {
		t.Errorf("timeline from %v, want the first inbound message's time", got)
	}
	if len(plan.NewContacts) != 0 || len(plan.ContactIDs) != 0 {
		t.Errorf("contacts created %+v, learnt %+v, want the known one", plan.NewContacts, plan.ContactIDs)
	}
}

func TestSystemNoticeOpensNoSession(t *testing.T) {
	notice := inbound("w.sys", "", 5)
	notice.Type = "system"
	plan := mustPlan(t, Rules{}, webhooks(&domain.WebhookBatch{Messages: []domain.InboundMessage{notice}}), world())
	if len(plan.Inbound) != 1 || plan.Inbound[0].FromContact || len(plan.Timelines) != 0 {
		t.Errorf("inbound %+v, timelines %v, want the notice stored, nothing derived", plan.Inbound, plan.Timelines)
	}
}

func TestInboundWithoutSenderIsAnError(t *testing.T) {
	nobody := inbound("w.in", "oi", 5)
	nobody.FromWAID = ""
	_, err := Rules{}.Plan(webhooks(statuses(), &domain.WebhookBatch{Messages: []domain.InboundMessage{nobody}}), world())
	if domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(err.Error(), "apply inbox 2: inbound w.in") {
		t.Errorf("error %v, want an invalid inbox 2", err)
	}
}

func TestContactKeys(t *testing.T) {
	for _, tc := range []struct {
		waID, userID, key, phone string
	}{
		{"5511987654321", "", "+5511987654321", "+5511987654321"},
		{"551187654321", "", "+5511987654321", "+5511987654321"}, // Brazilian mobile without the ninth digit
		{"551133334444", "", "+551133334444", "+551133334444"},   // a landline keeps its eight digits
		{"14155552671", "US.13491208655302741918", "+14155552671", "+14155552671"},
		{"not-a-number", "", "wa:not-a-number", ""},
		{"not-a-number", "US.1", "", ""}, // keyed by the user id alone
		{"", "US.1", "", ""},
		{"", "", "", ""},
	} {
		if key := contactKey(tc.waID, tc.userID); key != tc.key || phoneOf(key) != tc.phone {
			t.Errorf("contactKey(%q, %q) = %q (phone %q), want %q (%q)", tc.waID, tc.userID, key, phoneOf(key), tc.key, tc.phone)
		}
	}
}

// TestContactsMatched: the ids a batch names find one contact whatever form
// they come in, and a contact learns the ids it lacked.
func TestContactsMatched(t *testing.T) {
	byUser := Contact{ID: 31, SubaccountID: subaccountID, UserID: "BR.1"}
	for _, tc := range []struct {
		name    string
		batch   *domain.WebhookBatch
		created []NewContact
		learnt  []ContactIDs
		ids     []int64 // the contact of each message, in order: statuses, then inbound
	}{
		{"with and without the ninth digit", &domain.WebhookBatch{
			Statuses: []domain.StatusEvent{{Recipient: rcpt, WAMID: "a", State: domain.StateSent, Timestamp: ts(1), RecipientWAID: "552187654321"}},
			Messages: []domain.InboundMessage{{Recipient: rcpt, WAMID: "b", FromWAID: "5521987654321", Timestamp: ts(2), Type: "text"}}},
			[]NewContact{{SubaccountID: subaccountID, Phone: "+5521987654321", PhoneKey: "+5521987654321", WAID: "552187654321"}},
			nil, []int64{-1, -1}},
		{"the preloaded contact, by its stored key", &domain.WebhookBatch{
			Statuses: []domain.StatusEvent{{Recipient: rcpt, WAMID: "a", State: domain.StateSent, Timestamp: ts(1), RecipientWAID: "551187654321"}}},
			nil, nil, []int64{contactID}},
		{"a business-scoped user id alone", &domain.WebhookBatch{
			Messages: []domain.InboundMessage{{Recipient: rcpt, WAMID: "a", FromUserID: "BR.2", Timestamp: ts(1), Type: "text"},
				{Recipient: rcpt, WAMID: "b", FromUserID: "BR.2", Timestamp: ts(2), Type: "text"}}},
			[]NewContact{{SubaccountID: subaccountID, UserID: "BR.2"}}, nil, []int64{-1, -1}},
		{"a user id and a placeholder wa_id are keyed by the user id", &domain.WebhookBatch{
			Messages: []domain.InboundMessage{{Recipient: rcpt, WAMID: "a", FromWAID: "000", FromUserID: "BR.3", Timestamp: ts(1), Type: "text"}}},
			[]NewContact{{SubaccountID: subaccountID, WAID: "000", UserID: "BR.3"}}, nil, []int64{-1}},
		{"a known user id learns its wa_id", &domain.WebhookBatch{
			Messages: []domain.InboundMessage{{Recipient: rcpt, WAMID: "a", FromWAID: "5531987654321", FromUserID: "BR.1", Timestamp: ts(1), Type: "text"},
				{Recipient: rcpt, WAMID: "b", FromWAID: "5531987654321", FromUserID: "BR.1", Timestamp: ts(2), Type: "text"}}},
			nil, []ContactIDs{{ContactID: 31, UserID: "BR.1", WAID: "5531987654321", Phone: "+5531987654321", PhoneKey: "+5531987654321"}},
			[]int64{31, 31}},
		{"a known phone learns its user id", &domain.WebhookBatch{
			Messages: []domain.InboundMessage{{Recipient: rcpt, WAMID: "a", FromWAID: contactWAID, FromUserID: "BR.9", Timestamp: ts(1), Type: "text"}}},
			nil, []ContactIDs{{ContactID: contactID, UserID: "BR.9", WAID: contactWAID, Phone: "+" + contactWAID, PhoneKey: "+" + contactWAID}},
			[]int64{contactID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pre := world()
			pre.Contacts = append(pre.Contacts, byUser)
			plan := mustPlan(t, Rules{}, webhooks(tc.batch), pre)
			if !equalSlices(plan.NewContacts, tc.created) || !equalSlices(plan.ContactIDs, tc.learnt) {
				t.Errorf("created %+v learnt %+v, want %+v %+v", plan.NewContacts, plan.ContactIDs, tc.created, tc.learnt)
			}
			var ids []int64
			for _, m := range plan.Messages {
				ids = append(ids, m.ContactID)
			}
			for _, in := range plan.Inbound {
				ids = append(ids, in.Message.ContactID)
			}
			if !equalSlices(ids, tc.ids) {
				t.Errorf("contacts of the messages %v, want %v", ids, tc.ids)
			}
		})
	}
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTemplateAndAccountEvents(t *testing.T) {
	tmpl := domain.TemplateEvent{WABAID: "W1", Field: "message_template_status_update", TemplateID: "T1", Name: "pedido",
		Language: "pt_BR", Status: "REJECTED", Reason: "INVALID_FORMAT", Timestamp: ts(5)}
	quality := domain.TemplateEvent{WABAID: "W8", Field: "message_template_quality_update", Name: "promo", Language: "pt_BR", Quality: "RED"}
	nameless := domain.TemplateEvent{WABAID: "W1", Field: "template_category_update", Category: "MARKETING", Timestamp: ts(6)}
	tier := domain.AccountEvent{Recipient: rcpt, Field: "account_update", Event: "UPGRADE", Tier: "TIER_10K", Timestamp: ts(7)}
	byDisplay := domain.AccountEvent{Recipient: domain.Recipient{WABAID: "W1", DisplayPhone: "15550001111"},
		Field: "phone_number_quality_update", Event: "FLAGGED", Timestamp: ts(8)}
	waba := domain.AccountEvent{Recipient: domain.Recipient{WABAID: "W1"}, Field: "account_update", Tier: "TIER_1K", Timestamp: ts(9)}
	plain := domain.AccountEvent{Recipient: domain.Recipient{WABAID: "W1"}, Field: "business_capability_update", Timestamp: ts(10)}
	plan := mustPlan(t, Rules{}, webhooks(&domain.WebhookBatch{Templates: []domain.TemplateEvent{tmpl, quality, nameless},
		Accounts: []domain.AccountEvent{tier, byDisplay, waba, plain}}), world())

	wantTemplates := []TemplateUpdate{
		{SubaccountID: subaccountID, WABAID: "W1", MetaID: "T1", Name: "pedido", Language: "pt_BR", Status: "REJECTED", Reason: "INVALID_FORMAT", At: ts(5)},
		{SubaccountID: domain.UnassignedSubaccountID, WABAID: "W8", Name: "promo", Language: "pt_BR", Quality: "RED", At: received},
	}
	if !equalSlices(plan.Templates, wantTemplates) {
		t.Errorf("templates %+v, want %+v", plan.Templates, wantTemplates)
	}
	wantChannels := []ChannelUpdate{
		{ChannelID: channelID, Tier: "TIER_10K", At: ts(7)},
		{DisplayPhone: "15550001111", Quality: "FLAGGED", At: ts(8)},
		{WABAID: "W1", Tier: "TIER_1K", At: ts(9)},
	}
	if !equalSlices(plan.ChannelUpdates, wantChannels) {
		t.Errorf("channel updates %+v, want %+v", plan.ChannelUpdates, wantChannels)
	}
	type ev struct {
		sa, ch               int64
		field, event, detail string
		at                   time.Time
	}
	want := []ev{
		{subaccountID, 0, "message_template_status_update", "REJECTED", "pedido pt_BR INVALID_FORMAT", ts(5)},
		{domain.UnassignedSubaccountID, 0, "message_template_quality_update", "RED", "promo pt_BR ", received},
		{subaccountID, 0, "template_category_update", "MARKETING", "  ", ts(6)},
		{subaccountID, channelID, "account_update", "UPGRADE", "", ts(7)},
		{subaccountID, 0, "phone_number_quality_update", "FLAGGED", "", ts(8)},
		{subaccountID, 0, "account_update", "", "", ts(9)},
		{subaccountID, 0, "business_capability_update", "", "", ts(10)},
	}
	if len(plan.Events) != len(want) {
		t.Fatalf("%d events, want %d", len(plan.Events), len(want))
	}
	hashes := map[string]bool{}
	for i, e := range plan.Events {
		if got := (ev{e.SubaccountID, e.ChannelID, e.Field, e.Event, e.Detail, e.At}); got != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got, want[i])
		}
		if hashes[e.Hash] || len(e.Hash) != 64 || !strings.HasPrefix(e.Payload, "{") {
			t.Errorf("event %d: hash %q payload %s", i, e.Hash, e.Payload)
		}
		hashes[e.Hash] = true
	}
	if plan.Stats.Other != 7 {
		t.Errorf("stats %+v, want 7 other events", plan.Stats)
	}
}

// TestEventHashes: a change delivered again is the same event; an error
// without a timestamp of its own is told apart by its inbox row.
func TestEventHashes(t *testing.T) {
	unknown := &domain.WebhookBatch{Unknown: []domain.UnknownChange{{Recipient: rcpt, Field: "calls", Value: []byte(`{"x":1}`)}}}
	errs := &domain.WebhookBatch{Errors: []domain.ErrorEvent{{Recipient: rcpt, Errors: []domain.MetaError{{Code: 130429, Title: "Rate limit hit"}}}}}
	plan := mustPlan(t, Rules{}, webhooks(unknown, unknown, errs, errs), world())
	e := plan.Events
	if len(e) != 4 || e[0].Hash != e[1].Hash || e[2].Hash == e[3].Hash || e[0].Hash == e[2].Hash {
		t.Fatalf("events %+v", e)
	}
	if e[2].Field != "errors" || e[2].Event != "error" || e[2].Detail != "130429 Rate limit hit" || !e[2].At.Equal(received) || e[2].ChannelID != channelID {
		t.Errorf("error event %+v", e[2])
	}
	again := mustPlan(t, Rules{}, webhooks(unknown, unknown, errs), world())
	if again.Events[2].Hash != e[2].Hash {
		t.Error("the same inbox row's error hashed differently")
	}
}

// TestLookups: what the store must read for a batch.
func TestLookups(t *testing.T) {
	other := domain.Recipient{WABAID: "W9", PhoneNumberID: "PN9"}
	reply := inbound("w.reply", "oi", 5)
	reply.ContextWAMID = "w.sent"
	known := status("w.sent", domain.StateRead, 6)
	known.Recipient = other // its row is preloaded, but its channel is checked against the row's
	stub := status("w.new", domain.StateSent, 7)
	stub.RecipientUserID = "BR.1"
	items := webhooks(&domain.WebhookBatch{Statuses: []domain.StatusEvent{known, stub, stub}, Messages: []domain.InboundMessage{reply}},
		&domain.WebhookBatch{Preferences: []domain.PreferenceEvent{{Recipient: domain.Recipient{WABAID: "W7"}, UserID: "BR.2", Value: "stop"}},
			Templates: []domain.TemplateEvent{{WABAID: "W3", Name: "x"}},
			Accounts:  []domain.AccountEvent{{Recipient: domain.Recipient{WABAID: "W4"}}, {Recipient: domain.Recipient{WABAID: "W4", PhoneNumberID: "PN4"}}},
			Errors:    []domain.ErrorEvent{{Recipient: domain.Recipient{PhoneNumberID: "PN5"}}},
			Unknown:   []domain.UnknownChange{{Recipient: domain.Recipient{PhoneNumberID: "PN6"}}}})
	if got, want := MessageIDs(items), []string{"w.new", "w.reply", "w.sent"}; !equalSlices(got, want) {
		t.Errorf("MessageIDs = %v, want %v", got, want)
	}
	pre := world(sent("w.sent"))
	pnids, wabas := ChannelsNamed(items)
	if want := []string{"PN1", "PN4", "PN5", "PN6", "PN9"}; !equalSlices(pnids, want) {
		t.Errorf("phone number ids %v, want %v", pnids, want)
	}
	if want := []string{"W3", "W4", "W7"}; !equalSlices(wabas, want) {
		t.Errorf("WABA ids %v, want %v", wabas, want)
	}
	got := ContactsNamed(items, pre)
	want := []ContactLookup{{SubaccountID: subaccountID, PhoneKeys: []string{"+" + contactWAID}, UserIDs: []string{"BR.1"}},
		{SubaccountID: domain.UnassignedSubaccountID, UserIDs: []string{"BR.2"}}}
	if len(got) != len(want) {
		t.Fatalf("ContactsNamed = %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i].SubaccountID != want[i].SubaccountID || !equalSlices(got[i].PhoneKeys, want[i].PhoneKeys) || !equalSlices(got[i].UserIDs, want[i].UserIDs) {
			t.Errorf("ContactsNamed[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if len(pre.Channels) != 1 {
		t.Errorf("ContactsNamed changed the preload's channels: %v", pre.Channels)
	}
}
