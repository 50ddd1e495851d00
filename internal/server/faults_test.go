package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// waitApplied waits until the processor has applied every stored webhook.
func (s *testServer) waitApplied() {
	s.t.Helper()
	for i := 0; i < 1000; i++ {
		st, err := s.srv.Store.InboxStats(context.Background())
		if err == nil && st.Pending() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatal("the inbox was never applied")
}

// setAsideEvents lists the set_aside webhook events an admin sees.
func (s *testServer) setAsideEvents() []webhookEvent {
	s.t.Helper()
	var list struct {
		Events []webhookEvent `json:"events"`
	}
	s.must(200, "GET", "/api/v1/webhook-events?limit=1000", adminToken, nil, &list)
	var out []webhookEvent
	for _, e := range list.Events {
		if e.Event == "set_aside" {
			out = append(out, e)
		}
	}
	return out
}

type webhookEvent struct {
	Field  string `json:"field"`
	Event  string `json:"event"`
	Detail string `json:"detail"`
}

// TestSignedWebhooksAreKept (issue 13, 2): every correctly signed webhook
// that is valid JSON is answered 200 and stored; each part ticks cannot read
// is set aside with its reason, visible in the webhook events list, and the
// rest of the webhook is applied.
func TestSignedWebhooksAreKept(t *testing.T) {
	s := newServer(t)
	now := time.Now().Unix()
	envelope := func(value string) []byte {
		return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":` + value + `}]}]}`)
	}
	meta := `"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}`
	status := func(wamid, state string) string {
		return fmt.Sprintf(`{"id":%q,"status":%q,"timestamp":"%d","recipient_id":"5511987654321"}`, wamid, state, now)
	}
	for _, c := range []struct {
		name   string
		body   []byte
		reason string // what the set-aside event's detail says
	}{
		{"a top-level array", []byte(`[1,2]`), "not a JSON object"},
		{"another object", []byte(`{"object":"page","entry":[]}`), "whatsapp_business_account"},
		{"no entry", []byte(`{"object":"whatsapp_business_account"}`), `no "entry"`},
		{"an unknown status beside a valid one", envelope(`{` + meta + `,"statuses":[` + status("wamid.GOOD1", "sent") + `,` + status("wamid.GONE", "deleted") + `]}`),
			`statuses[1] (wamid.GONE): unknown status "deleted"`},
		{"a status without id", envelope(`{` + meta + `,"statuses":[{"status":"sent","timestamp":"1"},` + status("wamid.GOOD2", "delivered") + `]}`),
			`statuses[0] has no "id"`},
		{"a timestamp that is no time", envelope(`{` + meta + `,"statuses":[{"id":"wamid.A","status":"sent","timestamp":"yesterday"}]}`), "yesterday"},
		{"a number where a string goes", envelope(`{` + meta + `,"statuses":[{"id":"wamid.N","status":"sent","timestamp":"1","recipient_id":5511987654321},` + status("wamid.GOOD3", "read") + `]}`),
			"recipient_id is a JSON number; want a string"},
		{"a message without type", envelope(`{` + meta + `,"messages":[{"id":"wamid.B","from":"5511987654321","timestamp":"1"}]}`), "type"},
		{"statuses that are no array", envelope(`{` + meta + `,"statuses":{"id":"x"}}`), "statuses"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(s.setAsideEvents())
			if r := s.webhook(c.body); r.code != 200 {
				t.Fatalf("answered %d %s, want 200", r.code, r.body)
			}
			s.waitApplied()
			evs := s.setAsideEvents()
			if len(evs) != before+1 {
				t.Fatalf("%d set-aside events, want %d: %+v", len(evs), before+1, evs)
			}
			if !strings.Contains(evs[0].Detail, c.reason) {
				t.Errorf("set aside with %q, want it to say %q", evs[0].Detail, c.reason)
			}
		})
	}
	// The valid statuses beside the odd ones were applied.
	for _, wamid := range []string{"wamid.GOOD1", "wamid.GOOD2", "wamid.GOOD3"} {
		s.waitFor(wamid)
	}
	// A replay of the whole inbox sets nothing aside twice.
	n := len(s.setAsideEvents())
	s.must(202, "POST", "/api/v1/ingest/replay", adminToken, nil, nil)
	time.Sleep(200 * time.Millisecond)
	s.waitApplied()
	if again := len(s.setAsideEvents()); again != n {
		t.Errorf("%d set-aside events after a replay, want %d", again, n)
	}
}
