package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

const (
	testToken  = "test-token"
	testPhone  = "106540352242922"
	testWABA   = "102290129340398"
	fxSendDir  = "../../testdata/whatsapp/meta_docs_constructed"
	testSecret = "app-secret"
)

var testPhones = []Phone{{PhoneNumberID: testPhone, DisplayPhone: "15550783881", WABAID: testWABA, AccessToken: testToken}}

// receiver is a webhook endpoint that checks signatures and parses bodies.
type receiver struct {
	t         *testing.T
	mu        sync.Mutex
	failFirst int // answer 500 to the first failFirst posts
	posts     int
	refused   [][]byte
	bodies    [][]byte
	batches   []*domain.WebhookBatch
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.posts++
	if rc.posts <= rc.failFirst {
		rc.refused = append(rc.refused, body)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if !whatsapp.VerifySignature([]byte(testSecret), body, r.Header.Get(whatsapp.SignatureHeader)) {
		rc.t.Errorf("webhook signature does not verify: %s", body)
	}
	batch, err := whatsapp.ParseWebhook(body)
	if err != nil {
		rc.t.Errorf("webhook does not parse: %v\n%s", err, body)
	}
	rc.bodies = append(rc.bodies, body)
	rc.batches = append(rc.batches, batch)
}

func (rc *receiver) snapshot() ([][]byte, []*domain.WebhookBatch) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.bodies), slices.Clone(rc.batches)
}

// harness is a simulator behind an HTTP server, its sender posting to a
// receiver.
type harness struct {
	t   *testing.T
	sim *Server
	api string
	rc  *receiver
}

func newHarness(t *testing.T, cfg Config, failFirst int) *harness {
	t.Helper()
	rc := &receiver{t: t, failFirst: failFirst}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	cfg.WebhookURL = hook.URL
	cfg.AppSecret = []byte(testSecret)
	if cfg.Phones == nil {
		cfg.Phones = testPhones
	}
	if cfg.Delays.TimeScale == 0 {
		cfg.Delays.TimeScale = 0.002
	}
	sim := NewServer(cfg)
	api := httptest.NewServer(sim.Handler())
	t.Cleanup(api.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		sim.Close()
	})
	return &harness{t: t, sim: sim, api: api.URL, rc: rc}
}

// post sends a JSON body with plain net/http and decodes the answer.
func (h *harness) post(path, token string, body any) (int, map[string]any) {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	req, _ := http.NewRequest(http.MethodPost, h.api+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) (int, map[string]any) {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		h.t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, out
}

func (h *harness) send(msg map[string]any) (int, map[string]any) {
	h.t.Helper()
	if _, ok := msg["messaging_product"]; !ok {
		msg["messaging_product"] = "whatsapp"
	}
	return h.post("/v23.0/"+testPhone+"/messages", testToken, msg)
}

// mustSend sends and returns the wamid.
func (h *harness) mustSend(msg map[string]any) string {
	h.t.Helper()
	code, out := h.send(msg)
	if code != http.StatusOK {
		h.t.Fatalf("send: %d %v", code, out)
	}
	return out["messages"].([]any)[0].(map[string]any)["id"].(string)
}

// settle waits until every scheduled webhook has been delivered.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.sim.Stats().Pending > 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("webhooks still pending: %+v", h.sim.Stats())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func template(to, name, lang string, params ...string) map[string]any {
	ps := make([]map[string]any, len(params))
	for i, p := range params {
		ps[i] = map[string]any{"type": "text", "text": p}
	}
	t := map[string]any{"name": name, "language": map[string]any{"code": lang}}
	if len(ps) > 0 {
		t["components"] = []any{map[string]any{"type": "body", "parameters": ps}}
	}
	return map[string]any{"to": to, "type": "template", "template": t}
}

func text(to, body string) map[string]any {
	return map[string]any{"recipient_type": "individual", "to": to, "type": "text", "text": map[string]any{"body": body}}
}

// shape lists the JSON paths of v with the kind of value at each: two
// documents of the same shape differ only in values.
func shape(v any, path string, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			shape(e, path+"."+k, out)
		}
	case []any:
		for _, e := range x {
			shape(e, path+"[]", out)
		}
	default:
		*out = append(*out, fmt.Sprintf("%s:%T", path, v))
	}
	if path == "" {
		slices.Sort(*out)
		*out = slices.Compact(*out)
	}
}

func shapeOf(v any) []string {
	var out []string
	shape(v, "", &out)
	return out
}

// fixture decodes a file of testdata/whatsapp/meta_docs_constructed.
func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fxSendDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSendAnswersMetaShape(t *testing.T) {
	h := newHarness(t, Config{Seed: 1}, 0)
	code, out := h.send(template("+55 11 98765-4321", "pedido_enviado", "pt_BR", "Maria", "12345", "5"))
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, out)
	}
	want := fixture(t, "send_response_template_accepted.json")
	if got, w := shapeOf(out), shapeOf(want); !slices.Equal(got, w) {
		t.Errorf("answer shape\n got %v\nwant %v", got, w)
	}
	c := out["contacts"].([]any)[0].(map[string]any)
	m := out["messages"].([]any)[0].(map[string]any)
	if c["input"] != "+55 11 98765-4321" || c["wa_id"] != "5511987654321" {
		t.Errorf("contacts = %v", c)
	}
	if id := m["id"].(string); !strings.HasPrefix(id, "wamid.") || m["message_status"] != "accepted" {
		t.Errorf("messages = %v", m)
	}
	// The unversioned path and ?access_token= work too.
	raw, _ := json.Marshal(template("5511987654321", "hello_world", "en_US"))
	raw = append(raw[:len(raw)-1], []byte(`,"messaging_product":"whatsapp"}`)...)
	req, _ := http.NewRequest(http.MethodPost, h.api+"/"+testPhone+"/messages?access_token="+testToken, bytes.NewReader(raw))
	if code, out := h.do(req); code != http.StatusOK {
		t.Errorf("unversioned send: %d %v", code, out)
	}
	// Mark as read and typing indicator.
	code, out = h.send(map[string]any{"status": "read", "message_id": "wamid.X", "typing_indicator": map[string]any{"type": "text"}})
	if code != http.StatusOK || out["success"] != true {
		t.Errorf("mark as read: %d %v", code, out)
	}
}

func TestSyncErrors(t *testing.T) {
	h := newHarness(t, Config{Seed: 1}, 0)
	to := "5511987654321"
	cases := []struct {
		name    string
		token   string
		body    any
		status  int
		code    int
		fixture string
	}{
		{"unknown template", testToken, template(to, "order_update_v9", "en_US"), 404, 132001, "sync_error_132001_template_not_found.json"},
		{"template in another language", testToken, template(to, "hello_world", "pt_BR"), 404, 132001, ""},
		{"parameter count", testToken, template(to, "pedido_enviado", "pt_BR", "Maria"), 400, 132000, ""},
		{"not JSON", testToken, `{"messaging_product":`, 400, 100, "sync_error_100_invalid_parameter.json"},
		{"wrong product", testToken, map[string]any{"messaging_product": "sms", "to": to, "type": "text", "text": map[string]any{"body": "x"}}, 400, 100, ""},
		{"no product", testToken, map[string]any{"to": to, "type": "text", "text": map[string]any{"body": "x"}}, 400, 100, ""},
		{"no to", testToken, map[string]any{"messaging_product": "whatsapp", "type": "text", "text": map[string]any{"body": "x"}}, 400, 100, ""},
		{"bad to", testToken, map[string]any{"messaging_product": "whatsapp", "to": "abc", "type": "text", "text": map[string]any{"body": "x"}}, 400, 100, ""},
		{"no type", testToken, map[string]any{"messaging_product": "whatsapp", "to": to, "text": map[string]any{"body": "x"}}, 400, 100, ""},
		{"unknown type", testToken, map[string]any{"messaging_product": "whatsapp", "to": to, "type": "fax", "fax": map[string]any{}}, 400, 100, ""},
		{"type object missing", testToken, map[string]any{"messaging_product": "whatsapp", "to": to, "type": "image"}, 400, 100, ""},
		{"empty text", testToken, map[string]any{"messaging_product": "whatsapp", "to": to, "type": "text", "text": map[string]any{"body": ""}}, 400, 100, ""},
		{"to of the wrong type", testToken, map[string]any{"messaging_product": "whatsapp", "to": 5511, "type": "text", "text": map[string]any{"body": "x"}}, 400, 100, ""},
		{"wrong token", "nope", text(to, "x"), 401, 190, ""},
		{"no token", "", text(to, "x"), 401, 190, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if m, ok := body.(map[string]any); ok && c.code != 100 {
				m["messaging_product"] = "whatsapp"
			}
			status, out := h.post("/v23.0/"+testPhone+"/messages", c.token, body)
			if status != c.status {
				t.Errorf("HTTP %d, want %d: %v", status, c.status, out)
			}
			e, _ := out["error"].(map[string]any)
			if e == nil || e["code"] != float64(c.code) || e["type"] != "OAuthException" || e["fbtrace_id"] == "" {
				t.Fatalf("error = %v, want code %d", out, c.code)
			}
			if c.code != 190 {
				if d, _ := e["error_data"].(map[string]any); d == nil || d["messaging_product"] != "whatsapp" || d["details"] == "" {
					t.Errorf("error_data = %v", e["error_data"])
				}
			}
			if c.fixture != "" {
				if got, want := shapeOf(out), shapeOf(fixture(t, c.fixture)); !slices.Equal(got, want) {
					t.Errorf("error shape\n got %v\nwant %v", got, want)
				}
			}
		})
	}
	// A token of another number is "does not exist or missing permissions".
	other := NewServer(Config{Phones: append(slices.Clone(testPhones),
		Phone{PhoneNumberID: "200", DisplayPhone: "15550000000", WABAID: "300", AccessToken: "other"})})
	rec := httptest.NewRecorder()
	raw, _ := json.Marshal(map[string]any{"messaging_product": "whatsapp", "to": to, "type": "text", "text": map[string]any{"body": "x"}})
	other.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v24.0/200/messages", bytes.NewReader(raw)))
	if rec.Code != 401 {
		t.Errorf("no token on number 200: %d %s", rec.Code, rec.Body)
	}
	req := httptest.NewRequest(http.MethodPost, "/v24.0/200/messages", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec = httptest.NewRecorder()
	other.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"code":100`) || !strings.Contains(rec.Body.String(), `"error_subcode":33`) {
		t.Errorf("another number's token: %d %s", rec.Code, rec.Body)
	}
	if st := h.sim.Stats(); st.Accepted != 0 || st.Rejected != uint64(len(cases)) {
		t.Errorf("stats = %+v", st)
	}
}

func TestThroughput(t *testing.T) {
	now := time.Unix(1750000000, 0)
	h := newHarness(t, Config{Seed: 1, Throughput: 3, Now: func() time.Time { return now }}, 0)
	for i := range 3 {
		if code, out := h.send(template("5511987654321", "hello_world", "en_US")); code != 200 {
			t.Fatalf("send %d: %d %v", i, code, out)
		}
	}
	code, out := h.send(template("5511987654321", "hello_world", "en_US"))
	if e, _ := out["error"].(map[string]any); code != 400 || e == nil || e["code"] != float64(130429) {
		t.Fatalf("over throughput: %d %v", code, out)
	}
	if got, want := shapeOf(out), shapeOf(fixture(t, "sync_error_130429_throughput.json")); !slices.Equal(got, want) {
		t.Errorf("error shape\n got %v\nwant %v", got, want)
	}
	now = now.Add(time.Second) // the bucket refills
	if code, out := h.send(template("5511987654321", "hello_world", "en_US")); code != 200 {
		t.Fatalf("after a second: %d %v", code, out)
	}
}

// statuses returns the status events of wamid, in delivery order.
func statuses(batches []*domain.WebhookBatch, wamid string) []domain.StatusEvent {
	var out []domain.StatusEvent
	for _, b := range batches {
		for _, s := range b.Statuses {
			if s.WAMID == wamid {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestFreeFormOutsideWindowFails131047(t *testing.T) {
	h := newHarness(t, Config{Seed: 7, Mix: Outcomes{Read: 1}}, 0)
	to := "5511912345678"
	id := h.mustSend(text(to, "Oi, tudo bem?"))
	h.settle()
	_, batches := h.rc.snapshot()
	st := statuses(batches, id)
	if len(st) != 1 || st[0].State != domain.StateFailed || len(st[0].Errors) != 1 || st[0].Errors[0].Code != 131047 {
		t.Fatalf("statuses of a free-form message outside the window = %+v; want one failed 131047", st)
	}
	if st[0].Pricing != nil {
		t.Errorf("failed status has pricing %+v", st[0].Pricing)
	}
	// Once the contact writes, free-form messages go through, free.
	if _, err := h.sim.GenerateInbound(Inbound{From: to, Type: "text", Text: "Olá"}); err != nil {
		t.Fatal(err)
	}
	id = h.mustSend(text(to, "Olá! Como posso ajudar?"))
	h.settle()
	_, batches = h.rc.snapshot()
	st = statuses(batches, id)
	var states []domain.State
	for _, s := range st {
		states = append(states, s.State)
	}
	// Webhooks are posted concurrently, so they may arrive out of order.
	slices.SortFunc(states, func(a, b domain.State) int { return rank(a) - rank(b) })
	slices.SortFunc(st, func(a, b domain.StatusEvent) int { return rank(a.State) - rank(b.State) })
	if !slices.Equal(states, []domain.State{domain.StateSent, domain.StateDelivered, domain.StateRead}) {
		t.Fatalf("states inside the window = %v", states)
	}
	if p := st[0].Pricing; p == nil || p.Model != "PMP" || p.Category != "service" || p.Type != "free_customer_service" {
		t.Errorf("pricing = %+v", p)
	}
}

func rank(s domain.State) int {
	return slices.Index([]domain.State{domain.StateSent, domain.StateDelivered, domain.StateRead, domain.StateFailed}, s)
}

func TestWebhooksEndToEnd(t *testing.T) {
	mix := DefaultOutcomes()
	mix.Failed, mix.Read, mix.Delivered = 0.2, 0.5, 0.2
	mix.QuickReply, mix.Reply, mix.OptOut = 0.5, 0.5, 0.15
	h := newHarness(t, Config{Seed: 99, Throughput: 10_000, Mix: mix}, 0)

	// A contact from an ad: its messages are free entry points.
	ad := "5521999990000"
	if _, err := h.sim.GenerateInbound(Inbound{From: ad, Type: "ctwa"}); err != nil {
		t.Fatal(err)
	}
	h.sim.Tick(10)
	fep := h.mustSend(template(ad, "lembrete_pagamento", "pt_BR", "Ana", "R$ 10,00", "10/08"))
	// An interactive message inside the window.
	h.mustSend(map[string]any{"to": ad, "type": "interactive", "interactive": map[string]any{"type": "button",
		"body": map[string]any{"text": "Confirma?"}, "action": map[string]any{"buttons": []any{
			map[string]any{"type": "reply", "reply": map[string]any{"id": "sim", "title": "Sim"}},
			map[string]any{"type": "reply", "reply": map[string]any{"id": "nao", "title": "Não"}}}}}})
	var marketing []string
	for i := range 80 {
		to := fmt.Sprintf("55119%08d", 70000000+i%40)
		msg := template(to, "promocao_outono", "pt_BR", "Maria", "OUTONO20")
		msg["template"].(map[string]any)["components"] = append(msg["template"].(map[string]any)["components"].([]any),
			map[string]any{"type": "button", "sub_type": "quick_reply", "index": "0",
				"parameters": []any{map[string]any{"type": "payload", "payload": "QUERO"}}})
		msg["biz_opaque_callback_data"] = "campanha=outono"
		marketing = append(marketing, h.mustSend(msg))
		h.mustSend(template(to, "pedido_enviado", "pt_BR", "Maria", "123", "5"))
	}
	h.settle()
	bodies, batches := h.rc.snapshot()
	if len(bodies) < 200 {
		t.Fatalf("only %d webhooks", len(bodies))
	}
	seen := map[domain.State]int{}
	codes := map[int]int{}
	types := map[string]int{}
	var prefs, buttons, ctwa int
	for _, b := range batches {
		for _, s := range b.Statuses {
			seen[s.State]++
			for _, e := range s.Errors {
				codes[e.Code]++
			}
			if (s.State == domain.StateSent || s.State == domain.StateDelivered) && (s.Pricing == nil || s.Pricing.Model != "PMP") {
				t.Errorf("%s status without PMP pricing: %+v", s.State, s)
			}
			if s.State == domain.StateSent && s.Pricing.Category == "marketing" && s.BizOpaque != "campanha=outono" {
				t.Errorf("biz_opaque_callback_data not echoed: %+v", s)
			}
			if s.Conversation != nil && s.Pricing != nil && s.Pricing.Type != "free_entry_point" {
				t.Errorf("conversation object outside a free entry point: %+v", s)
			}
		}
		for _, m := range b.Messages {
			types[m.Type]++
			if m.Type == "button" {
				buttons++
				// promocao_outono's first button has the payload the send set,
				// the other buttons their text.
				want := []string{"Rastrear pedido", "Falar com atendente"}
				if slices.Contains(marketing, m.ContextWAMID) {
					want = []string{"QUERO", "Parar promoções"}
				}
				if !slices.Contains(want, m.ButtonPayload) {
					t.Errorf("quick reply %+v; want a payload of %v", m, want)
				}
			}
			if m.Referral != nil {
				ctwa++
			}
		}
		prefs += len(b.Preferences)
	}
	for _, st := range []domain.State{domain.StateSent, domain.StateDelivered, domain.StateRead, domain.StateFailed} {
		if seen[st] == 0 {
			t.Errorf("no %s status among %v", st, seen)
		}
	}
	if len(codes) < 3 || buttons == 0 || ctwa == 0 || types["text"] == 0 || prefs == 0 {
		t.Errorf("codes %v, buttons %d, ctwa %d, inbound types %v, preferences %d", codes, buttons, ctwa, types, prefs)
	}
	// The sent status carries the pricing, whichever status arrived first.
	st := statuses(batches, fep)
	if i := slices.IndexFunc(st, func(s domain.StatusEvent) bool { return s.State == domain.StateSent }); i < 0 ||
		st[i].Pricing == nil || st[i].Pricing.Type != "free_entry_point" ||
		st[i].Conversation == nil || st[i].Conversation.Origin != "referral_conversion" {
		t.Errorf("message to a contact from an ad: %+v", st)
	}
	stats := h.sim.Stats()
	if stats.Pending != 0 || stats.Sent != uint64(len(bodies)) || stats.Failed != 0 || stats.Accepted != 162 {
		t.Errorf("stats = %+v, %d bodies", stats, len(bodies))
	}
}

// TestOptOutThenMarketingFails: after a user_preferences stop, marketing
// templates to that user fail with 131050; utility ones still go.
func TestOptOutThenMarketingFails(t *testing.T) {
	h := newHarness(t, Config{Seed: 3, Throughput: 10_000, Mix: Outcomes{Read: 1, OptOut: 1}}, 0)
	to := "5511955554444"
	h.mustSend(template(to, "promocao_outono", "pt_BR", "Maria", "OUTONO20"))
	h.settle()
	_, batches := h.rc.snapshot()
	prefs := 0
	for _, b := range batches {
		for _, p := range b.Preferences {
			if p.WAID == to && p.Value == "stop" {
				prefs++
			}
		}
	}
	if prefs != 1 {
		t.Fatalf("%d stop preferences", prefs)
	}
	mk := h.mustSend(template(to, "promocao_outono", "pt_BR", "Maria", "OUTONO20"))
	ut := h.mustSend(template(to, "pedido_enviado", "pt_BR", "Maria", "1", "2"))
	h.settle()
	_, batches = h.rc.snapshot()
	if st := statuses(batches, mk); len(st) != 1 || st[0].State != domain.StateFailed || st[0].Errors[0].Code != 131050 {
		t.Errorf("marketing after opt-out: %+v", st)
	}
	// Webhooks are posted concurrently, so they may arrive in any order (as
	// Meta's do): the utility message is read, whichever status came last.
	st := statuses(batches, ut)
	read := slices.ContainsFunc(st, func(s domain.StatusEvent) bool { return s.State == domain.StateRead })
	failed := slices.ContainsFunc(st, func(s domain.StatusEvent) bool { return s.State == domain.StateFailed })
	if !read || failed {
		t.Errorf("utility after opt-out: %+v", st)
	}
}

func TestSameSeedSameRun(t *testing.T) {
	run := func(seed uint64, runs ...uint64) (ids []string, bodies []string) {
		now := time.Unix(1750000000, 0)
		cfg := Config{Seed: seed, Throughput: 10_000, Now: func() time.Time { return now }}
		if len(runs) > 0 {
			cfg.Run = runs[0]
		}
		h := newHarness(t, cfg, 0)
		h.sim.Tick(5)
		for i := range 40 {
			to := fmt.Sprintf("55119%08d", 60000000+i%10)
			ids = append(ids, h.mustSend(template(to, "promocao_outono", "pt_BR", "Maria", "X")))
			if i%4 == 0 {
				ids = append(ids, h.mustSend(text(to, "Oi")))
			}
		}
		h.settle()
		raw, _ := h.rc.snapshot()
		for _, b := range raw {
			bodies = append(bodies, string(b))
		}
		slices.Sort(bodies) // posts run concurrently: compare as sets
		return ids, bodies
	}
	ids1, bodies1 := run(42)
	ids2, bodies2 := run(42)
	if !slices.Equal(ids1, ids2) {
		t.Errorf("same seed, different wamids:\n%v\n%v", ids1, ids2)
	}
	if !slices.Equal(bodies1, bodies2) {
		t.Errorf("same seed, different webhooks (%d vs %d)", len(bodies1), len(bodies2))
	}
	if len(slices.Compact(slices.Sorted(slices.Values(ids1)))) != len(ids1) {
		t.Errorf("wamids not unique: %v", ids1)
	}
	ids3, _ := run(43)
	if slices.Equal(ids1, ids3) {
		t.Errorf("another seed gave the same wamids")
	}
	// A later run of the same account (the demo restarted) makes new wamids:
	// ticks keeps those of the earlier runs and would refuse them again.
	ids4, _ := run(42, 1)
	if seen := slices.Compact(slices.Sorted(slices.Values(slices.Concat(ids1, ids4)))); len(seen) != len(ids1)+len(ids4) {
		t.Errorf("a later run repeated %d wamids of the first", len(ids1)+len(ids4)-len(seen))
	}
}

func TestWebhookRetries(t *testing.T) {
	h := newHarness(t, Config{Seed: 5, Mix: Outcomes{Read: 1},
		// Retry delays are scaled too: 10 ms, then 20 ms.
		Delays: Delays{Retry: Range{Min: 5 * time.Second, Max: 10 * time.Second}, TimeScale: 0.002}}, 3)
	id := h.mustSend(template("5511987654321", "hello_world", "en_US"))
	h.settle()
	bodies, batches := h.rc.snapshot()
	h.rc.mu.Lock()
	refused := slices.Clone(h.rc.refused)
	h.rc.mu.Unlock()
	if len(refused) != 3 {
		t.Fatalf("%d refused posts", len(refused))
	}
	for _, r := range refused {
		if !slices.ContainsFunc(bodies, func(b []byte) bool { return bytes.Equal(b, r) }) {
			t.Errorf("a refused webhook was never redelivered: %s", r)
		}
	}
	var states []domain.State
	for _, s := range statuses(batches, id) {
		states = append(states, s.State)
	}
	slices.Sort(states)
	if want := []domain.State{domain.StateDelivered, domain.StateRead, domain.StateSent}; !slices.Equal(states, want) {
		t.Errorf("states after retries = %v", states)
	}
	if st := h.sim.Stats(); st.Failed != 3 || st.Pending != 0 || st.Sent != uint64(len(bodies)) {
		t.Errorf("stats = %+v", st)
	}
}

func TestTemplatesAPI(t *testing.T) {
	h := newHarness(t, Config{Seed: 1}, 0)
	get := func(u string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		return h.do(req)
	}
	var names []string
	u := h.api + "/v23.0/" + testWABA + "/message_templates?limit=4"
	for pages := 0; u != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		code, out := get(u)
		if code != 200 {
			t.Fatalf("GET %s: %d %v", u, code, out)
		}
		for _, d := range out["data"].([]any) {
			names = append(names, d.(map[string]any)["name"].(string))
		}
		u = ""
		if p, ok := out["paging"].(map[string]any); ok {
			if _, ok := p["cursors"].(map[string]any)["after"]; !ok {
				t.Errorf("paging without cursors: %v", p)
			}
			if next, ok := p["next"].(string); ok {
				u = next
			}
		}
	}
	var want []string
	for _, tm := range DefaultTemplates() {
		want = append(want, tm.Name)
	}
	if !slices.Equal(names, want) {
		t.Errorf("templates %v, want %v", names, want)
	}

	create := map[string]any{"name": "aviso_entrega", "language": "pt_BR", "category": "utility",
		"components": []any{map[string]any{"type": "BODY", "text": "Seu pedido {{1}} chega hoje."},
			map[string]any{"type": "BUTTONS", "buttons": []any{map[string]any{"type": "QUICK_REPLY", "text": "Ok"}}}}}
	code, out := h.post("/v23.0/"+testWABA+"/message_templates", testToken, create)
	if code != 200 || out["status"] != "APPROVED" || out["category"] != "UTILITY" || out["id"] == "" {
		t.Fatalf("create: %d %v", code, out)
	}
	if code, out := h.post("/v23.0/"+testWABA+"/message_templates", testToken, create); code != 400 || out["error"] == nil {
		t.Errorf("duplicate create: %d %v", code, out)
	}
	if code, out := h.send(template("5511987654321", "aviso_entrega", "pt_BR", "123")); code != 200 {
		t.Errorf("send of the new template: %d %v", code, out)
	}
	if code, out := get(h.api + "/v23.0/" + testWABA + "/message_templates?name=aviso"); code != 200 || len(out["data"].([]any)) != 1 {
		t.Errorf("filter by name: %d %v", code, out)
	}
	if code, out := get(h.api + "/v23.0/999/message_templates"); code != 400 {
		t.Errorf("unknown WABA: %d %v", code, out)
	}
	h.settle()
	_, batches := h.rc.snapshot()
	approved := false
	for _, b := range batches {
		for _, e := range b.Templates {
			approved = approved || e.Name == "aviso_entrega" && e.Status == "APPROVED"
		}
	}
	if !approved {
		t.Error("no message_template_status_update webhook for the new template")
	}
}

func TestRunStopsOnClose(t *testing.T) {
	sim := NewServer(Config{WebhookURL: "http://127.0.0.1:1/unreachable", Delays: Delays{TimeScale: 0.001}})
	done := make(chan error, 1)
	go func() { done <- sim.Run(context.Background()) }()
	sim.Tick(3)
	time.Sleep(20 * time.Millisecond)
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not stop on Close")
	}
	if st := sim.Stats(); st.Pending != 3 || st.Sent != 0 {
		t.Errorf("stats after Close = %+v; undelivered webhooks must stay pending", st)
	}
	if err := NewServer(Config{}).Run(context.Background()); err == nil {
		t.Error("Run without a webhook URL did not fail")
	}
}

// BenchmarkSend measures the send path (validation, template check,
// outcome draw, webhook bodies) without the network.
func BenchmarkSend(b *testing.B) {
	sim := NewServer(Config{Seed: 1, Phones: testPhones, Throughput: 1 << 30, WebhookURL: "http://127.0.0.1:1/"})
	raw, _ := json.Marshal(map[string]any{"messaging_product": "whatsapp", "to": "5511987654321", "type": "template",
		"template": map[string]any{"name": "pedido_enviado", "language": map[string]any{"code": "pt_BR"},
			"components": []any{map[string]any{"type": "body", "parameters": []any{
				map[string]any{"type": "text", "text": "Maria"}, map[string]any{"type": "text", "text": "1"},
				map[string]any{"type": "text", "text": "2"}}}}}})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v23.0/"+testPhone+"/messages", bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Body)
		}
	}
}

// TestAnalyticsAnswerWhatWasCharged: pricing_analytics counts each message
// that reached "sent" by day, category and type in Meta's shape; a
// malformed field expansion is Meta's error 100.
func TestAnalyticsAnswerWhatWasCharged(t *testing.T) {
	h := newHarness(t, Config{Mix: Outcomes{Read: 1}}, 0)
	for i := range 3 {
		h.mustSend(template(fmt.Sprintf("551199990000%d", i), "hello_world", "en_US"))
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	get := func(fields string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, h.api+"/v23.0/"+testWABA+"?fields="+url.QueryEscape(fields), nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	code, body := get(fmt.Sprintf(`pricing_analytics.start(%d).end(%d).granularity(DAILY).dimensions(["PRICING_CATEGORY","PRICING_TYPE","PHONE"])`,
		day.Unix(), day.AddDate(0, 0, 1).Unix()))
	want := fmt.Sprintf(`{"currency":"USD","id":"%s","pricing_analytics":{"data":[{"data_points":[{"cost":0.0204,"end":%d,`+
		`"phone_number":"15550783881","pricing_category":"UTILITY","pricing_type":"REGULAR","start":%d,"volume":3}]}]}}`,
		testWABA, day.AddDate(0, 0, 1).Unix(), day.Unix())
	if code != 200 || body != want {
		t.Errorf("pricing_analytics: %d %s\nwant %s", code, body, want)
	}
	if code, body := get("pricing_analytics.start(x)"); code != 400 || !strings.Contains(body, `"code":100`) {
		t.Errorf("a bad start: %d %s", code, body)
	}
}
