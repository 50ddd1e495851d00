package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/simulator"
)

// simServer starts a ticks server with the simulator as its Cloud API,
// posting webhooks back to it, with one subaccount, channel and templates.
func simServer(t *testing.T) (*testServer, int64, int64) {
	t.Helper()
	return simServerWith(t, nil)
}

// simServerWith is simServer whose simulator also has the templates extra
// returns for the server's address (nil: none).
func simServerWith(t *testing.T, extra func(serverURL string) []simulator.Template) (*testServer, int64, int64) {
	t.Helper()
	// The simulator needs the server's address, and the server the
	// simulator's: start the simulator's listener first, its handler after.
	api := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(api.Close)
	s := newServerWith(t, api.URL+"/v23.0")
	var templates []simulator.Template // nil: the simulator's defaults
	if extra != nil {
		templates = append(simulator.DefaultTemplates(), extra(s.url)...)
	}
	sim := simulator.NewServer(simulator.Config{Seed: 9, AppSecret: []byte(appSecret), Mix: simulator.Outcomes{Read: 1},
		Delays: simulator.Delays{TimeScale: 0.01}, Phones: []simulator.Phone{{PhoneNumberID: "106540352242922",
			DisplayPhone: "15550783881", WABAID: "102290129340398", AccessToken: "tok"}},
		WebhookURL: s.url + "/webhooks/whatsapp", Templates: templates})
	api.Config.Handler = sim.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	go sim.Run(ctx)
	t.Cleanup(func() { cancel(); sim.Close() })

	var sa, ch struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Loja"}, &sa)
	s.must(201, "POST", "/api/v1/channels", adminToken, map[string]any{"subaccount_id": sa.ID, "name": "Loja",
		"phone_number_id": "106540352242922", "waba_id": "102290129340398", "access_token": "tok"}, &ch)
	s.must(200, "POST", "/api/v1/templates/sync", adminToken, map[string]any{"channel_id": ch.ID}, nil)
	return s, sa.ID, ch.ID
}

func TestSendOverTheAPI(t *testing.T) {
	s, sa, ch := simServer(t)
	var tok struct{ Token string }
	s.must(201, "POST", "/api/v1/tokens", adminToken, map[string]any{"name": "bot", "role": "supervisor", "subaccount_id": sa}, &tok)

	var sent struct {
		ID, WAMID, Status, Text string
		TemplateName            string `json:"template_name"`
	}
	s.must(201, "POST", "/api/v1/messages", tok.Token, map[string]any{"to": "+55 11 98765-4321", "type": "template",
		"correlation_id": "PED-1", "template": map[string]any{"name": "pedido_enviado", "language": "pt_BR",
			"params": []string{"Maria", "123", "2"}}}, &sent)
	if sent.WAMID == "" || sent.Status != "sending" || !strings.Contains(sent.Text, "Maria") {
		t.Fatalf("sent %+v", sent)
	}
	// The webhooks take it to read.
	deadline := time.Now().Add(10 * time.Second)
	var m struct {
		Status        string
		CorrelationID string `json:"correlation_id"`
		BotID         *int64 `json:"bot_id"`
	}
	for {
		s.must(200, "GET", "/api/v1/messages/"+sent.ID, tok.Token, nil, &m)
		if m.Status == "read" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m.Status != "read" || m.CorrelationID != "PED-1" || m.BotID == nil {
		t.Errorf("after webhooks: %+v", m)
	}

	// A refusal: 422 with the stored message.
	r := s.do("POST", "/api/v1/messages", tok.Token, map[string]any{"to": "+5511912345678", "type": "text", "text": "oi"})
	if r.code != 422 || !strings.Contains(string(r.body), `"status":"invalid_session"`) || !strings.Contains(string(r.body), `"code":"refused"`) {
		t.Errorf("free-form outside a session: %d %s", r.code, r.body)
	}
	// Idempotency-Key header: the same message back, not a second send.
	body := map[string]any{"to": "+5511911112222", "type": "template", "template": map[string]any{"name": "hello_world", "language": "en_US"}}
	a := s.do("POST", "/api/v1/messages", tok.Token, body, "Idempotency-Key", "k-1")
	b := s.do("POST", "/api/v1/messages", tok.Token, body, "Idempotency-Key", "k-1")
	if a.code != 201 || b.code != 200 || string(a.body[:30]) != string(b.body[:30]) {
		t.Errorf("idempotency: %d %s / %d %s", a.code, a.body, b.code, b.body)
	}
	// The same key with another request: refused, and nothing sent or stored
	// (the payment APIs' convention).
	var before struct{ Total int }
	s.must(200, "GET", "/api/v1/reports/messages?from=2020-01-01", adminToken, nil, &before)
	other := map[string]any{"to": "+5511911113333", "type": "template", "template": map[string]any{"name": "hello_world", "language": "en_US"}}
	if c := s.do("POST", "/api/v1/messages", tok.Token, other, "Idempotency-Key", "k-1"); c.code != 422 ||
		!strings.Contains(string(c.body), `"unprocessable"`) || !strings.Contains(string(c.body), "used for a different request") {
		t.Errorf("key reused for another request: %d %s", c.code, c.body)
	}
	var after struct{ Total int }
	s.must(200, "GET", "/api/v1/reports/messages?from=2020-01-01", adminToken, nil, &after)
	if after.Total != before.Total {
		t.Errorf("the refused reuse stored a message: %d, then %d", before.Total, after.Total)
	}
	// Malformed sends store nothing.
	for _, bad := range []string{`{"type":"text","text":"x"}`, `{"to":"+5511911112222","type":"fax"}`,
		`{"to":"+5511911112222","type":"template"}`, `{"to":"+5511911112222","type":"image","content":"x"}`} {
		if r := s.do("POST", "/api/v1/messages", tok.Token, bad); r.code != 400 {
			t.Errorf("%s: %d %s", bad, r.code, r.body)
		}
	}
	_ = ch
}

func TestContactsImportAndOptOut(t *testing.T) {
	s, sa, _ := simServer(t)
	csv := "phone,name,correlation_id,plano\n" +
		"+5511999990001,Ana,C-1,ouro\n" +
		"11 99999-0002,Bruno,C-2,prata\n" +
		"abc,Ruim,C-3,\n" +
		"+5511999990001,Duplicada,C-4,\n" +
		"+5511999990005,\"Sem fim\n"
	r := s.do("POST", fmt.Sprintf("/api/v1/contacts/import?subaccount_id=%d", sa), adminToken, csv, "Content-Type", "text/csv")
	var rep struct {
		Imported, Rejected int
		Errors             []struct {
			Row   int
			Error string
		}
	}
	r.json(t, &rep)
	if r.code != 200 || rep.Imported != 2 || rep.Rejected != 3 {
		t.Fatalf("import: %d %s", r.code, r.body)
	}
	if rep.Errors[0].Row != 4 || rep.Errors[1].Row != 5 {
		t.Errorf("row numbers: %+v", rep.Errors)
	}
	var list struct {
		Contacts []struct {
			ID            int64
			Phone, Name   string
			CorrelationID string `json:"correlation_id"`
			OptedOut      bool   `json:"opted_out"`
			Fields        map[string]string
		}
	}
	s.must(200, "GET", "/api/v1/contacts?phone=11999990002", adminToken, nil, &list)
	if len(list.Contacts) != 1 || list.Contacts[0].Name != "Bruno" || list.Contacts[0].Fields["plano"] != "prata" {
		t.Fatalf("contact: %+v", list.Contacts)
	}
	id := list.Contacts[0].ID
	s.must(200, "POST", fmt.Sprintf("/api/v1/contacts/%d/opt-out", id), adminToken, nil, nil)
	r = s.do("POST", "/api/v1/messages", adminToken, map[string]any{"to": "+5511999990002", "type": "template",
		"template": map[string]any{"name": "promocao_outono", "language": "pt_BR", "params": []string{"a", "b"}}})
	if r.code != 422 || !strings.Contains(string(r.body), "opted_out") {
		t.Errorf("send to an opted-out contact: %d %s", r.code, r.body)
	}
	s.must(200, "POST", fmt.Sprintf("/api/v1/contacts/%d/opt-in", id), adminToken, nil, nil)
	r = s.do("POST", "/api/v1/messages", adminToken, map[string]any{"to": "+5511999990002", "type": "template",
		"template": map[string]any{"name": "promocao_outono", "language": "pt_BR", "params": []string{"a", "b"}}})
	if r.code != 201 {
		t.Errorf("after opt-in: %d %s", r.code, r.body)
	}
}

func TestTemplatesCreateAndList(t *testing.T) {
	s, _, ch := simServer(t)
	var tpl struct{ Name, Status, Category string }
	s.must(201, "POST", "/api/v1/templates", adminToken, map[string]any{"channel_id": ch, "name": "aviso_entrega",
		"language": "pt_BR", "category": "UTILITY", "components": []any{map[string]any{"type": "BODY", "text": "Olá {{1}}, chegou!"}}}, &tpl)
	if tpl.Status != "APPROVED" || tpl.Category != "utility" {
		t.Errorf("created: %+v", tpl)
	}
	var list struct{ Templates []struct{ Name string } }
	s.must(200, "GET", "/api/v1/templates", adminToken, nil, &list)
	found := false
	for _, x := range list.Templates {
		found = found || x.Name == "aviso_entrega"
	}
	if !found || len(list.Templates) < 6 {
		t.Errorf("templates: %+v", list.Templates)
	}
	if r := s.do("POST", "/api/v1/templates", adminToken, map[string]any{"channel_id": ch, "name": "Bad Name", "language": "pt_BR",
		"category": "utility", "components": []any{}}); r.code != 400 {
		t.Errorf("bad name: %d", r.code)
	}
}
