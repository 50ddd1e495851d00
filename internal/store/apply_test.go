package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

var rcpt = domain.Recipient{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}

func apply(t *testing.T, st *store.Store, batches ...*domain.WebhookBatch) store.ApplyStats {
	t.Helper()
	items := make([]store.InboxBatch, len(batches))
	for i, b := range batches {
		// Received a while after the events the tests date (no event may be
		// dated more than a day after its receipt).
		items[i] = store.InboxBatch{InboxID: int64(i + 1), ReceivedAt: time.Unix(1751000000, 0), Batch: b}
	}
	stats, err := st.ApplyWebhooks(context.Background(), items, int64(len(batches)))
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return stats
}

func status(wamid string, state domain.State, ts int64, errs ...domain.MetaError) *domain.WebhookBatch {
	return &domain.WebhookBatch{Statuses: []domain.StatusEvent{{Recipient: rcpt, WAMID: wamid, State: state,
		Timestamp: time.Unix(ts, 0), RecipientWAID: "5511987654321", Errors: errs}}}
}

func TestStatusesNeverMoveBackwards(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	apply(t, st, status("wamid.A", domain.StateRead, 1750000300))
	apply(t, st, status("wamid.A", domain.StateDelivered, 1750000200)) // late delivered
	apply(t, st, status("wamid.A", domain.StateSent, 1750000100))
	apply(t, st, status("wamid.A", domain.StateSent, 1750000100)) // duplicate
	m, err := st.MessageByWAMID(ctx, "wamid.A", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != domain.StateRead || m.Status != domain.StatusRead {
		t.Errorf("state %s status %s, want read", m.State, m.Status)
	}
	if m.DeliveredAt == nil || m.DeliveredAt.Unix() != 1750000200 {
		t.Errorf("delivered_at = %v, want the delivered timestamp", m.DeliveredAt)
	}
	if m.At.Unix() != 1750000100 {
		t.Errorf("at = %v, want the sent timestamp of a message seen only through webhooks", m.At)
	}
	if m.Direction != domain.DirectionMT || m.SubaccountID != domain.UnassignedSubaccountID {
		t.Errorf("direction %s subaccount %d, want mt in unassigned", m.Direction, m.SubaccountID)
	}
}

func TestReadImpliesDelivered(t *testing.T) {
	st := storetest.Open(t)
	apply(t, st, status("wamid.B", domain.StateRead, 1750000300))
	m, _ := st.MessageByWAMID(context.Background(), "wamid.B", nil)
	if m.DeliveredAt == nil || m.ReadAt == nil || !m.DeliveredAt.Equal(*m.ReadAt) {
		t.Errorf("read without delivered: delivered_at %v read_at %v", m.DeliveredAt, m.ReadAt)
	}
}

func TestFailedIsFinalAndKeepsMetaReason(t *testing.T) {
	st := storetest.Open(t)
	fail := domain.MetaError{Code: 131026, Title: "Message undeliverable", Details: "Message Undeliverable."}
	apply(t, st, status("wamid.C", domain.StateFailed, 1750000200, fail))
	apply(t, st, status("wamid.C", domain.StateDelivered, 1750000300))
	m, _ := st.MessageByWAMID(context.Background(), "wamid.C", nil)
	if m.State != domain.StateFailed || m.Status != domain.StatusUndelivered {
		t.Errorf("state %s status %s, want failed/undelivered", m.State, m.Status)
	}
	if m.ErrorCode != 131026 || m.ErrorTitle != "Message undeliverable" || m.ErrorDetail != "Message Undeliverable." {
		t.Errorf("reason = %d %q %q", m.ErrorCode, m.ErrorTitle, m.ErrorDetail)
	}
}

func TestConversationsDerivedFromTimeline(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	mo := &domain.WebhookBatch{Messages: []domain.InboundMessage{{Recipient: rcpt, WAMID: "wamid.MO1",
		FromWAID: "5511987654321", Timestamp: time.Unix(1750000000, 0), Type: "text", Text: "oi"}}}
	// A business reply one hour after the contact wrote: user initiated, in session.
	apply(t, st, status("wamid.R1", domain.StateSent, 1750003600), mo)
	// Thirty hours later, outside the session and the conversation: business initiated.
	apply(t, st, status("wamid.R2", domain.StateSent, 1750000000+30*3600))
	r1, _ := st.MessageByWAMID(ctx, "wamid.R1", nil)
	r2, _ := st.MessageByWAMID(ctx, "wamid.R2", nil)
	in, _ := st.MessageByWAMID(ctx, "wamid.MO1", nil)
	if !r1.WithSession || r1.ConversationType != domain.ConversationUserInitiated || r1.ConversationID == "" {
		t.Errorf("R1: session %v type %s id %q", r1.WithSession, r1.ConversationType, r1.ConversationID)
	}
	if r2.WithSession || r2.ConversationType != domain.ConversationBusinessInitiated || r2.ConversationID == r1.ConversationID {
		t.Errorf("R2: session %v type %s id %q", r2.WithSession, r2.ConversationType, r2.ConversationID)
	}
	if want := time.Unix(1750003600, 0).Add(24 * time.Hour); r1.ConversationExpires == nil || !r1.ConversationExpires.Equal(want) {
		t.Errorf("R1 expires %v, want %v", r1.ConversationExpires, want)
	}
	if in.ContactID != r1.ContactID {
		t.Errorf("inbound and outbound have different contacts: %d, %d", in.ContactID, r1.ContactID)
	}
}

func TestBrazilianNinthDigitMatchesSameContact(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	mo := &domain.WebhookBatch{Messages: []domain.InboundMessage{{Recipient: rcpt, WAMID: "wamid.MO9",
		FromWAID: "551187654321", Timestamp: time.Unix(1750000000, 0), Type: "text", Text: "sem nono dígito"}}}
	apply(t, st, mo, status("wamid.S9", domain.StateSent, 1750000100))
	a, _ := st.MessageByWAMID(ctx, "wamid.MO9", nil)
	b, _ := st.MessageByWAMID(ctx, "wamid.S9", nil)
	if a.ContactID != b.ContactID {
		t.Errorf("551187654321 and 5511987654321 are different contacts (%d, %d)", a.ContactID, b.ContactID)
	}
}

// TestStatusOfAnInboundMessageInTheSameBatch: Meta sends statuses only for
// the business's messages, but a status naming an inbound message applied in
// the same transaction must not fail the batch (which would set the inbound
// message aside with it).
func TestStatusOfAnInboundMessageInTheSameBatch(t *testing.T) {
	st := storetest.Open(t)
	mo := &domain.WebhookBatch{Messages: []domain.InboundMessage{{Recipient: rcpt, WAMID: "wamid.MOSTATUS",
		FromWAID: "5511987654321", Timestamp: time.Unix(1750000000, 0), Type: "text", Text: "oi"}}}
	apply(t, st, mo, status("wamid.MOSTATUS", domain.StateRead, 1750000060))
	m, err := st.MessageByWAMID(context.Background(), "wamid.MOSTATUS", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Direction != domain.DirectionMO || m.Text != "oi" {
		t.Fatalf("inbound message stored as %+v", m)
	}
	for _, dir := range []domain.Direction{domain.DirectionMO, domain.DirectionMT} {
		page, err := st.ReportMessages(context.Background(), &domain.MessageFilter{From: time.Unix(0, 0), Direction: dir, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[domain.Direction]int64{domain.DirectionMO: 1}[dir]; page.Total != want || len(page.Rows) != int(want) {
			t.Errorf("%s messages: total %d, %d rows; want %d (one inbound message, nothing else)", dir, page.Total, len(page.Rows), want)
		}
	}
	if err := st.CheckRollup(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestReplyInheritsTheCampaignItAnswers: an inbound reply takes the
// campaign and sending user of the message it answers, whether that message
// was sent earlier or created earlier in the same batch; a reply to a
// message ticks never saw takes none.
func TestReplyInheritsTheCampaignItAnswers(t *testing.T) {
	fx := newReportFixture(t)
	ctx := context.Background()
	m := fx.send(t, 0, base, "template", 7, 3, "", "")
	c := fx.contacts[0]
	if err := fx.st.MarkAccepted(ctx, m.ID, "wamid.CAMPAIGN", c.Phone[1:]); err != nil {
		t.Fatal(err)
	}
	reply := func(wamid, context string, at time.Time) domain.InboundMessage {
		return domain.InboundMessage{Recipient: recipientOf(fx.ch1), WAMID: wamid, FromWAID: c.Phone[1:], Timestamp: at,
			Type: "text", Text: "quero", ContextWAMID: context}
	}
	fx.apply(t, &domain.WebhookBatch{
		Statuses: []domain.StatusEvent{statusOf(fx.ch1, "wamid.OTHER", c.Phone[1:], domain.StateSent, base.Add(time.Minute))},
		Messages: []domain.InboundMessage{reply("wamid.R1", "wamid.CAMPAIGN", base.Add(time.Hour)),
			reply("wamid.R2", "wamid.R1", base.Add(2*time.Hour)), reply("wamid.R3", "wamid.UNKNOWN", base.Add(3*time.Hour)),
			reply("wamid.R4", "wamid.OTHER", base.Add(4*time.Hour))},
	})
	for _, tc := range []struct {
		wamid            string
		campaign, sender int64
	}{{"wamid.R1", 7, 3}, {"wamid.R2", 7, 3}, {"wamid.R3", 0, 0}, {"wamid.R4", 0, 0}} {
		got, err := fx.st.MessageByWAMID(ctx, tc.wamid, nil)
		if err != nil {
			t.Fatal(err)
		}
		var campaign, sender int64
		if got.CampaignID != nil {
			campaign = *got.CampaignID
		}
		if got.SenderUserID != nil {
			sender = *got.SenderUserID
		}
		if campaign != tc.campaign || sender != tc.sender {
			t.Errorf("%s: campaign %d sender %d, want %d %d", tc.wamid, campaign, sender, tc.campaign, tc.sender)
		}
	}
	checkRollup(t, fx.st, "replies")
}
