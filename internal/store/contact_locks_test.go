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
//
// With the status's row stored before (an earlier status), the group
// merges that row into the send while the processor, which read it, waits
// for the contact: the processor must then plan its batch again, from the
// send (writing the row it read would put the wamid on a second row).
func TestAcceptedSendAndEarlyStatusDoNotDeadlock(t *testing.T) {
	t.Run("status row created meanwhile", func(t *testing.T) { acceptedAndEarlyStatus(t, false) })
	t.Run("status row stored before", func(t *testing.T) { acceptedAndEarlyStatus(t, true) })
}

func acceptedAndEarlyStatus(t *testing.T, storedBefore bool) {
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

	const wamid = "wamid.early"
	// Sent minutes before the send's own time: the row a status creates
	// comes first in the timeline and opens the conversation.
	early := func(state domain.State, ts time.Time, inbox int64) error {
		b := &domain.WebhookBatch{Statuses: []domain.StatusEvent{{Recipient: recipientOf(fx.ch1), WAMID: wamid,
			State: state, Timestamp: ts, RecipientWAID: c.WAID,
			Pricing: &domain.Pricing{Model: "PMP", Category: "marketing", Type: "regular"}}}}
		items := []store.InboxBatch{{InboxID: inbox, ReceivedAt: base.Add(24 * time.Hour), Batch: b}}
		_, err := fx.st.ApplyWebhooks(ctx, items, inbox)
		return err
	}
	want := domain.StateSent
	if storedBefore {
		if err := early(domain.StateSent, at.Add(-2*time.Minute), 1); err != nil {
			t.Fatal(err)
		}
		want = domain.StateDelivered
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

	accepted := make(chan error, 1)
	go func() { accepted <- fx.st.MarkAccepted(ctx, m.ID, wamid, c.WAID) }()
	group := blocked(1, holder)
	applied := make(chan error, 1)
	go func() { applied <- early(want, at.Add(-time.Minute), 2) }()
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
	if after.ID != m.ID || after.State != want {
		t.Errorf("the wamid's message is %d in state %s, want the send %d, %s", after.ID, after.State, m.ID, want)
	}
	var rows int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE contact_id = $1`, c.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("%d messages for the contact, want the send alone", rows)
	}
}
