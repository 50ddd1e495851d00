package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// Issue 13, 4: a failed message keeps the times it had; a delivery or read
// reported after the failure does not give it one.
func TestFailedMessageKeepsItsTimes(t *testing.T) {
	st := storetest.Open(t)
	fail := domain.MetaError{Code: 131026, Title: "Message undeliverable"}
	apply(t, st, status("wamid.F", domain.StateDelivered, 1750000100))
	apply(t, st, status("wamid.F", domain.StateFailed, 1750000200, fail))
	apply(t, st, status("wamid.F", domain.StateDelivered, 1750000300), status("wamid.F", domain.StateRead, 1750000400))
	m, err := st.MessageByWAMID(context.Background(), "wamid.F", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != domain.StateFailed || m.FailedAt == nil || m.FailedAt.Unix() != 1750000200 {
		t.Errorf("state %s failed_at %v, want failed at 1750000200", m.State, m.FailedAt)
	}
	if m.DeliveredAt == nil || m.DeliveredAt.Unix() != 1750000100 || m.ReadAt != nil {
		t.Errorf("delivered_at %v read_at %v, want the delivery before the failure and no read", m.DeliveredAt, m.ReadAt)
	}
}

// faultWorld is two subaccounts, each with a channel of its own.
type faultWorld struct {
	st     *store.Store
	a, b   *domain.Channel
	before int // webhook events before the test's
}

func newFaultWorld(t *testing.T) *faultWorld {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	w := &faultWorld{st: st}
	for i, ch := range []**domain.Channel{&w.a, &w.b} {
		sa := &domain.Subaccount{Name: []string{"A", "B"}[i]}
		if err := st.CreateSubaccount(ctx, sa); err != nil {
			t.Fatal(err)
		}
		*ch = &domain.Channel{SubaccountID: sa.ID, Name: sa.Name, WABAID: "W" + sa.Name, PhoneNumberID: "PN" + sa.Name,
			DisplayPhone: "1555000000" + string(rune('1'+i))}
		if err := st.CreateChannel(ctx, *ch); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *faultWorld) rcpt(ch *domain.Channel) domain.Recipient {
	return domain.Recipient{WABAID: ch.WABAID, PhoneNumberID: ch.PhoneNumberID, DisplayPhone: ch.DisplayPhone}
}

// setAside returns the set_aside events of the subaccounts given (all when
// nil).
func (w *faultWorld) setAside(t *testing.T, subaccounts []int64) []store.WebhookEvent {
	t.Helper()
	evs, err := w.st.WebhookEvents(context.Background(), subaccounts, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.WebhookEvent
	for _, e := range evs {
		if e.Event == "set_aside" {
			out = append(out, e)
		}
	}
	return out
}

// Issue 13, 5: a status applies only to a message of the channel it arrived
// for; otherwise it is set aside, for the admins of the channel it arrived
// for, and the message is left as it was.
func TestStatusOfAnotherChannelIsSetAside(t *testing.T) {
	w := newFaultWorld(t)
	ctx := context.Background()
	ev := domain.StatusEvent{Recipient: w.rcpt(w.a), WAMID: "wamid.X", State: domain.StateSent,
		Timestamp: time.Unix(1750000100, 0), RecipientWAID: "5511987654321"}
	apply(t, w.st, &domain.WebhookBatch{Statuses: []domain.StatusEvent{ev}})
	ev.Recipient, ev.State, ev.Timestamp = w.rcpt(w.b), domain.StateRead, time.Unix(1750000200, 0)
	other := domain.StatusEvent{Recipient: domain.Recipient{WABAID: "W9", PhoneNumberID: "PN9"}, WAMID: "wamid.X",
		State: domain.StateDelivered, Timestamp: time.Unix(1750000150, 0), RecipientWAID: "5511987654321"}
	stats := apply(t, w.st, &domain.WebhookBatch{Statuses: []domain.StatusEvent{ev, other}})
	if stats.SetAside != 2 || stats.Statuses != 0 {
		t.Errorf("stats %+v, want 2 set aside and none applied", stats)
	}
	m, err := w.st.MessageByWAMID(ctx, "wamid.X", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.ChannelID != w.a.ID || m.State != domain.StateSent || m.ReadAt != nil || m.DeliveredAt != nil {
		t.Errorf("message on channel %d state %s read %v delivered %v, want channel %d still sent",
			m.ChannelID, m.State, m.ReadAt, m.DeliveredAt, w.a.ID)
	}
	if got := w.setAside(t, []int64{w.a.SubaccountID}); len(got) != 0 {
		t.Errorf("subaccount A sees %d set-aside events, want none: %+v", len(got), got)
	}
	b := w.setAside(t, []int64{w.b.SubaccountID})
	if len(b) != 1 || b[0].Field != "messages" || !strings.Contains(b[0].Detail, `phone number id "PNB"`) ||
		b[0].ChannelID == nil || *b[0].ChannelID != w.b.ID {
		t.Errorf("subaccount B's set-aside events = %+v, want the read status with its reason", b)
	}
	un := w.setAside(t, []int64{domain.UnassignedSubaccountID})
	if len(un) != 1 || !strings.Contains(un[0].Detail, `"PN9"`) || un[0].ChannelID != nil {
		t.Errorf("unassigned set-aside events = %+v, want the status of an unknown number, without a channel", un)
	}
	if chs, _ := w.st.Channels(ctx, nil); len(chs) != 2 {
		t.Errorf("%d channels, want 2: a status set aside creates none", len(chs))
	}
}

// Issue 13, 5 and 7: statuses and messages dated before 2015 or more than a
// day after their receipt, and recipient ids that are not digits, are set
// aside: no message, contact or channel comes of them.
func TestImpossibleEventsAreSetAside(t *testing.T) {
	w := newFaultWorld(t)
	ctx := context.Background()
	r := w.rcpt(w.a)
	st := func(wamid, waID string, at time.Time) domain.StatusEvent {
		return domain.StatusEvent{Recipient: r, WAMID: wamid, State: domain.StateDelivered, Timestamp: at, RecipientWAID: waID}
	}
	batch := &domain.WebhookBatch{
		Statuses: []domain.StatusEvent{
			st("wamid.2033", "5511987654321", time.Date(2033, 1, 1, 0, 0, 0, 0, time.UTC)),
			st("wamid.2014", "5511987654321", time.Date(2014, 12, 31, 0, 0, 0, 0, time.UTC)),
			st("wamid.script", "abc<script>", time.Unix(1750000100, 0)),
			st("wamid.ok", "5511987654321", time.Unix(1750000100, 0)),
		},
		Messages: []domain.InboundMessage{{Recipient: r, WAMID: "wamid.in", FromWAID: "55 11 9", Timestamp: time.Unix(1750000100, 0), Type: "text"}},
	}
	stats := apply(t, w.st, batch)
	if stats.SetAside != 4 || stats.Statuses != 1 || stats.Inbound != 0 {
		t.Errorf("stats %+v, want 4 set aside, 1 status applied", stats)
	}
	for _, wamid := range []string{"wamid.2033", "wamid.2014", "wamid.script", "wamid.in"} {
		if m, err := w.st.MessageByWAMID(ctx, wamid, nil); err == nil {
			t.Errorf("%s stored: %+v", wamid, m)
		}
	}
	if _, err := w.st.MessageByWAMID(ctx, "wamid.ok", nil); err != nil {
		t.Errorf("the valid status beside them: %v", err)
	}
	cs, err := w.st.Contacts(ctx, store.ContactFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].WAID != "5511987654321" {
		t.Errorf("contacts %+v, want only the valid status's", cs)
	}
	got := w.setAside(t, nil)
	want := []string{"is before 2015", "more than a day after", `recipient_id "abc<script>" is not a WhatsApp id`, `from "55 11 9" is not`}
	if len(got) != len(want) {
		t.Fatalf("%d set-aside events, want %d: %+v", len(got), len(want), got)
	}
	for _, reason := range want {
		found := false
		for _, e := range got {
			found = found || (strings.Contains(e.Detail, reason) && e.SubaccountID == w.a.SubaccountID)
		}
		if !found {
			t.Errorf("no set-aside event in subaccount A says %q: %+v", reason, got)
		}
	}
	// Applying the same batch again records nothing more.
	apply(t, w.st, batch)
	if again := w.setAside(t, nil); len(again) != len(got) {
		t.Errorf("%d set-aside events after a replay, want %d", len(again), len(got))
	}
}
