package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/simulator"
)

type tenant struct {
	subaccount int64
	token      string
	userID     int64
	tokenID    int64
	channelID  int64
	biz        simulator.Business
	wamid      string // an outbound message
	moWAMID    string // an inbound message
	phone      string
}

// setupTenant creates a subaccount with a channel, a supervisor token, a
// user and traffic: an outbound message, a reply, and an account event.
func setupTenant(t *testing.T, s *testServer, name, phoneNumberID, waID string) *tenant {
	t.Helper()
	tn := &tenant{biz: simulator.Business{WABAID: "5000" + phoneNumberID, PhoneNumberID: phoneNumberID, DisplayPhone: "1555" + phoneNumberID[:7]},
		wamid: "wamid.OUT" + name, moWAMID: "wamid.IN" + name, phone: "+" + waID}
	var sa, ch, u struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": name}, &sa)
	tn.subaccount = sa.ID
	s.must(201, "POST", "/api/v1/channels", adminToken, map[string]any{"subaccount_id": sa.ID, "name": name,
		"phone_number_id": phoneNumberID, "waba_id": tn.biz.WABAID, "access_token": "EAAG-secret-" + name}, &ch)
	tn.channelID = ch.ID
	var tok struct {
		ID    int64
		Token string
	}
	s.must(201, "POST", "/api/v1/tokens", adminToken, map[string]any{"name": name, "role": "supervisor", "subaccount_id": sa.ID}, &tok)
	tn.token, tn.tokenID = tok.Token, tok.ID
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": name + "@example.com", "role": "viewer",
		"password": "password-" + name, "subaccounts": []int64{sa.ID}}, &u)
	tn.userID = u.ID

	now := time.Now().Add(-time.Hour).Unix()
	for _, b := range [][]byte{
		tn.biz.StatusWebhook(simulator.Status{ID: tn.wamid, Status: "delivered", Timestamp: simulator.Unix(now), RecipientID: waID}),
		tn.biz.InboundWebhook(simulator.Contact{Name: name, WAID: waID}, map[string]any{"id": tn.moWAMID, "from": waID,
			"timestamp": simulator.Unix(now + 60), "type": "text", "text": map[string]any{"body": "secret of " + name}}),
		tn.biz.Webhook("phone_number_quality_update", map[string]any{"display_phone_number": tn.biz.DisplayPhone,
			"event": "FLAGGED", "current_limit": "TIER_1K"}),
	} {
		if r := s.webhook(b); r.code != 200 {
			t.Fatalf("webhook: %d %s", r.code, r.body)
		}
	}
	return tn
}

// waitFor polls the admin API until the message is applied.
func (s *testServer) waitFor(wamid string) {
	s.t.Helper()
	for i := 0; i < 500; i++ {
		if s.do("GET", "/api/v1/messages/"+wamid, adminToken, nil).code == 200 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("message %s never applied", wamid)
}

// TestTenantIsolation checks every endpoint: a supervisor of subaccount A
// never gets anything of subaccount B, by any path, filter or parameter.
func TestTenantIsolation(t *testing.T) {
	s := newServer(t)
	a := setupTenant(t, s, "alpha", "1110000001", "5511987650001")
	b := setupTenant(t, s, "bravo", "2220000002", "5511987650002")
	s.waitFor(a.moWAMID)
	s.waitFor(b.moWAMID)

	var bMsg struct {
		ID             string `json:"id"`
		ContactID      int64  `json:"contact_id"`
		ConversationID string `json:"conversation_id"`
	}
	s.must(200, "GET", "/api/v1/messages/"+b.wamid, adminToken, nil, &bMsg)
	var bMO struct {
		ContactID int64 `json:"contact_id"`
	}
	s.must(200, "GET", "/api/v1/messages/"+b.moWAMID, adminToken, nil, &bMO)
	if bMsg.ConversationID == "" {
		// The reply came after the outbound message, so it has no
		// conversation of its own; B's outbound one is what we probe.
		t.Log("no conversation id on B's outbound message")
	}

	// Paths naming B's objects: not found (or forbidden) for A, never B's data.
	for _, path := range []string{
		fmt.Sprintf("/api/v1/subaccounts/%d", b.subaccount),
		fmt.Sprintf("/api/v1/users/%d", b.userID),
		fmt.Sprintf("/api/v1/channels/%d", b.channelID),
		fmt.Sprintf("/api/v1/contacts/%d", bMO.ContactID),
		"/api/v1/messages/" + bMsg.ID,
		"/api/v1/messages/" + b.wamid,
		"/api/v1/messages/" + b.moWAMID,
		fmt.Sprintf("/api/v1/reports/messages?subaccount=%d", b.subaccount),
		fmt.Sprintf("/api/v1/reports/messages?subaccount=%d&direction=mo", b.subaccount),
		fmt.Sprintf("/api/v1/reports/messages/summary?subaccount=%d", b.subaccount),
		fmt.Sprintf("/api/v1/reports/messages/summary?subaccount=%d&format=csv", b.subaccount),
	} {
		r := s.do("GET", path, a.token, nil)
		if r.code != 404 && r.code != 403 {
			t.Errorf("A GET %s: %d %s, want 404 or 403", path, r.code, r.body)
		}
		for _, leak := range []string{"secret of bravo", `"name":"bravo"`, strings.TrimPrefix(b.phone, "+"), "wa_id"} {
			if strings.Contains(string(r.body), leak) {
				t.Errorf("A GET %s leaked B's data: %s", path, r.body)
			}
		}
	}
	// Writes naming B's objects.
	for _, w := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/messages", map[string]any{"channel_id": b.channelID, "to": "+5511987650009", "type": "text", "text": "oi"}},
		{"POST", fmt.Sprintf("/api/v1/contacts/%d/opt-out", bMO.ContactID), nil},
		{"POST", fmt.Sprintf("/api/v1/contacts/%d/opt-in", bMO.ContactID), nil},
		{"PATCH", fmt.Sprintf("/api/v1/channels/%d", b.channelID), map[string]any{"tier": "TIER_2K"}},
		{"POST", "/api/v1/templates/sync", map[string]any{"channel_id": b.channelID}},
		{"POST", "/api/v1/templates", map[string]any{"channel_id": b.channelID, "name": "x", "language": "pt_BR", "category": "utility", "components": []any{map[string]any{"type": "BODY", "text": "x"}}}},
		{"POST", "/api/v1/contacts", map[string]any{"subaccount_id": b.subaccount, "phone": "+5511987650009"}},
		{"POST", fmt.Sprintf("/api/v1/contacts/import?subaccount_id=%d", b.subaccount), "phone\n+5511987650009\n"},
		{"POST", fmt.Sprintf("/api/v1/events?subaccount=%d", b.subaccount), map[string]any{"category": "c", "action": "a", "contact": "+5511987650009"}},
		{"POST", "/api/v1/bots", map[string]any{"name": "x", "subaccount_id": b.subaccount}},
	} {
		r := s.do(w.method, w.path, a.token, w.body)
		if r.code != 404 && r.code != 403 {
			t.Errorf("A %s %s into B: %d %s, want 403/404", w.method, w.path, r.code, r.body)
		}
	}
	testDeskIsolation(t, s, a, b)
	var bChannel struct{ Tier string }
	s.must(200, "GET", fmt.Sprintf("/api/v1/channels/%d", b.channelID), adminToken, nil, &bChannel)
	if bChannel.Tier == "TIER_2K" {
		t.Error("A changed B's channel")
	}
	if r := s.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", b.tokenID), a.token, nil); r.code != 404 {
		t.Errorf("A revoking B's token: %d %s, want 404", r.code, r.body)
	}
	if r := s.do("GET", "/api/v1/subaccounts", b.token, nil); r.code != 200 {
		t.Errorf("B's token stopped working after A tried to revoke it: %d", r.code)
	}
	// Writes into B's subaccount.
	for _, w := range []struct {
		path string
		body any
	}{
		{"/api/v1/tokens", map[string]any{"name": "x", "role": "viewer", "subaccount_id": b.subaccount}},
		{"/api/v1/users", map[string]any{"email": "x@example.com", "role": "viewer", "password": "long-enough", "subaccounts": []int64{b.subaccount}}},
		{"/api/v1/channels", map[string]any{"subaccount_id": b.subaccount, "name": "x", "phone_number_id": "33300000"}},
		{"/api/v1/ingest/replay", nil},
	} {
		if r := s.do("POST", w.path, a.token, w.body); r.code != 403 {
			t.Errorf("A POST %s into B: %d %s, want 403", w.path, r.code, r.body)
		}
	}

	// Lists and reports: only A's rows, whatever the filter.
	for _, path := range []string{
		"/api/v1/subaccounts", "/api/v1/users", "/api/v1/tokens", "/api/v1/channels", "/api/v1/contacts", "/api/v1/templates",
		"/api/v1/contacts?phone=" + strings.TrimPrefix(b.phone, "+"), "/api/v1/webhook-events",
		"/api/v1/reports/messages?from=2020-01-01", "/api/v1/reports/messages?from=2020-01-01&direction=mo",
		"/api/v1/reports/messages?from=2020-01-01&phone=" + strings.TrimPrefix(b.phone, "+"),
		"/api/v1/reports/messages?from=2020-01-01&conversation_id=" + bMsg.ConversationID,
		"/api/v1/reports/messages?from=2020-01-01&status=delivered",
		"/api/v1/reports/messages?from=2020-01-01&direction=mo&status=received",
		"/api/v1/reports/messages?from=2020-01-01&format=csv", "/api/v1/reports/messages?from=2020-01-01&format=csv&direction=mo",
		"/api/v1/reports/messages?from=2020-01-01&format=xlsx", "/api/v1/reports/messages?from=2020-01-01&format=pdf",
		"/api/v1/reports/messages/summary?from=2020-01-01", "/api/v1/reports/messages/summary?from=2020-01-01&format=csv",
		"/api/v1/me", "/api/v1/bots", "/api/v1/extractions", "/api/v1/reports/events?from=2025-01-01&granularity=month",
	} {
		r := s.do("GET", path, a.token, nil)
		if r.code != 200 {
			t.Errorf("A GET %s: %d %s", path, r.code, r.body)
			continue
		}
		body := string(r.body)
		for _, leak := range []string{"bravo", b.wamid, b.moWAMID, b.biz.PhoneNumberID, strings.TrimPrefix(b.phone, "+"),
			fmt.Sprintf(`"subaccount_id":%d`, b.subaccount), fmt.Sprintf(`"id":%d,"name":"bravo"`, b.subaccount)} {
			if strings.Contains(body, leak) {
				t.Errorf("A GET %s leaked %q: %s", path, leak, body)
			}
		}
	}
	// And A does see its own data, so the checks above are not vacuous.
	if r := s.do("GET", "/api/v1/reports/messages?from=2020-01-01&format=csv&direction=mo", a.token, nil); !strings.Contains(string(r.body), "secret of alpha") {
		t.Errorf("A's CSV lacks A's reply: %s", r.body)
	}
	r := s.do("GET", "/api/v1/reports/messages?from=2020-01-01", a.token, nil)
	if !strings.Contains(string(r.body), a.wamid) || !strings.Contains(string(r.body), `"total":1`) {
		t.Errorf("A's report lacks A's message: %s", r.body)
	}
	if r := s.do("GET", "/api/v1/reports/messages/summary?from=2020-01-01", a.token, nil); !strings.Contains(string(r.body), `"total":1,`) {
		t.Errorf("A's summary counts other than A's one message: %s", r.body)
	}
	r = s.do("GET", "/api/v1/webhook-events", a.token, nil)
	if !strings.Contains(string(r.body), "FLAGGED") {
		t.Errorf("A's webhook events lack A's quality update: %s", r.body)
	}
	// The org admin sees both.
	r = s.do("GET", "/api/v1/reports/messages?from=2020-01-01", adminToken, nil)
	if !strings.Contains(string(r.body), `"total":2`) {
		t.Errorf("admin report: %s", r.body)
	}
	// Channel access tokens never leave the server.
	r = s.do("GET", "/api/v1/channels", adminToken, nil)
	if strings.Contains(string(r.body), "EAAG-secret") || strings.Contains(string(r.body), "access_token") {
		t.Errorf("channel list exposes access tokens: %s", r.body)
	}
}

// TestConsumptionIsolation: the consumption report is the organization
// admin's (SPEC 1: admin is organization-wide); supervisors and viewers of
// a subaccount get 403 for their own subaccount and any other, and the
// admin's subaccount and number filters keep the others' traffic out.
func TestConsumptionIsolation(t *testing.T) {
	s := newServer(t)
	a := setupTenant(t, s, "alpha", "1110000001", "5511987650001")
	b := setupTenant(t, s, "bravo", "2220000002", "5511987650002")
	s.waitFor(a.moWAMID)
	s.waitFor(b.moWAMID)
	var viewerA struct{ Token string }
	s.must(201, "POST", "/api/v1/tokens", adminToken, map[string]any{"name": "a-viewer", "role": "viewer", "subaccount_id": a.subaccount}, &viewerA)

	for _, token := range []string{a.token, viewerA.Token} {
		for _, path := range []string{"/api/v1/reports/consumption",
			fmt.Sprintf("/api/v1/reports/consumption?subaccount=%d", a.subaccount),
			fmt.Sprintf("/api/v1/reports/consumption?subaccount=%d", b.subaccount),
			"/api/v1/reports/consumption?phone_number_id=" + b.biz.PhoneNumberID,
			"/api/v1/reports/consumption?format=csv", "/api/v1/rate-card",
		} {
			r := s.do("GET", path, token, nil)
			if r.code != 403 || strings.Contains(string(r.body), "by_phone") {
				t.Errorf("GET %s by a subaccount's token: %d %s, want 403", path, r.code, r.body)
			}
		}
	}
	for _, tt := range []struct{ path, has, hasNot string }{
		{fmt.Sprintf("/api/v1/reports/consumption?subaccount=%d", a.subaccount), a.biz.PhoneNumberID, b.biz.PhoneNumberID},
		{fmt.Sprintf("/api/v1/reports/consumption?subaccount=%d", b.subaccount), b.biz.PhoneNumberID, a.biz.PhoneNumberID},
		{"/api/v1/reports/consumption?phone_number_id=" + a.biz.PhoneNumberID, a.biz.PhoneNumberID, b.biz.PhoneNumberID},
	} {
		r := s.do("GET", tt.path, adminToken, nil)
		body := string(r.body)
		if r.code != 200 || !strings.Contains(body, tt.has) || strings.Contains(body, tt.hasNot) || !strings.Contains(body, `"total":1,`) {
			t.Errorf("admin GET %s: %d %s, want only %s's one conversation", tt.path, r.code, body, tt.has)
		}
	}
	r := s.do("GET", "/api/v1/reports/consumption", adminToken, nil)
	if !strings.Contains(string(r.body), a.biz.PhoneNumberID) || !strings.Contains(string(r.body), b.biz.PhoneNumberID) {
		t.Errorf("the admin's consumption lacks a number: %s", r.body)
	}
}

// TestCampaignTenantIsolation: a supervisor of another subaccount finds
// nothing of a campaign on any campaign endpoint, and cannot create one on
// its channel (issue 14).
func TestCampaignTenantIsolation(t *testing.T) {
	s, sa, ch := simServer(t)
	var own struct{ Token string }
	s.must(201, "POST", "/api/v1/tokens", adminToken, map[string]any{"name": "dono", "role": "supervisor", "subaccount_id": sa}, &own)
	var other struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Outra"}, &other)
	var intruder struct{ Token string }
	s.must(201, "POST", "/api/v1/tokens", adminToken, map[string]any{"name": "intruso", "role": "supervisor", "subaccount_id": other.ID}, &intruder)
	form := campaignForm(map[string]string{"name": "Segredo de Natal", "channel_id": fmt.Sprint(ch), "template": "promocao_outono",
		"language": "pt_BR", "scheduled_at": time.Now().Add(time.Hour).Format(time.RFC3339)}, campaignAudience(2))
	var c struct{ ID string }
	if r := s.do("POST", "/api/v1/campaigns", own.Token, form, "Content-Type", campaignFormType); r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	} else {
		r.json(t, &c)
	}

	if r := s.do("POST", "/api/v1/campaigns", intruder.Token, form, "Content-Type", campaignFormType); r.code != 422 ||
		!strings.Contains(string(r.body), "not found") {
		t.Errorf("a campaign on another subaccount's channel: %d %s", r.code, r.body)
	}
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/v1/campaigns/" + c.ID},
		{"GET", "/api/v1/campaigns/" + c.ID + "/audience/errors"},
		{"GET", "/api/v1/campaigns/" + c.ID + "/messages"},
		{"GET", "/api/v1/campaigns/" + c.ID + "/events"},
		{"GET", "/api/v1/campaigns/" + c.ID + "/clicks"},
		{"GET", "/api/v1/campaigns/" + c.ID + "/clicks?format=csv"},
		{"GET", "/api/v1/campaigns/compare?id=" + c.ID + "&id=1"},
		{"POST", "/api/v1/campaigns/" + c.ID + "/start"},
		{"POST", "/api/v1/campaigns/" + c.ID + "/pause"},
		{"POST", "/api/v1/campaigns/" + c.ID + "/resume"},
		{"POST", "/api/v1/campaigns/" + c.ID + "/cancel"},
		{"POST", "/api/v1/campaigns/" + c.ID + "/schedule"},
		{"GET", "/api/v1/campaigns/" + c.ID + "/estimate"},
	} {
		var body any
		if strings.HasSuffix(req.path, "/schedule") {
			body = map[string]any{"scheduled_at": time.Now().Add(3 * time.Hour).Format(time.RFC3339)}
		}
		r := s.do(req.method, req.path, intruder.Token, body)
		if r.code != 404 {
			t.Errorf("intruder %s %s: %d %s, want 404", req.method, req.path, r.code, r.body)
		}
		if strings.Contains(string(r.body), "Segredo") {
			t.Errorf("intruder %s %s leaked the campaign: %s", req.method, req.path, r.body)
		}
	}
	for _, path := range []string{"/api/v1/campaigns", "/api/v1/campaigns?name=segredo", "/api/v1/campaigns?status=scheduled"} {
		if r := s.do("GET", path, intruder.Token, nil); r.code != 200 || strings.Contains(string(r.body), "Segredo") {
			t.Errorf("intruder GET %s: %d %s", path, r.code, r.body)
		}
		if r := s.do("GET", path, own.Token, nil); !strings.Contains(string(r.body), "Segredo") {
			t.Errorf("owner GET %s does not list its campaign: %s", path, r.body)
		}
	}
	var after struct{ Status string }
	s.must(200, "GET", "/api/v1/campaigns/"+c.ID, own.Token, nil, &after)
	if after.Status != "scheduled" {
		t.Errorf("the intruder's requests changed the campaign: %s", after.Status)
	}
}

// TestBudgetIsolation: budgets are the organization admin's (SPEC 1:
// admin is organization-wide); supervisors of a subaccount get 403 on
// every budget endpoint, for their own subaccount and any other, and
// change nothing.
func TestBudgetIsolation(t *testing.T) {
	s := newServer(t)
	a := setupTenant(t, s, "alpha", "1110000001", "5511987650001")
	b := setupTenant(t, s, "bravo", "2220000002", "5511987650002")
	s.must(200, "PUT", fmt.Sprintf("/api/v1/budgets/%d", b.subaccount), adminToken, map[string]any{"amount": "900.00",
		"webhook_url": "https://bravo.example.com/alerts"}, nil)
	s.must(200, "PUT", fmt.Sprintf("/api/v1/budgets/%d", a.subaccount), adminToken, map[string]any{"amount": "100.00"}, nil)
	for _, token := range []string{a.token, b.token} { // supervisors
		for _, req := range []struct {
			method, path string
			body         any
		}{{"GET", "/api/v1/budgets", nil},
			{"PUT", fmt.Sprintf("/api/v1/budgets/%d", a.subaccount), map[string]any{"amount": "1.00"}},
			{"PUT", fmt.Sprintf("/api/v1/budgets/%d", b.subaccount), map[string]any{"amount": "1.00"}},
			{"DELETE", fmt.Sprintf("/api/v1/budgets/%d", a.subaccount), nil},
			{"DELETE", fmt.Sprintf("/api/v1/budgets/%d", b.subaccount), nil}} {
			if r := s.do(req.method, req.path, token, req.body); r.code != 403 || strings.Contains(string(r.body), "example.com") {
				t.Errorf("a supervisor %s %s: %d %s, want 403", req.method, req.path, r.code, r.body)
			}
		}
	}
	if r := s.do("GET", fmt.Sprintf("/api/v1/reports/consumption?subaccount=%d", a.subaccount), adminToken, nil); r.code != 200 ||
		strings.Contains(string(r.body), "900.00") || !strings.Contains(string(r.body), `"amount":"100.00"`) {
		t.Errorf("one subaccount's report shows another's budget: %d %s", r.code, r.body)
	}
	var list struct{ Data []struct{ Amount string } }
	s.must(200, "GET", "/api/v1/budgets", adminToken, nil, &list)
	if len(list.Data) != 2 || list.Data[0].Amount != "100.00" || list.Data[1].Amount != "900.00" {
		t.Errorf("the supervisors changed the budgets: %+v", list.Data)
	}
}

// TestCampaignWebTenantIsolation: Growth → Mensagens Ativas shows a
// supervisor only their subaccounts' campaigns; every page and action of
// another's answers 404 and changes nothing, and the detailed report's
// campaign filter does not list it.
func TestCampaignWebTenantIsolation(t *testing.T) {
	s, sa, ch := simServer(t)
	var own struct{ Token string }
	s.must(201, "POST", "/api/v1/tokens", adminToken, map[string]any{"name": "dono", "role": "supervisor", "subaccount_id": sa}, &own)
	var other struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Outra"}, &other)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "intrusa@example.com", "name": "Intrusa", "role": "supervisor",
		"password": "senha-segura-123", "subaccounts": []int64{other.ID}}, nil)
	form := campaignForm(map[string]string{"name": "Segredo de Natal", "channel_id": fmt.Sprint(ch), "template": "promocao_outono",
		"language": "pt_BR"}, campaignAudience(2)+"12;Ruim;a;b\n")
	var c struct{ ID string }
	if r := s.do("POST", "/api/v1/campaigns", own.Token, form, "Content-Type", campaignFormType); r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	} else {
		r.json(t, &c)
	}
	w := newWebClient(t, s)
	w.login("intrusa@example.com", "senha-segura-123")
	for _, path := range []string{"/campaigns/" + c.ID, "/campaigns/" + c.ID + "/review", "/campaigns/" + c.ID + "/errors",
		"/campaigns/" + c.ID + "/events", "/campaigns/compare?id=" + c.ID + "&id=1"} {
		code, body := w.get(path)
		if strings.Contains(body, "Segredo") || path != "/campaigns/compare?id="+c.ID+"&id=1" && code != 404 {
			t.Errorf("intruder GET %s: %d %.300s", path, code, body)
		}
	}
	for _, action := range []string{"start", "pause", "resume", "cancel", "discard", "confirm", "schedule"} {
		code, body := w.post("/campaigns/"+c.ID+"/"+action, url.Values{"csrf": {w.csrf}, "when": {"now"},
			"at": {time.Now().Add(3 * time.Hour).Format("2006-01-02T15:04")}})
		if code != 404 || strings.Contains(body, "Segredo") {
			t.Errorf("intruder POST %s: %d %.300s", action, code, body)
		}
	}
	for _, path := range []string{"/campaigns", "/campaigns?name=segredo", "/campaigns/compare", "/reports/messages"} {
		if code, body := w.get(path); code != 200 || strings.Contains(body, "Segredo") {
			t.Errorf("intruder GET %s: %d, lists the campaign: %v", path, code, strings.Contains(body, "Segredo"))
		}
	}
	var after struct{ Status string }
	s.must(200, "GET", "/api/v1/campaigns/"+c.ID, own.Token, nil, &after)
	if after.Status != "draft" {
		t.Errorf("the intruder's requests changed the campaign: %s", after.Status)
	}
}
