package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// BenchmarkApplyStatuses applies status webhooks of messages ticks sent, a
// batch of 500 events (one per webhook) per iteration, as the processor
// does under load: each message gets sent, delivered and read, in waves.
// Run with -benchtime 100x or so: each iteration uses up fresh statuses.
func BenchmarkApplyStatuses(b *testing.B) {
	const perBatch, wave = 500, 1000
	ctx := context.Background()
	st := storetest.Open(b)
	sa := &domain.Subaccount{Name: "bench"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		b.Fatal(err)
	}
	ch := &domain.Channel{SubaccountID: sa.ID, Name: "bench", WABAID: rcpt.WABAID, PhoneNumberID: rcpt.PhoneNumberID,
		DisplayPhone: rcpt.DisplayPhone, Tier: "TIER_UNLIMITED", ThroughputMPS: 1000}
	if err := st.CreateChannel(ctx, ch); err != nil {
		b.Fatal(err)
	}
	messages := (b.N*perBatch + 2) / 3
	messages = (messages + wave - 1) / wave * wave
	contacts := make([]*domain.Contact, 0, 500)
	for i := 0; i < 500; i++ {
		c, err := st.UpsertContact(ctx, sa.ID, store.ContactInput{Phone: fmt.Sprintf("+55119%08d", 70000000+i)})
		if err != nil {
			b.Fatal(err)
		}
		contacts = append(contacts, c)
	}
	for i := 0; i < messages; i++ {
		c := contacts[i%len(contacts)]
		m := &domain.Message{SubaccountID: sa.ID, ChannelID: ch.ID, ContactID: c.ID, Phone: c.Phone, WAID: c.Phone[1:],
			ContentType: "template", TemplateName: "pedido", TemplateCategory: "utility", State: domain.StateSending,
			Status: domain.StatusSending}
		if err := st.InsertOutbound(ctx, m, ""); err != nil {
			b.Fatal(err)
		}
		if err := st.MarkAccepted(ctx, m.ID, fmt.Sprintf("wamid.B%09d", i), c.Phone[1:]); err != nil {
			b.Fatal(err)
		}
	}
	billable := true
	base := time.Now().Add(-time.Hour).Unix()
	var events []store.InboxBatch
	for start := 0; start < messages; start += wave {
		for step, state := range []domain.State{domain.StateSent, domain.StateDelivered, domain.StateRead} {
			for i := start; i < start+wave; i++ {
				e := domain.StatusEvent{Recipient: rcpt, WAMID: fmt.Sprintf("wamid.B%09d", i), State: state,
					Timestamp: time.Unix(base+int64(i/10+step*5), 0), RecipientWAID: contacts[i%len(contacts)].Phone[1:],
					Pricing: &domain.Pricing{Model: "PMP", Category: "utility", Type: "regular", Billable: &billable}}
				events = append(events, store.InboxBatch{InboxID: int64(len(events) + 1), ReceivedAt: time.Now(),
					Batch: &domain.WebhookBatch{Statuses: []domain.StatusEvent{e}}})
			}
		}
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		items := events[n*perBatch : (n+1)*perBatch]
		if _, err := st.ApplyWebhooks(ctx, items, items[len(items)-1].InboxID); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBatch)/1000, "µs/event")
}

// BenchmarkAppendInbox stores webhook bodies as the inbox's group commit
// does under load: 16 status webhooks of Meta's size per commit (a write
// to the inbox log on SQLite, a transaction on PostgreSQL).
func BenchmarkAppendInbox(b *testing.B) {
	const perCommit = 16
	ctx := context.Background()
	st := storetest.Open(b)
	bodies := make([][]byte, perCommit)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":`+
			`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},`+
			`"statuses":[{"id":"wamid.BENCH%010d","status":"delivered","timestamp":"1763802000","recipient_id":"5511970000%03d",`+
			`"pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}}]},"field":"messages"}]}]}`, i, i)
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		if _, err := st.AppendInbox(ctx, bodies, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perCommit)/1000, "µs/webhook")
}

// BenchmarkApplyUnknownStatuses applies sent statuses of messages ticks did
// not send, each creating its message in a contact's timeline, a batch of
// 1,000 events (one per webhook) per iteration, as `ticks bench ingest
// -unknown -statuses 1` has the processor do: 5,000 contacts, each new
// message later than its contact's stored ones. Run with -benchtime 50x or
// so; the stored timelines grow with the iterations, as in the bench.
func BenchmarkApplyUnknownStatuses(b *testing.B) {
	const perBatch, contacts = 1000, 5000
	ctx := context.Background()
	st := storetest.Open(b)
	sa := &domain.Subaccount{Name: "bench"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		b.Fatal(err)
	}
	ch := &domain.Channel{SubaccountID: sa.ID, Name: "bench", WABAID: rcpt.WABAID, PhoneNumberID: rcpt.PhoneNumberID,
		DisplayPhone: rcpt.DisplayPhone, Tier: "TIER_UNLIMITED", ThroughputMPS: 1000}
	if err := st.CreateChannel(ctx, ch); err != nil {
		b.Fatal(err)
	}
	billable := true
	base := time.Now().Add(-2 * time.Hour).Unix()
	events := make([]store.InboxBatch, b.N*perBatch)
	for i := range events {
		e := domain.StatusEvent{Recipient: rcpt, WAMID: fmt.Sprintf("wamid.U%09d", i), State: domain.StateSent,
			Timestamp: time.Unix(base+int64(i/10), 0), RecipientWAID: fmt.Sprintf("55119%08d", 70000000+i%contacts),
			Pricing: &domain.Pricing{Model: "PMP", Category: "utility", Type: "regular", Billable: &billable}}
		events[i] = store.InboxBatch{InboxID: int64(i + 1), ReceivedAt: time.Now(),
			Batch: &domain.WebhookBatch{Statuses: []domain.StatusEvent{e}}}
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		items := events[n*perBatch : (n+1)*perBatch]
		if _, err := st.ApplyWebhooks(ctx, items, items[len(items)-1].InboxID); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBatch)/1000, "µs/event")
}
