package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// TestAcceptedSendAndEarlyStatusDoNotDeadlock (PostgreSQL): a send being
// marked accepted while the processor applies a status of its wamid that
// came first (creating a row of its own, placed before the send in the
// contact's timeline, so the send's conversation is written again) took
// their locks in opposite orders: the group held the send's row and waited
// on the wamid's index entry, the processor held that entry and waited on
// the row. The test lines them up in that order (a third transaction holds
// the send's row until both wait) and wants neither cancelled by a
// deadlock, and the status on the send, in one row.
func TestAcceptedSendAndEarlyStatusDoNotDeadlock(t *testing.T) {
	fx := newReportFixture(t)
	if fx.st.Dialect() != store.Postgres {
		t.Skip("PostgreSQL only: SQLite has one writer")
	}
	ctx := context.Background()
	c := fx.contacts[0]
	at := base.Add(time.Hour)
	m := &domain.Message{SubaccountID: c.SubaccountID, ChannelID: fx.ch1.ID, ContactID: c.ID, Phone: c.Phone, WAID: c.WAID,
		ContentType: "template", TemplateName: "promo", TemplateCategory: "marketing", State: domain.StateSending,
		Status: domain.StatusSending, At: at}
	if err := fx.st.InsertOutbound(ctx, m, ""); err != nil {
		t.Fatal(err)
	}

	db := fx.st.DB()
	hold, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	var holder int
	if err := hold.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&holder); err != nil {
		t.Fatal(err)
	}
	if _, err := hold.ExecContext(ctx, `SELECT id FROM messages WHERE id = $1 FOR UPDATE`, m.ID); err != nil {
		t.Fatal(err)
	}
	// blocked waits until n backends wait on a lock one of pids holds or
	// awaits, and returns them.
	blocked := func(n int, pids ...int) []int {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity
				WHERE pg_blocking_pids(pid) && CAST($1 AS INT[]) ORDER BY pid`, pids)
			if err != nil {
				t.Fatal(err)
			}
			var out []int
			for rows.Next() {
				var pid int
				if err := rows.Scan(&pid); err != nil {
					t.Fatal(err)
				}
				out = append(out, pid)
			}
			rows.Close()
			if len(out) >= n {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d transactions wait on %v, want %d", len(out), pids, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	const wamid = "wamid.early"
	accepted := make(chan error, 1)
	go func() { accepted <- fx.st.MarkAccepted(ctx, m.ID, wamid, c.WAID) }()
	group := blocked(1, holder)
	applied := make(chan error, 1)
	go func() {
		// Sent a minute before the send's own time: the row it creates
		// comes first in the timeline and opens the conversation.
		b := &domain.WebhookBatch{Statuses: []domain.StatusEvent{{Recipient: recipientOf(fx.ch1), WAMID: wamid,
			State: domain.StateSent, Timestamp: at.Add(-time.Minute), RecipientWAID: c.WAID,
			Pricing: &domain.Pricing{Model: "PMP", Category: "marketing", Type: "regular"}}}}
		items := []store.InboxBatch{{InboxID: 1, ReceivedAt: at.Add(time.Hour), Batch: b}}
		_, err := fx.st.ApplyWebhooks(ctx, items, 1)
		applied <- err
	}()
	blocked(2, holder, group[0])
	if err := hold.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-applied; err != nil {
		t.Errorf("apply: %v", err)
	}
	if err := <-accepted; err != nil {
		t.Errorf("mark accepted: %v", err)
	}
	if n := fx.st.GroupReruns(); n != 0 {
		t.Errorf("the group ran %d more times (a deadlock)", n)
	}

	after, err := fx.st.MessageByWAMID(ctx, wamid, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after.ID != m.ID || after.State != domain.StateSent {
		t.Errorf("the wamid's message is %d in state %s, want the send %d, sent", after.ID, after.State, m.ID)
	}
	var rows int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE contact_id = $1`, c.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("%d messages for the contact, want the send alone", rows)
	}
}
