package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// reportFixture is a store with two subaccounts and traffic through every
// write path, and the ids of every message it holds.
type reportFixture struct {
	st       *store.Store
	sa1, sa2 int64
	ch1, ch2 *domain.Channel
	contacts []*domain.Contact
	ids      map[int64]bool
	wamids   []string // messages known by wamid (stubs, inbound)
}

// base is a Monday 00:00 UTC; Sao Paulo's day starts at 03:00 UTC.
var base = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)

func checkRollup(t *testing.T, st *store.Store, step string) {
	t.Helper()
	if err := st.CheckRollup(context.Background()); err != nil {
		t.Fatalf("after %s: %v", step, err)
	}
}

func recipientOf(ch *domain.Channel) domain.Recipient {
	return domain.Recipient{WABAID: ch.WABAID, PhoneNumberID: ch.PhoneNumberID, DisplayPhone: ch.DisplayPhone}
}

func newReportFixture(t *testing.T) *reportFixture {
	t.Helper()
	ctx := context.Background()
	fx := &reportFixture{st: storetest.Open(t), ids: map[int64]bool{}}
	st := fx.st
	for i, sa := range []*int64{&fx.sa1, &fx.sa2} {
		s := &domain.Subaccount{Name: fmt.Sprintf("sub%d", i+1)}
		if err := st.CreateSubaccount(ctx, s); err != nil {
			t.Fatal(err)
		}
		*sa = s.ID
	}
	fx.ch1 = &domain.Channel{SubaccountID: fx.sa1, Name: "one", WABAID: "W1", PhoneNumberID: "111", DisplayPhone: "5511000000001"}
	fx.ch2 = &domain.Channel{SubaccountID: fx.sa2, Name: "two", WABAID: "W2", PhoneNumberID: "222", DisplayPhone: "5511000000002"}
	for _, ch := range []*domain.Channel{fx.ch1, fx.ch2} {
		if err := st.CreateChannel(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 6; i++ {
		sa, corr := fx.sa1, ""
		if i == 5 {
			sa = fx.sa2
		}
		if i%2 == 0 {
			corr = fmt.Sprintf("CUST-%d", i)
		}
		c, err := st.UpsertContact(ctx, sa, store.ContactInput{Phone: fmt.Sprintf("+55119876500%02d", i), CorrelationID: corr})
		if err != nil {
			t.Fatal(err)
		}
		fx.contacts = append(fx.contacts, c)
	}
	return fx
}

// send stores an outbound message for contact i at at; refused ones fail
// with status and get no wamid.
func (fx *reportFixture) send(t *testing.T, i int, at time.Time, ctype string, campaign, user int64, corr string, refused domain.Status) *domain.Message {
	t.Helper()
	c := fx.contacts[i]
	ch := fx.ch1
	if c.SubaccountID == fx.sa2 {
		ch = fx.ch2
	}
	m := &domain.Message{SubaccountID: c.SubaccountID, ChannelID: ch.ID, ContactID: c.ID, Phone: c.Phone, WAID: c.WAID,
		ContentType: ctype, Text: "hello", CorrelationID: corr, State: domain.StateSending, Status: domain.StatusSending, At: at}
	if campaign != 0 {
		m.CampaignID = &campaign
		m.TemplateName, m.TemplateCategory = "promo", "marketing"
	}
	if user != 0 {
		m.SenderUserID = &user
	}
	if refused != "" {
		m.State, m.Status = domain.StateFailed, refused
	}
	if err := fx.st.InsertOutbound(context.Background(), m, ""); err != nil {
		t.Fatal(err)
	}
	fx.ids[m.ID] = true
	return m
}

func (fx *reportFixture) apply(t *testing.T, b *domain.WebhookBatch) {
	t.Helper()
	// Received after every event the fixture dates: none may be dated more
	// than a day after its receipt.
	items := []store.InboxBatch{{InboxID: 1, ReceivedAt: base.Add(30 * 24 * time.Hour), Batch: b}}
	if _, err := fx.st.ApplyWebhooks(context.Background(), items, 1); err != nil {
		t.Fatalf("apply: %v", err)
	}
	for _, s := range b.Statuses {
		fx.wamids = append(fx.wamids, s.WAMID)
	}
	for _, m := range b.Messages {
		fx.wamids = append(fx.wamids, m.WAMID)
	}
}

func statusOf(ch *domain.Channel, wamid, waID string, state domain.State, at time.Time, errs ...domain.MetaError) domain.StatusEvent {
	return domain.StatusEvent{Recipient: recipientOf(ch), WAMID: wamid, State: state, Timestamp: at, RecipientWAID: waID, Errors: errs}
}

// messages loads every message the fixture made, as the report shows them.
func (fx *reportFixture) messages(t *testing.T) []domain.Message {
	t.Helper()
	ctx := context.Background()
	seen := map[int64]bool{}
	var out []domain.Message
	for id := range fx.ids {
		m, err := fx.st.Message(ctx, id, nil)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			continue // merged away
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[m.ID] = true
		out = append(out, *m)
	}
	for _, w := range fx.wamids {
		m, err := fx.st.MessageByWAMID(ctx, w, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, *m)
		}
	}
	return out
}

// traffic fills the fixture through every write path, checking the rollup
// after each.
func (fx *reportFixture) traffic(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	st := fx.st
	ctypes := []string{"template", "text", "image", "template", "document"}
	refusals := []domain.Status{domain.StatusTierLimit, domain.StatusOptedOut, domain.StatusInvalidSession}
	var sent []*domain.Message
	for k := 0; k < 90; k++ {
		// Three days, at uneven minutes, so hours and days have edges.
		at := base.Add(time.Duration(k)*47*time.Minute + time.Duration(k%7)*time.Second)
		var campaign, user int64
		if k%3 == 0 {
			campaign = 100 + int64(k%2)
		}
		if k%4 == 1 {
			user = 7 + int64(k%3)
		}
		corr := ""
		if k%5 == 0 {
			corr = fmt.Sprintf("ORDER-%d", k%10)
		}
		var refused domain.Status
		if k%11 == 0 {
			refused = refusals[k%len(refusals)]
		}
		m := fx.send(t, k%len(fx.contacts), at, ctypes[k%len(ctypes)], campaign, user, corr, refused)
		if refused == "" {
			sent = append(sent, m)
		}
	}
	checkRollup(t, st, "sends and refusals")

	// A contact writes in: MO messages, some answering our messages.
	var mo []domain.InboundMessage
	for k, m := range sent[:20] {
		c := fx.contacts[slices.IndexFunc(fx.contacts, func(c *domain.Contact) bool { return c.ID == m.ContactID })]
		ch := fx.ch1
		if c.SubaccountID == fx.sa2 {
			ch = fx.ch2
		}
		in := domain.InboundMessage{Recipient: recipientOf(ch), WAMID: fmt.Sprintf("wamid.MO%d", k),
			FromWAID: c.Phone[1:], Timestamp: m.At.Add(3 * time.Minute).Truncate(time.Second), Type: []string{"text", "button", "image"}[k%3], Text: "oi"}
		if k%7 == 0 {
			// From an ad: the sends that follow are in free-entry-point
			// conversations (their own partial index on SQLite).
			in.Referral = &domain.Referral{SourceType: "ad", SourceID: fmt.Sprintf("AD%d", k), CTWAClid: "clid"}
		}
		mo = append(mo, in)
	}
	// The early status of a send whose answer is still on its way: it
	// creates a stub row, merged into the message by MarkAccepted.
	early := sent[len(sent)-2]
	earlyCh := fx.ch1
	if early.SubaccountID == fx.sa2 {
		earlyCh = fx.ch2
	}
	fx.apply(t, &domain.WebhookBatch{Messages: mo, Statuses: []domain.StatusEvent{
		statusOf(earlyCh, "wamid.EARLY", early.Phone[1:], domain.StateDelivered, early.At.Add(time.Second).Truncate(time.Second))}})
	checkRollup(t, st, "inbound messages and an early status")

	// Meta accepts most sends, refuses one synchronously.
	for k, m := range sent {
		switch {
		case m == early:
			if err := st.MarkAccepted(ctx, m.ID, "wamid.EARLY", m.WAID); err != nil {
				t.Fatal(err)
			}
		case k == 3:
			if err := st.MarkFailed(ctx, m, domain.StatusInvalidParameter, domain.MetaError{Code: 100, Title: "Invalid parameter"}); err != nil {
				t.Fatal(err)
			}
		default:
			if err := st.MarkAccepted(ctx, m.ID, fmt.Sprintf("wamid.OUT%d", k), m.WAID); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkRollup(t, st, "accepts, a merge and a synchronous refusal")

	// Statuses: most are delivered, many read, some fail, the rest stay
	// sent and expire below.
	var events []domain.StatusEvent
	for k, m := range sent {
		if k == 3 || m == early {
			continue
		}
		ch := fx.ch1
		if m.SubaccountID == fx.sa2 {
			ch = fx.ch2
		}
		w, at := fmt.Sprintf("wamid.OUT%d", k), m.At.Truncate(time.Second)
		events = append(events, statusOf(ch, w, m.WAID, domain.StateSent, at.Add(time.Second)))
		switch k % 6 {
		case 0, 1, 2:
			events = append(events, statusOf(ch, w, m.WAID, domain.StateDelivered, at.Add(5*time.Second)))
			if k%6 != 2 {
				events = append(events, statusOf(ch, w, m.WAID, domain.StateRead, at.Add(time.Minute)))
			}
		case 3:
			events = append(events, statusOf(ch, w, m.WAID, domain.StateFailed, at.Add(5*time.Second),
				domain.MetaError{Code: 131026, Title: "Message undeliverable"}))
		case 4:
			events = append(events, statusOf(ch, w, m.WAID, domain.StateFailed, at.Add(5*time.Second),
				domain.MetaError{Code: 131049, Title: "Not delivered to maintain healthy ecosystem engagement"}))
		}
	}
	fx.apply(t, &domain.WebhookBatch{Statuses: events})
	checkRollup(t, st, "status webhooks")

	// Quick-reply clicks on campaign messages inherit their campaign.
	var replies []domain.InboundMessage
	for k, m := range sent[:12] {
		if m.CampaignID == nil || k == 3 || m.SubaccountID != fx.sa1 {
			continue
		}
		replies = append(replies, domain.InboundMessage{Recipient: recipientOf(fx.ch1), WAMID: fmt.Sprintf("wamid.CLICK%d", k),
			FromWAID: m.WAID, Timestamp: m.At.Add(20 * time.Minute).Truncate(time.Second), Type: "button", Text: "Quero",
			ButtonPayload: "YES", ContextWAMID: fmt.Sprintf("wamid.OUT%d", k)})
	}
	fx.apply(t, &domain.WebhookBatch{Messages: replies})
	checkRollup(t, st, "quick-reply clicks")

	// Messages sent before the window of a webhook-only message's first
	// status move their hour: a stub seen first by its read, then its sent.
	fx.apply(t, &domain.WebhookBatch{Statuses: []domain.StatusEvent{
		statusOf(fx.ch1, "wamid.OTHERTOOL", "5511987650001", domain.StateRead, base.Add(50*time.Hour+10*time.Minute))}})
	fx.apply(t, &domain.WebhookBatch{Statuses: []domain.StatusEvent{
		statusOf(fx.ch1, "wamid.OTHERTOOL", "5511987650001", domain.StateSent, base.Add(48*time.Hour+50*time.Minute))}})
	checkRollup(t, st, "a stub whose hour moves")

	// Two webhooks applied together, where the second's reply makes the
	// apply write what it has so far (it looks up its context): a sent
	// message delivered before that write and read after it, a stub
	// created before it and moved after it.
	at := base.Add(52 * time.Hour)
	c2 := fx.contacts[2]
	mid := []store.InboxBatch{
		{InboxID: 1, ReceivedAt: at, Batch: &domain.WebhookBatch{Statuses: []domain.StatusEvent{
			statusOf(fx.ch1, "wamid.OUT5", sent[5].WAID, domain.StateDelivered, at),
			statusOf(fx.ch1, "wamid.MIDSTUB", c2.Phone[1:], domain.StateSent, at.Add(time.Minute)),
		}}},
		{InboxID: 2, ReceivedAt: at, Batch: &domain.WebhookBatch{
			Messages: []domain.InboundMessage{{Recipient: recipientOf(fx.ch1), WAMID: "wamid.MIDREPLY", FromWAID: c2.Phone[1:],
				Timestamp: at.Add(2 * time.Minute), Type: "text", Text: "ok", ContextWAMID: "wamid.OUT0"}},
		}},
		{InboxID: 3, ReceivedAt: at, Batch: &domain.WebhookBatch{Statuses: []domain.StatusEvent{
			statusOf(fx.ch1, "wamid.OUT5", sent[5].WAID, domain.StateRead, at.Add(3*time.Minute)),
			statusOf(fx.ch1, "wamid.MIDSTUB", c2.Phone[1:], domain.StateRead, at.Add(4*time.Minute)),
			statusOf(fx.ch1, "wamid.MIDSTUB", c2.Phone[1:], domain.StateSent, at.Add(-2*time.Hour)),
		}}},
	}
	if _, err := st.ApplyWebhooks(ctx, mid, 3); err != nil {
		t.Fatal(err)
	}
	fx.wamids = append(fx.wamids, "wamid.OUT5", "wamid.MIDSTUB", "wamid.MIDREPLY")
	checkRollup(t, st, "a batch written in two parts")

	if _, err := st.ExpireUndelivered(ctx, base.Add(60*time.Hour)); err != nil {
		t.Fatal(err)
	}
	checkRollup(t, st, "expiry")

	// Traffic of a number no channel owns lands in the unassigned
	// subaccount, until its channel is created and claims it.
	orphan := domain.Recipient{WABAID: "W3", PhoneNumberID: "333", DisplayPhone: "5511000000003"}
	fx.apply(t, &domain.WebhookBatch{
		Statuses: []domain.StatusEvent{{Recipient: orphan, WAMID: "wamid.ORPHAN1", State: domain.StateDelivered,
			Timestamp: base.Add(30 * time.Hour), RecipientWAID: "5511987650099"}},
		Messages: []domain.InboundMessage{{Recipient: orphan, WAMID: "wamid.ORPHAN2", FromWAID: "5511987650099",
			Timestamp: base.Add(31 * time.Hour), Type: "text", Text: "alô"}},
	})
	checkRollup(t, st, "unassigned traffic")
	if err := st.CreateChannel(ctx, &domain.Channel{SubaccountID: fx.sa2, Name: "three", WABAID: "W3", PhoneNumberID: "333"}); err != nil {
		t.Fatal(err)
	}
	checkRollup(t, st, "a channel claim")
	if err := st.FoldRollup(ctx); err != nil {
		t.Fatal(err)
	}
	checkRollup(t, st, "a fold")
}

func TestRollupFollowsEveryWritePath(t *testing.T) {
	fx := newReportFixture(t)
	fx.traffic(t)
	if err := fx.st.RebuildRollup(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkRollup(t, fx.st, "a rebuild")
}

// matches is the report filter's meaning, written again plainly.
func matches(m *domain.Message, f *domain.MessageFilter, phones map[int64]string) bool {
	dir := f.Direction
	if dir == "" {
		dir = domain.DirectionMT
	}
	switch {
	case f.Subaccounts != nil && !slices.Contains(f.Subaccounts, m.SubaccountID),
		m.Direction != dir,
		!f.From.IsZero() && m.At.Before(f.From),
		!f.To.IsZero() && !m.At.Before(f.To),
		f.Subaccount != 0 && m.SubaccountID != f.Subaccount,
		f.User != 0 && (m.SenderUserID == nil || *m.SenderUserID != f.User),
		f.Campaign != 0 && (m.CampaignID == nil || *m.CampaignID != f.Campaign),
		f.ContentType != "" && m.ContentType != f.ContentType,
		f.Session != nil && m.WithSession != *f.Session,
		f.CorrelationID != "" && m.CorrelationID != f.CorrelationID,
		len(f.Statuses) > 0 && !slices.Contains(f.Statuses, m.Status),
		f.Phone != "" && phones[m.ContactID] != phone.Canonical(f.Phone),
		f.ConversationID != "" && m.ConversationID != f.ConversationID,
		f.ConversationType != "" && m.ConversationType != f.ConversationType:
		return false
	}
	return true
}

func reportFilters(fx *reportFixture, all []domain.Message) map[string]domain.MessageFilter {
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	yes, no := true, false
	var convID string
	for _, m := range all {
		if m.ConversationID != "" && m.Direction == domain.DirectionMT {
			convID = m.ConversationID
		}
	}
	day2 := time.Date(2025, 3, 11, 0, 0, 0, 0, sp)
	return map[string]domain.MessageFilter{
		"everything":              {},
		"mo":                      {Direction: domain.DirectionMO},
		"whole hours":             {From: base.Add(2 * time.Hour), To: base.Add(40 * time.Hour)},
		"partial hours":           {From: base.Add(2*time.Hour + 22*time.Minute), To: base.Add(40*time.Hour + 45*time.Minute)},
		"within one hour":         {From: base.Add(5*time.Hour + 10*time.Minute), To: base.Add(5*time.Hour + 55*time.Minute)},
		"across an hour boundary": {From: base.Add(5*time.Hour + 50*time.Minute), To: base.Add(6*time.Hour + 30*time.Minute)},
		"a Sao Paulo day":         {From: day2, To: day2.AddDate(0, 0, 1)},
		"open end":                {From: base.Add(30*time.Hour + 1*time.Minute)},
		"scope one":               {Subaccounts: []int64{fx.sa1}},
		"scope both":              {Subaccounts: []int64{fx.sa1, fx.sa2}, From: base.Add(time.Hour + 30*time.Minute)},
		"scope none":              {Subaccounts: []int64{}},
		"subaccount":              {Subaccount: fx.sa2},
		"status delivered":        {Statuses: []domain.Status{domain.StatusDelivered}},
		"failures": {Statuses: []domain.Status{domain.StatusUndelivered, domain.StatusRejected, domain.StatusTierLimit,
			domain.StatusOptedOut, domain.StatusInvalidSession, domain.StatusInvalidParameter, domain.StatusTTLExpired}},
		"content image":     {ContentType: "image"},
		"session":           {Session: &yes, From: base.Add(3*time.Hour + 5*time.Minute)},
		"no session":        {Session: &no},
		"campaign":          {Campaign: 100},
		"user":              {User: 8, From: base.Add(time.Hour + time.Minute), To: base.Add(50 * time.Hour)},
		"conversation type": {ConversationType: domain.ConversationBusinessInitiated},
		"mo button":         {Direction: domain.DirectionMO, ContentType: "button", Campaign: 100},
		"combined": {Statuses: []domain.Status{domain.StatusRead, domain.StatusDelivered}, ContentType: "template",
			Session: &no, From: base.Add(90 * time.Minute), To: base.Add(60*time.Hour + 7*time.Minute)},
		"correlation own":     {CorrelationID: "ORDER-0"},
		"correlation contact": {CorrelationID: "CUST-2", From: base.Add(20*time.Hour + 20*time.Minute)},
		"phone":               {Phone: fx.contacts[1].Phone, Statuses: []domain.Status{domain.StatusRead}},
		"phone in scope":      {Phone: fx.contacts[5].Phone, Subaccounts: []int64{fx.sa1}},
		"conversation id":     {ConversationID: convID},
		// Rare combinations, read by the hours the rollup says hold them.
		"rare: image, no session, read": {ContentType: "image", Session: &no, Statuses: []domain.Status{domain.StatusRead}},
		"rare: conversation type, image": {ConversationType: domain.ConversationUserInitiated, ContentType: "image",
			From: base.Add(50 * time.Minute)},
		"rare: tier limit, open end": {Statuses: []domain.Status{domain.StatusTierLimit}, From: base.Add(10*time.Hour + 3*time.Minute)},
		"rare: image, read, cut hours": {ContentType: "image", Statuses: []domain.Status{domain.StatusRead},
			From: base.Add(2*time.Hour + 22*time.Minute), To: base.Add(40*time.Hour + 45*time.Minute)},
		"rare: image, cut hours": {ContentType: "image", From: base.Add(5*time.Hour + 50*time.Minute), To: base.Add(30*time.Hour + 30*time.Minute)},
		// Free entry points: SQLite reads them through their partial index.
		"rare: free entry point":                   {ConversationType: domain.ConversationFreeEntryPoint},
		"rare: free entry point, text, no session": {ConversationType: domain.ConversationFreeEntryPoint, ContentType: "text", Session: &no},
		"rare: free entry point, no session, cut hours": {ConversationType: domain.ConversationFreeEntryPoint, Session: &no,
			From: base.Add(20*time.Hour + 10*time.Minute), To: base.Add(65*time.Hour + 5*time.Minute)},
		// So are sends outside a session in user-initiated conversations.
		"rare: user initiated, no session": {ConversationType: domain.ConversationUserInitiated, Session: &no},
		"rare: user initiated, no session, image, cut hours": {ConversationType: domain.ConversationUserInitiated,
			Session: &no, ContentType: "image", From: base.Add(3*time.Hour + 10*time.Minute), To: base.Add(61*time.Hour + 5*time.Minute)},
		"rare: user initiated, no session, mo": {Direction: domain.DirectionMO, ConversationType: domain.ConversationUserInitiated,
			Session: &no},
	}
}

func TestReportTotalsAndPagesMatchTheMessages(t *testing.T) {
	fx := newReportFixture(t)
	fx.traffic(t)
	ctx := context.Background()
	all := fx.messages(t)
	phones := map[int64]string{}
	for _, c := range fx.contacts {
		phones[c.ID] = c.PhoneKey
	}
	byID := map[int64]domain.Message{}
	for _, m := range all {
		byID[m.ID] = m
	}
	ranged := store.RangeReads()
	partial := map[string]int64{}
	for _, index := range []string{"messages_free_entry_point", "messages_user_initiated_no_session"} {
		partial[index] = store.PageReads(index)
	}
	t.Cleanup(func() {
		if store.RangeReads() == ranged {
			t.Error("no page read the hour ranges the rollup chose: the rare filters no longer test them")
		}
		for index, n := range partial {
			if fx.st.Dialect() == store.SQLite && store.PageReads(index) == n {
				t.Errorf("no page read the partial index %s: the rare filters no longer test it", index)
			}
		}
	})
	for name, f := range reportFilters(fx, all) {
		t.Run(name, func(t *testing.T) {
			var want []domain.Message
			for _, m := range all {
				if matches(&m, &f, phones) {
					want = append(want, m)
				}
			}
			slices.SortFunc(want, func(a, b domain.Message) int {
				if c := b.At.Compare(a.At); c != 0 {
					return c
				}
				return int(math.Max(-1, math.Min(1, float64(b.ID-a.ID))))
			})
			// Page through the report, 7 rows at a time.
			var paged []int64
			f.Limit = 7
			for pages := 0; ; pages++ {
				page, err := fx.st.ReportMessages(ctx, &f)
				if err != nil {
					t.Fatal(err)
				}
				if page.Total != int64(len(want)) {
					t.Fatalf("total %d, want %d", page.Total, len(want))
				}
				for _, m := range page.Rows {
					paged = append(paged, m.ID)
				}
				if page.NextCursor == "" || pages > 100 {
					break
				}
				f.Cursor = page.NextCursor
			}
			ids := make([]int64, len(want))
			for i, m := range want {
				ids[i] = m.ID
			}
			if !slices.Equal(paged, ids) {
				t.Errorf("pages return %v, want %v", paged, ids)
			}
			// The exports' reader returns the same rows in the same order,
			// in one window or cut into many (hours split into parts).
			f.Cursor = ""
			for _, window := range []int64{16000, 5, 1} {
				restore := store.SetExportWindowRows(window)
				var each []int64
				err := store.ExportRows(ctx, fx.st, &f, detach, func(m domain.Message) error {
					each = append(each, m.ID)
					if w := byID[m.ID]; !sameReportColumns(&m, &w) {
						t.Errorf("window %d: message %d exported as %+v, stored as %+v", window, m.ID, m, w)
					}
					return nil
				})
				restore()
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(each, ids) {
					t.Errorf("window %d: ExportRows returns %v, want %v", window, each, ids)
				}
			}
			// The consolidated view counts the same messages.
			for _, tz := range []string{"UTC", "America/Sao_Paulo", "Asia/Kolkata"} {
				loc, _ := time.LoadLocation(tz)
				sum, err := fx.st.ReportSummary(ctx, &f, loc)
				if err != nil {
					t.Fatal(err)
				}
				wantDays := map[string]int64{}
				wantStatus := map[domain.Status]int64{}
				for _, m := range want {
					wantDays[m.At.In(loc).Format(time.DateOnly)]++
					wantStatus[m.Status]++
				}
				gotDays := map[string]int64{}
				for _, d := range sum.ByDay {
					if d.Total > 0 {
						gotDays[d.Day] = d.Total
					}
				}
				if sum.Total != int64(len(want)) || fmt.Sprint(gotDays) != fmt.Sprint(wantDays) || fmt.Sprint(sum.ByStatus) != fmt.Sprint(wantStatus) {
					t.Errorf("%s: summary total %d days %v statuses %v, want %d %v %v", tz, sum.Total, gotDays, sum.ByStatus,
						len(want), wantDays, wantStatus)
				}
			}
		})
	}
}

func TestSummaryRates(t *testing.T) {
	fx := newReportFixture(t)
	ctx := context.Background()
	st := fx.st
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	// Ten messages of campaign 100 around midnight in Sao Paulo (03:00 UTC):
	// 4 read, 2 delivered, 1 sent, 1 undelivered, 2 refused by ticks.
	outcomes := []domain.State{domain.StateRead, domain.StateRead, domain.StateRead, domain.StateRead,
		domain.StateDelivered, domain.StateDelivered, domain.StateSent, domain.StateFailed, "", ""}
	var events []domain.StatusEvent
	for k, o := range outcomes {
		at := base.Add(2*time.Hour + time.Duration(k)*12*time.Minute) // 23:00 to 00:48 local
		var refused domain.Status
		if o == "" {
			refused = domain.StatusTierLimit
		}
		m := fx.send(t, 0, at, "template", 100, 0, "", refused)
		if o == "" {
			continue
		}
		w := fmt.Sprintf("wamid.RATE%d", k)
		if err := st.MarkAccepted(ctx, m.ID, w, m.WAID); err != nil {
			t.Fatal(err)
		}
		var errs []domain.MetaError
		if o == domain.StateFailed {
			errs = []domain.MetaError{{Code: 131026, Title: "Message undeliverable"}}
		}
		events = append(events, statusOf(fx.ch1, w, m.WAID, o, at.Add(time.Minute).Truncate(time.Second), errs...))
	}
	fx.apply(t, &domain.WebhookBatch{Statuses: events})
	checkRollup(t, st, "the rates dataset")
	for _, f := range []domain.MessageFilter{
		{From: base, To: base.Add(24 * time.Hour)},
		{From: base.Add(2*time.Hour + 5*time.Minute), To: base.Add(5 * time.Hour)}, // misses the first message
		{Phone: fx.contacts[0].Phone},                                              // exact path
	} {
		sum, err := st.ReportSummary(ctx, &f, sp)
		if err != nil {
			t.Fatal(err)
		}
		n := int64(10)
		read, accepted := int64(4), int64(8)
		if !f.From.IsZero() && f.From.After(base.Add(2*time.Hour)) {
			n, read, accepted = 9, 3, 7
		}
		if sum.Total != n || sum.Accepted != accepted || sum.ByStatus[domain.StatusRead] != read ||
			sum.ByStatus[domain.StatusTierLimit] != 2 || sum.ByContentType["template"] != n {
			t.Errorf("%+v: summary %+v", f, sum)
		}
		if want := float64(read+2) / float64(accepted); math.Abs(sum.DeliveryRate-want) > 1e-9 {
			t.Errorf("delivery rate %v, want %v", sum.DeliveryRate, want)
		}
		if want := float64(read) / float64(read+2); math.Abs(sum.ReadRate-want) > 1e-9 {
			t.Errorf("read rate %v, want %v", sum.ReadRate, want)
		}
		// 23:00 and 23:12, 23:24, 23:36, 23:48 on the 9th; the rest on the 10th.
		days := map[string]domain.DayCount{}
		for _, d := range sum.ByDay {
			days[d.Day] = d
		}
		first, second := days["2025-03-09"], days["2025-03-10"]
		if first.Total+second.Total != n || second.Total != 5 || second.Failed != 3 || second.Read != 0 || second.Delivered != 1 {
			t.Errorf("%+v: days %+v", f, sum.ByDay)
		}
		if len(sum.ByCampaign) != 1 || sum.ByCampaign[0].CampaignID != 100 || sum.ByCampaign[0].Total != n {
			t.Errorf("campaigns %+v", sum.ByCampaign)
		}
	}
}

// sameReportColumns tells whether two messages agree on every field the
// detailed report shows, the fields ExportRows reads.
func sameReportColumns(a, b *domain.Message) bool {
	eqTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	eqID := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.ID == b.ID && a.Direction == b.Direction && a.At.Equal(b.At) && a.Status == b.Status &&
		a.ErrorCode == b.ErrorCode && a.ErrorTitle == b.ErrorTitle && a.ErrorDetail == b.ErrorDetail &&
		a.Phone == b.Phone && a.WAID == b.WAID && a.UserID == b.UserID && eqID(a.SenderUserID, b.SenderUserID) &&
		eqID(a.BotID, b.BotID) && eqID(a.CampaignID, b.CampaignID) && a.ContentType == b.ContentType &&
		a.Text == b.Text && a.WithSession == b.WithSession && a.ConversationID == b.ConversationID &&
		a.ConversationType == b.ConversationType && eqTime(a.ConversationExpires, b.ConversationExpires) &&
		a.ButtonPayload == b.ButtonPayload
}

// detach copies a message ExportRows hands over, with its pointers, which
// point into memory ExportRows reuses.
func detach(m *domain.Message) domain.Message {
	c := *m
	clone := func(p *int64) *int64 {
		if p == nil {
			return nil
		}
		v := *p
		return &v
	}
	c.SenderUserID, c.BotID, c.CampaignID = clone(m.SenderUserID), clone(m.BotID), clone(m.CampaignID)
	if m.ConversationExpires != nil {
		t := *m.ConversationExpires
		c.ConversationExpires = &t
	}
	return c
}

// An export stopped early (the PDF's row cap, a client gone) returns at
// once with the error, its readers stopped, however many windows remain.
func TestExportRowsStopsEarly(t *testing.T) {
	fx := newReportFixture(t)
	fx.traffic(t)
	defer store.SetExportWindowRows(1)()
	stop := errors.New("enough")
	done := make(chan error, 1)
	n := 0
	go func() {
		done <- store.ExportRows(context.Background(), fx.st, &domain.MessageFilter{}, func(m *domain.Message) int64 { return m.ID },
			func(int64) error {
				if n++; n == 3 {
					return stop
				}
				return nil
			})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, stop) || n != 3 {
			t.Errorf("ExportRows = %v after %d rows, want %v after 3", err, n, stop)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ExportRows did not return after emit stopped it")
	}
}
