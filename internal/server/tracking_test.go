package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// walkTracking is the contract walk's part for bots, events and the custom
// reports: every operation, with answers as full as they get.
func walkTracking(t *testing.T, s *testServer, call func(want int, op, path, token string, body any, header ...string) response, sa, ch int64, token string) {
	t.Helper()
	var router, bot struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	call(201, "POST /api/v1/bots", "/api/v1/bots", token, map[string]any{"name": "Roteador", "kind": "router", "channel_id": ch}).json(t, &router)
	call(201, "POST /api/v1/bots", "/api/v1/bots", adminToken, map[string]any{"name": "Boletos", "subaccount_id": sa, "router_id": router.ID}).json(t, &bot)
	call(200, "GET /api/v1/bots", "/api/v1/bots", token, nil)
	call(200, "GET /api/v1/bots", "/api/v1/bots", bot.Token, nil)

	events := "POST /api/v1/events"
	call(201, events, "/api/v1/events", bot.Token, map[string]any{"category": "Escolha de Menu", "action": "2ª via de boleto",
		"contact": "+5511987650111", "extras": map[string]any{"opcao": 2}, "idempotency_key": "walk-ev-1"})
	if r := call(201, events, "/api/v1/events", bot.Token, map[string]any{"category": "Escolha de Menu", "action": "2ª via de boleto",
		"contact": "+5511987650111", "idempotency_key": "walk-ev-1", "bot": bot.ID}); !strings.Contains(string(r.body), `"duplicate":true`) {
		t.Errorf("an event sent again: %s", r.body)
	}
	call(200, events, fmt.Sprintf("/api/v1/events?subaccount=%d", sa), adminToken, map[string]any{"events": []any{
		map[string]any{"category": "Escolha de Menu", "action": "Falar com atendente", "contact": "5511987650112", "bot": bot.ID},
		map[string]any{"category": "Escolha de Menu", "action": "", "contact": "5511987650112"},
		"not an event",
	}})
	call(400, events, "/api/v1/events", token, map[string]any{"category": "x", "action": "y", "contact": "nope"})
	s.flushEvents()

	report := "GET /api/v1/reports/events"
	call(200, report, "/api/v1/reports/events", token, nil)
	call(200, report, fmt.Sprintf("/api/v1/reports/events?from=2025-01-01&to=2027-12-31&granularity=month&category=Escolha+de+Menu&action=2%%C2%%AA+via+de+boleto&bot=%d&subaccount=%d", bot.ID, sa), token, nil)
	call(200, report, "/api/v1/reports/events?granularity=hour&format=csv", token, nil, "Accept-Language", "en")
	call(200, report, "/api/v1/reports/events?granularity=week&format=xlsx", token, nil)

	funnel := "POST /api/v1/reports/funnel"
	call(200, funnel, "/api/v1/reports/funnel", token, map[string]any{"within": "2h", "from": "2020-01-01", "to": "2020-02-01", "steps": []any{
		map[string]any{"campaign": 1, "stage": "delivered"}, map[string]any{"category": "Escolha de Menu", "action": "2ª via de boleto"}}})
	if r := call(200, funnel, "/api/v1/reports/funnel", token, map[string]any{"subaccount": sa, "steps": []any{
		map[string]any{"category": "Escolha de Menu", "action": "2ª via de boleto"}, map[string]any{"category": "Escolha de Menu", "action": "Falar com atendente"}}}); !strings.Contains(string(r.body), `"contacts":1`) {
		t.Errorf("funnel: %s", r.body)
	}
	conv := "GET /api/v1/reports/conversations"
	call(200, conv, "/api/v1/reports/conversations", token, nil)
	call(200, conv, fmt.Sprintf("/api/v1/reports/conversations?from=2026-01&to=2026-12&bot=%d&subaccount=%d", bot.ID, sa), token, nil)
	users := "GET /api/v1/reports/conversations/users"
	call(200, users, "/api/v1/reports/conversations/users", token, nil)
	call(200, users, fmt.Sprintf("/api/v1/reports/conversations/users?from=2026-01&to=2026-12&bot=%d&subaccount=%d", router.ID, sa), token, nil)
	call(201, "POST /api/v1/custom-reports", "/api/v1/custom-reports", token, map[string]any{"name": "Boletos por semana", "kind": "events",
		"shared": true, "definition": map[string]any{"days": 60, "granularity": "week", "categories": []string{"Escolha de Menu"}, "actions": []string{"2ª via de boleto"}, "bot": bot.ID}})
	call(201, "POST /api/v1/custom-reports", "/api/v1/custom-reports", token, map[string]any{"name": "Campanha → boleto", "kind": "funnel",
		"definition": map[string]any{"within": "24h", "steps": []any{map[string]any{"campaign": 1, "stage": "read"}, map[string]any{"category": "Escolha de Menu", "action": "2ª via de boleto"}}}})
	call(200, "GET /api/v1/custom-reports", "/api/v1/custom-reports", token, nil)
}

// TestEvents records events through the API as bots and users, and reads
// them back in the custom report, CSV included.
func TestEvents(t *testing.T) {
	s := newServer(t)
	a := setupTenant(t, s, "alpha", "1110000001", "5511987650001")
	var bot struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	s.must(201, "POST", "/api/v1/bots", a.token, map[string]any{"name": "Boletos"}, &bot)
	batch := map[string]any{"events": []any{
		map[string]any{"category": "Menu", "action": "Boleto", "contact": "+5511987650001", "idempotency_key": "e1"},
		map[string]any{"category": "Menu", "action": "Boleto", "contact": "+5511987650002", "idempotency_key": "e2"},
		map[string]any{"category": "Menu", "action": "=HYPERLINK(\"x\")", "contact": "+5511987650002", "idempotency_key": "e3"},
		map[string]any{"category": "Menu", "action": "Boleto", "contact": "+5511987650002", "bot": bot.ID + 1000},
	}}
	var res struct {
		Accepted, Duplicates int
		Errors               []struct {
			Index int
			Error string
		}
	}
	s.must(200, "POST", "/api/v1/events", bot.Token, batch, &res)
	if res.Accepted != 3 || len(res.Errors) != 1 || res.Errors[0].Index != 3 {
		t.Fatalf("batch: %+v", res)
	}
	s.must(200, "POST", "/api/v1/events", bot.Token, batch, &res)
	if res.Accepted != 3 || res.Duplicates != 3 {
		t.Fatalf("the batch retried: %+v", res)
	}
	s.flushEvents()
	// Retried again once folded: the keys are found among the events.
	s.must(200, "POST", "/api/v1/events", bot.Token, batch, &res)
	if res.Accepted != 3 || res.Duplicates != 3 {
		t.Fatalf("the batch retried once folded: %+v", res)
	}
	s.flushEvents()
	var report struct {
		Rows []struct {
			Period, Category, Action string
			Count, Contacts          int64
		}
	}
	s.must(200, "GET", "/api/v1/reports/events?action=Boleto", a.token, nil, &report)
	var count, contacts int64
	for _, r := range report.Rows {
		count, contacts = count+r.Count, contacts+r.Contacts
	}
	if count != 2 || contacts != 2 {
		t.Errorf("report after a retried batch: %+v", report.Rows)
	}
	csv := s.do("GET", "/api/v1/reports/events?format=csv", a.token, nil)
	if csv.code != 200 || !strings.Contains(string(csv.body), "Boleto") || strings.Contains(string(csv.body), ",=HYPERLINK") || strings.Contains(string(csv.body), `,"=HYPERLINK`) ||
		!strings.Contains(string(csv.body), "'=HYPERLINK") {
		t.Errorf("CSV: %d %s", csv.code, csv.body)
	}
	// A bot's token reads no reports and registers no bots.
	if r := s.do("GET", "/api/v1/reports/events", bot.Token, nil); r.code != 403 {
		t.Errorf("a bot reading reports: %d %s", r.code, r.body)
	}
	if r := s.do("POST", "/api/v1/bots", bot.Token, map[string]any{"name": "x"}); r.code != 403 {
		t.Errorf("a bot registering bots: %d %s", r.code, r.body)
	}
}

// TestTrackingIsolation: a subaccount's tokens and bots never record into
// or read another's events and bots, and one bot's token records as that
// bot only.
func TestTrackingIsolation(t *testing.T) {
	s := newServer(t)
	a := setupTenant(t, s, "alpha", "1110000001", "5511987650001")
	b := setupTenant(t, s, "bravo", "2220000002", "5511987650002")
	var botA, botA2, botB struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	s.must(201, "POST", "/api/v1/bots", a.token, map[string]any{"name": "alpha-bot"}, &botA)
	s.must(201, "POST", "/api/v1/bots", a.token, map[string]any{"name": "alpha-bot-2"}, &botA2)
	s.must(201, "POST", "/api/v1/bots", b.token, map[string]any{"name": "bravo-bot"}, &botB)
	s.must(201, "POST", "/api/v1/events", botB.Token, map[string]any{"category": "bravo-cat", "action": "bravo-action", "contact": "+5511987650002"}, nil)
	s.must(201, "POST", "/api/v1/events", botA.Token, map[string]any{"category": "alpha-cat", "action": "alpha-action", "contact": "+5511987650001"}, nil)

	for _, w := range []struct {
		token, path string
		body        any
		want        int
	}{
		{a.token, fmt.Sprintf("/api/v1/events?subaccount=%d", b.subaccount), map[string]any{"category": "c", "action": "a", "contact": "+5511987650009"}, 403},
		{botA.Token, fmt.Sprintf("/api/v1/events?subaccount=%d", b.subaccount), map[string]any{"category": "c", "action": "a", "contact": "+5511987650009"}, 403},
		{a.token, "/api/v1/events", map[string]any{"category": "c", "action": "a", "contact": "+5511987650009", "bot": botB.ID}, 400},
		{botA.Token, "/api/v1/events", map[string]any{"category": "c", "action": "a", "contact": "+5511987650009", "bot": botA2.ID}, 400},
		{a.token, "/api/v1/bots", map[string]any{"name": "x", "subaccount_id": b.subaccount}, 403},
		{a.token, "/api/v1/bots", map[string]any{"name": "x", "router_id": botB.ID}, 400},
		{a.token, "/api/v1/bots", map[string]any{"name": "x", "kind": "router", "channel_id": b.channelID}, 400},
	} {
		if r := s.do("POST", w.path, w.token, w.body); r.code != w.want {
			t.Errorf("POST %s %v: %d %s, want %d", w.path, w.body, r.code, r.body, w.want)
		}
	}
	// A contact of B named by id is not A's.
	var bContacts struct {
		Contacts []struct{ ID int64 } `json:"contacts"`
	}
	s.must(200, "GET", "/api/v1/contacts", b.token, nil, &bContacts)
	if len(bContacts.Contacts) == 0 {
		t.Fatal("B has no contacts")
	}
	if r := s.do("POST", "/api/v1/events", botA.Token, map[string]any{"category": "c", "action": "a", "contact": bContacts.Contacts[0].ID}); r.code != 400 {
		t.Errorf("an event on B's contact: %d %s", r.code, r.body)
	}
	for _, path := range []string{"/api/v1/bots", "/api/v1/reports/events?from=2025-01-01&to=2027-12-31&granularity=month",
		"/api/v1/reports/events?format=csv", fmt.Sprintf("/api/v1/reports/events?bot=%d", botB.ID),
		fmt.Sprintf("/api/v1/reports/events?subaccount=%d", b.subaccount)} {
		r := s.do("GET", path, a.token, nil)
		if strings.Contains(string(r.body), "bravo") {
			t.Errorf("A GET %s leaked B's data: %s", path, r.body)
		}
	}
	r := s.do("GET", "/api/v1/reports/events", a.token, nil)
	if !strings.Contains(string(r.body), "alpha-action") {
		t.Errorf("A's report lacks A's event: %s", r.body)
	}
	r = s.do("GET", "/api/v1/bots", botA.Token, nil)
	if strings.Contains(string(r.body), "alpha-bot-2") || !strings.Contains(string(r.body), "alpha-bot") {
		t.Errorf("a bot's list of bots: %s", r.body)
	}
	// Nothing of the refused writes was stored.
	s.flushEvents()
	var all struct{ Rows []struct{ Count int64 } }
	s.must(200, "GET", "/api/v1/reports/events?from=2025-01-01&to=2027-12-31&granularity=month", adminToken, nil, &all)
	if n := sumCounts(all.Rows); n != 2 {
		t.Errorf("events stored: %d, want 2: %+v", n, all.Rows)
	}
}

// flushEvents folds the events recorded so far (the server's folder does it
// a moment after the answer): the reports read folded events.
func (s *testServer) flushEvents() {
	s.t.Helper()
	if err := s.srv.Services.Tracking.Flush(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

func sumCounts(rows []struct{ Count int64 }) int64 {
	var n int64
	for _, r := range rows {
		n += r.Count
	}
	return n
}
