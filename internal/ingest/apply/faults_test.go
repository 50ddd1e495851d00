package apply

import (
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// TestSetAside: events that cannot be true are left out of the plan and
// recorded for admins with their reason; nothing is created for them.
func TestSetAside(t *testing.T) {
	other := domain.Recipient{WABAID: "W2", PhoneNumberID: "PN2"}
	unknown := domain.Recipient{WABAID: "W9", PhoneNumberID: "PN9"}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	withRcpt := func(e domain.StatusEvent, r domain.Recipient) domain.StatusEvent { e.Recipient = r; return e }
	withWAID := func(e domain.StatusEvent, waID string) domain.StatusEvent { e.RecipientWAID = waID; return e }
	withTime := func(e domain.StatusEvent, t time.Time) domain.StatusEvent { e.Timestamp = t; return e }
	for _, tc := range []struct {
		name   string
		batch  *domain.WebhookBatch
		reason string
		sa     int64 // subaccount the event is recorded in
	}{
		{"a status of another channel's message", statuses(withRcpt(status("w.sent", domain.StateRead, 5), other)),
			`arrived for phone number id "PN2"`, 3},
		{"a status of a known message from an unknown number", statuses(withRcpt(status("w.sent", domain.StateRead, 5), unknown)),
			`arrived for phone number id "PN9"`, domain.UnassignedSubaccountID},
		{"a status without a phone number id", statuses(withRcpt(status("w.sent", domain.StateRead, 5), domain.Recipient{WABAID: "W1"})),
			`arrived for phone number id ""`, subaccountID},
		{"a status dated 2033", statuses(withTime(status("w.sent", domain.StateRead, 5), at("2033-05-01T00:00:00Z"))),
			"more than a day after", subaccountID},
		{"a status dated 2014", statuses(withTime(status("w.new", domain.StateSent, 5), at("2014-12-31T23:59:59Z"))),
			"is before 2015", subaccountID},
		{"a status without a time", statuses(withTime(status("w.new", domain.StateSent, 5), time.Time{})),
			"no timestamp", subaccountID},
		{"a recipient id with markup", statuses(withWAID(status("w.new", domain.StateSent, 5), "abc<script>")),
			`recipient_id "abc<script>" is not a WhatsApp id`, subaccountID},
		{"a recipient id with a plus", statuses(withWAID(status("w.new", domain.StateSent, 5), "+5511987654321")),
			"is not a WhatsApp id", subaccountID},
		{"an inbound message from a placeholder", &domain.WebhookBatch{Messages: []domain.InboundMessage{
			func() domain.InboundMessage { m := inbound("w.in", "oi", 5); m.FromWAID = "PHONE_NUMBER"; return m }()}},
			`from "PHONE_NUMBER"`, subaccountID},
		{"an inbound message from the future", &domain.WebhookBatch{Messages: []domain.InboundMessage{
			func() domain.InboundMessage {
				m := inbound("w.in", "oi", 5)
				m.Timestamp = received.Add(25 * time.Hour)
				return m
			}()}},
			"more than a day after", subaccountID},
		{"a part the parser could not read", &domain.WebhookBatch{Unreadable: []domain.UnreadablePart{{Recipient: rcpt,
			Field: "messages", Where: "entry[0].changes[0].statuses[1]", Reason: `unknown status "deleted"`, Value: []byte(`{"status":"deleted"}`)}}},
			`unknown status "deleted"`, subaccountID},
		{"a preference of an odd id", &domain.WebhookBatch{Preferences: []domain.PreferenceEvent{
			{Recipient: unknown, WAID: "x1", Value: "stop"}}}, `wa_id "x1"`, domain.UnassignedSubaccountID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sent("w.sent")
			pre := world(m)
			pre.Channels[other.PhoneNumberID] = Channel{ID: 11, SubaccountID: 3}
			plan := mustPlan(t, Rules{}, webhooks(tc.batch), pre)
			if plan.Stats.SetAside != 1 || plan.Stats.Statuses != 0 || plan.Stats.Inbound != 0 || plan.Stats.Other != 0 {
				t.Errorf("stats %+v, want one event set aside and nothing applied", plan.Stats)
			}
			if len(plan.Messages) != 0 || len(plan.Inbound) != 0 || len(plan.NewContacts) != 0 || len(plan.NewChannels) != 0 ||
				len(plan.OptOuts) != 0 || len(plan.Timelines) != 0 || len(plan.Rollup) != 0 {
				t.Errorf("plan writes something: %+v", plan)
			}
			if m.Progress.State != domain.StateSending {
				t.Errorf("the preloaded message moved to %s", m.Progress.State)
			}
			if len(plan.Events) != 1 {
				t.Fatalf("events %+v, want one", plan.Events)
			}
			e := plan.Events[0]
			if e.Event != SetAsideEvent || !strings.Contains(e.Detail, tc.reason) || e.SubaccountID != tc.sa || !e.At.Equal(received) {
				t.Errorf("event %+v, want set_aside in subaccount %d at receipt saying %q", e, tc.sa, tc.reason)
			}
		})
	}
}

// TestNotSetAside: the limits let through what Meta really sends.
func TestNotSetAside(t *testing.T) {
	for _, e := range []domain.StatusEvent{
		status("w.sent", domain.StateDelivered, 5),
		func() domain.StatusEvent {
			e := status("w.new", domain.StateSent, 0)
			e.Timestamp = received.Add(23 * time.Hour)
			return e
		}(),
		func() domain.StatusEvent {
			e := status("w.new2", domain.StateSent, 0)
			e.RecipientWAID, e.RecipientUserID = "", "BR.1"
			return e
		}(),
		func() domain.StatusEvent {
			e := status("w.old", domain.StateSent, 0)
			e.Timestamp = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
			return e
		}(),
	} {
		plan := mustPlan(t, Rules{}, webhooks(statuses(e)), world(sent("w.sent")))
		if plan.Stats.SetAside != 0 || plan.Stats.Statuses != 1 {
			t.Errorf("%s: stats %+v, want applied", e.WAMID, plan.Stats)
		}
	}
}
