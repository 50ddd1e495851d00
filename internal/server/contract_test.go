package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ticksapp/ticks/internal/api"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

// contract is the API's OpenAPI document, held against every request the
// server tests make to the API and the webhook endpoint, and every answer.
// kin-openapi validates: the version pinned (v0.153.0) reads OpenAPI 3.1 and
// validates a 3.1 document's schemas as JSON Schema 2020-12 (type arrays,
// const, unevaluatedProperties, if/then).
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

// loadContract parses the document the server serves, once for all tests.
var loadContract = sync.OnceValues(func() (*contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
})

// checkContract wraps h so that every exchange with the API is validated
// against the document, each mismatch failing t.
func checkContract(t *testing.T, h http.Handler) http.Handler {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return c.check(t.Errorf, h)
}

// inContract reports whether the document describes path's endpoint: the
// API under /api/v1 and the webhook endpoint. The pages, /api/docs and the
// operational endpoints are not part of it.
func inContract(path string) bool {
	return strings.HasPrefix(path, "/api/v1/") || strings.HasPrefix(path, "/webhooks/")
}

// check returns h, validating each exchange and calling report with every
// mismatch:
//   - a request the document refuses (unknown path, a missing or malformed
//     parameter, a body off its schema, no token) must be refused too, with a
//     4xx; the tests send such requests on purpose, and the server accepting
//     one means the two disagree;
//   - an unknown path or method must be answered 404 with the error shape;
//   - every answer's status must be documented for its operation, and its
//     body must match that status's schema; a file (CSV, XLSX, PDF) must
//     have a documented content type.
//
// The answer is held until it has been checked, so a mismatch is reported
// before the test reads it and goes on.
func (c *contract) check(report func(format string, args ...any), h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !inContract(r.URL.Path) || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "contract check: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		// The validator reads its own copy of the request.
		vr := r.Clone(r.Context())
		vr.Body = io.NopCloser(bytes.NewReader(body))
		route, params, routeErr := c.router.FindRoute(vr)
		h.ServeHTTP(rec, r)

		name := fmt.Sprintf("%s %s → %d", r.Method, r.URL.RequestURI(), rec.Code)
		if routeErr != nil {
			c.checkUnknown(report, name, routeErr, rec)
		} else {
			c.checkExchange(report, name, vr, body, route, params, rec)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// checkUnknown checks the answer to a request for an endpoint the document
// does not have: the server must not have one either.
func (c *contract) checkUnknown(report func(string, ...any), name string, routeErr error, rec *httptest.ResponseRecorder) {
	if rec.Code != http.StatusNotFound {
		report("API contract: %s: the document has no such endpoint (%v), yet the server answered %d, not 404", name, routeErr, rec.Code)
		return
	}
	if err := c.matches("ErrorNotFound", rec); err != nil {
		report("API contract: %s: %v", name, err)
	}
}

// matches checks a JSON answer against a schema of the document's components.
func (c *contract) matches(schema string, rec *httptest.ResponseRecorder) error {
	if ct, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); ct != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", rec.Header().Get("Content-Type"))
	}
	v, err := decodeJSON(rec.Body.Bytes())
	if err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	ref := c.doc.Components.Schemas[schema]
	if ref == nil {
		return fmt.Errorf("the document has no schema %s", schema)
	}
	if err := ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("body does not match %s: %w", schema, err)
	}
	return nil
}

func (c *contract) checkExchange(report func(string, ...any), name string, vr *http.Request, body []byte,
	route *routers.Route, params map[string]string, rec *httptest.ResponseRecorder) {
	// The API reads a body sent without a Content-Type as the one kind it
	// takes (JSON, or CSV for the contact import), as the document says.
	if rb := route.Operation.RequestBody; rb != nil && len(body) > 0 && vr.Header.Get("Content-Type") == "" && len(rb.Value.Content) == 1 {
		for mt := range rb.Value.Content {
			vr.Header.Set("Content-Type", mt)
		}
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus:             true,
		RejectWhenRequestBodyNotSpecified: true,
		MultiError:                        true,
		AuthenticationFunc:                bearerPresent,
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(vr.Context(), in)
	if reqErr != nil && (rec.Code < 400 || rec.Code >= 500) {
		report("API contract: %s: the document refuses this request, yet the server did not refuse it with a 4xx: %v", name, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Options: opts}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(vr.Context(), out); err != nil {
		report("API contract: %s: the answer is not as documented: %v\n%.600s", name, err, rec.Body.Bytes())
	}
}

func decodeJSON(b []byte) (any, error) {
	var v any
	err := json.Unmarshal(b, &v)
	return v, err
}

// bearerPresent is the document's one security scheme as a validator sees
// it: a bearer token is there (whether the server knows it is the server's
// business, and the answer is then checked like any other).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "bearer" {
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	// The scheme's name is case-insensitive (RFC 9110, 11.1).
	scheme, token, ok := strings.Cut(strings.TrimSpace(in.RequestValidationInput.Request.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no Authorization: Bearer <token> header")
	}
	return nil
}

// TestContractCatchesMismatches shows the check failing: a stand-in server
// answers each request with what the case says, and the check must report
// exactly the answers and requests the document does not allow.
func TestContractCatchesMismatches(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	const subaccount = `{"id":2,"name":"Loja","time_zone":"","created_at":"2026-05-01T12:00:00Z"}`
	cases := []struct {
		name         string
		method, path string
		token        bool
		body         string
		status       int
		contentType  string // of the answer; "" for JSON
		answer       string
		want         string // in the report; "" for none
	}{
		{"documented answer", "GET", "/api/v1/subaccounts/2", true, "", 200, "", subaccount, ""},
		{"documented error", "GET", "/api/v1/subaccounts/2", true, "", 404, "", `{"error":{"code":"not_found","message":"no"}}`, ""},
		{"undocumented status", "GET", "/api/v1/subaccounts/2", true, "", 418, "", `{"error":{"code":"invalid","message":"teapot"}}`, "status is not supported"},
		{"wrong field type", "GET", "/api/v1/subaccounts/2", true, "", 200, "", `{"id":"2","name":"Loja","time_zone":"","created_at":"2026-05-01T12:00:00Z"}`, "id"},
		{"undocumented field", "GET", "/api/v1/subaccounts/2", true, "", 200, "", strings.Replace(subaccount, `"id":2`, `"id":2,"colour":"red"`, 1), "colour"},
		{"missing field", "GET", "/api/v1/subaccounts/2", true, "", 200, "", `{"id":2,"name":"Loja","created_at":"2026-05-01T12:00:00Z"}`, "time_zone"},
		{"error code of another status", "GET", "/api/v1/subaccounts/2", true, "", 404, "", `{"error":{"code":"invalid","message":"no"}}`, "not_found"},
		{"message id as a number", "GET", "/api/v1/reports/messages", true, "", 200, "", `{"total":1,"rows":[{"id":1}],"next_cursor":""}`, "rows"},
		{"file of a documented type", "GET", "/api/v1/reports/messages?format=csv", true, "", 200, "text/csv; charset=utf-8", "a,b\n", ""},
		{"file of an undocumented type", "GET", "/api/v1/reports/messages?format=csv", true, "", 200, "text/html", "a,b\n", "text/html"},
		{"body where none is documented, taken", "POST", "/api/v1/contacts/2/opt-out", true, `{"x":1}`, 200, "", `{"id":2,"subaccount_id":2,"opted_out":true,"created_at":"2026-05-01T12:00:00Z"}`, "body"},
		{"unknown endpoint answered", "GET", "/api/v1/nothing", true, "", 200, "", `{}`, "no such endpoint"},
		{"unknown endpoint refused", "GET", "/api/v1/nothing", true, "", 404, "", `{"error":{"code":"not_found","message":"no API endpoint"}}`, ""},
		{"request off the document taken", "POST", "/api/v1/subaccounts", true, `{"name":"X","colour":"red"}`, 201, "", subaccount, "did not refuse it"},
		{"request off the document refused", "POST", "/api/v1/subaccounts", true, `{"name":"X","colour":"red"}`, 400, "", `{"error":{"code":"invalid","message":"colour"}}`, ""},
		{"no token, taken", "GET", "/api/v1/subaccounts/2", false, "", 200, "", subaccount, "did not refuse it"},
		{"request off the document failed", "POST", "/api/v1/subaccounts", true, `{"name":"X","colour":"red"}`, 500, "", `{"error":{"code":"internal","message":"internal error"}}`, "did not refuse it"},
		{"bad query parameter taken", "GET", "/api/v1/reports/messages?limit=0", true, "", 200, "", `{"total":0,"rows":[],"next_cursor":""}`, "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stand := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ct := tc.contentType
				if ct == "" {
					ct = "application/json; charset=utf-8"
				}
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.answer)
			})
			var reports []string
			h := c.check(func(format string, args ...any) { reports = append(reports, fmt.Sprintf(format, args...)) }, stand)
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			r := httptest.NewRequest(tc.method, tc.path, body)
			if tc.token {
				r.Header.Set("Authorization", "Bearer tk_test")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status || w.Body.String() != tc.answer {
				t.Errorf("the check changed the answer: %d %s", w.Code, w.Body)
			}
			switch {
			case tc.want == "" && len(reports) > 0:
				t.Errorf("reported a good exchange: %v", reports)
			case tc.want != "" && len(reports) == 0:
				t.Errorf("did not report it")
			case tc.want != "" && !strings.Contains(strings.Join(reports, "\n"), tc.want):
				t.Errorf("report does not name %q: %v", tc.want, reports)
			}
		})
	}
}

// TestContractWalk calls every operation of the document on a real server,
// through the contract check, with what makes its answers full: optional
// fields set, null where the API answers null, a message of each kind. It
// fails when the document has an operation the walk does not call, so a
// new endpoint comes with its walk step.
func TestContractWalk(t *testing.T) {
	s, sa, ch := simServer(t)
	walked := map[string]bool{}
	// call sends a request for the operation "METHOD template" to path and
	// requires the status.
	call := func(want int, op, path, token string, body any, header ...string) response {
		t.Helper()
		walked[op] = true
		method, _, _ := strings.Cut(op, " ")
		r := s.do(method, path, token, body, header...)
		if r.code != want {
			t.Fatalf("%s: %d %s, want %d", path, r.code, r.body, want)
		}
		return r
	}
	var id struct {
		ID    json.Number `json:"id"`
		Token string      `json:"token"`
	}
	idOf := func(r response) json.Number {
		t.Helper()
		r.json(t, &id)
		return id.ID
	}

	if r := call(200, "GET /api/v1/openapi.json", "/api/v1/openapi.json", "", nil); !bytes.Equal(r.body, api.OpenAPI()) {
		t.Error("GET /api/v1/openapi.json does not serve the document the tests check against")
	}
	if r := call(200, "GET /api/v1/me", "/api/v1/me", adminToken, nil); !strings.Contains(string(r.body), `"subaccounts":null`) {
		t.Errorf("the admin token's scope: %s", r.body)
	}
	call(200, "GET /api/v1/subaccounts", "/api/v1/subaccounts", adminToken, nil)
	sa2 := idOf(call(201, "POST /api/v1/subaccounts", "/api/v1/subaccounts", adminToken, map[string]any{"name": "Filial", "time_zone": "America/Manaus"}))
	call(200, "GET /api/v1/subaccounts/{id}", "/api/v1/subaccounts/"+string(sa2), adminToken, nil)

	if r := call(201, "POST /api/v1/users", "/api/v1/users", adminToken, map[string]any{"email": "admin@example.com", "name": "Ana",
		"role": "admin", "password": "uma-senha-longa", "lang": "en"}); !strings.Contains(string(r.body), `"subaccounts":null`) {
		t.Errorf("a user created without subaccounts: %s", r.body)
	}
	user := idOf(call(201, "POST /api/v1/users", "/api/v1/users", adminToken, map[string]any{"email": "leitor@example.com",
		"role": "viewer", "password": "uma-senha-longa", "subaccounts": []int64{sa}}))
	call(200, "GET /api/v1/users", "/api/v1/users", adminToken, nil)
	call(200, "GET /api/v1/users/{id}", "/api/v1/users/"+string(user), adminToken, nil)

	tokenID := idOf(call(201, "POST /api/v1/tokens", "/api/v1/tokens", adminToken, map[string]any{"name": "bot", "role": "supervisor", "subaccount_id": sa}))
	token := id.Token
	call(200, "GET /api/v1/me", "/api/v1/me", token, nil)
	call(200, "GET /api/v1/tokens", "/api/v1/tokens", adminToken, nil) // the bot's now has last_used_at

	call(200, "GET /api/v1/channels", "/api/v1/channels", token, nil)
	ch2 := idOf(call(201, "POST /api/v1/channels", "/api/v1/channels", adminToken, map[string]any{"subaccount_id": sa2, "name": "Filial",
		"waba_id": "102290129340777", "phone_number_id": "106540352242777", "display_phone": "15550780000", "access_token": "EAAG-x",
		"tier": "TIER_1K", "throughput_mps": 80}))
	call(200, "PATCH /api/v1/channels/{id}", "/api/v1/channels/"+string(ch2), adminToken, map[string]any{
		"warmup_until": "2030-01-01T00:00:00Z", "warmup_daily_limit": 50, "tier": "TIER_10K", "throughput_mps": 20})
	call(200, "GET /api/v1/channels/{id}", "/api/v1/channels/"+string(ch2), adminToken, nil)
	call(200, "PATCH /api/v1/channels/{id}", "/api/v1/channels/"+string(ch2), adminToken, map[string]any{"warmup_until": "0001-01-01T00:00:00Z",
		"tier": nil, "fallback_template": "", "fallback_language": ""})

	contact := idOf(call(200, "POST /api/v1/contacts", "/api/v1/contacts", token, map[string]any{"phone": "+5511987650101", "name": "Ana",
		"correlation_id": "C-1", "fields": map[string]string{"plano": "ouro"}}))
	call(200, "POST /api/v1/contacts/{id}/opt-out", "/api/v1/contacts/"+string(contact)+"/opt-out", token, nil)
	call(200, "GET /api/v1/contacts/{id}", "/api/v1/contacts/"+string(contact), token, nil) // opted_out_at
	call(200, "POST /api/v1/contacts/{id}/opt-in", "/api/v1/contacts/"+string(contact)+"/opt-in", token, nil)
	if r := call(200, "POST /api/v1/contacts/import", "/api/v1/contacts/import", token, "phone,name\n+5511987650102,Bia\n",
		"Content-Type", "text/csv; charset=utf-8"); !strings.Contains(string(r.body), `"errors":null`) {
		t.Errorf("an import without bad rows: %s", r.body)
	}
	call(200, "GET /api/v1/contacts", "/api/v1/contacts?limit=10&after=0&phone=11987650101", token, nil)

	call(200, "GET /api/v1/templates", "/api/v1/templates", token, nil)
	call(200, "POST /api/v1/templates/sync", "/api/v1/templates/sync", token, nil)
	// A fallback must be sendable: without parameters, and synced.
	call(400, "PATCH /api/v1/channels/{id}", fmt.Sprintf("/api/v1/channels/%d", ch), adminToken, map[string]any{
		"fallback_template": "lembrete_pagamento", "fallback_language": "pt_BR"})
	call(200, "PATCH /api/v1/channels/{id}", fmt.Sprintf("/api/v1/channels/%d", ch), adminToken, map[string]any{
		"fallback_template": "hello_world", "fallback_language": "en_US"})
	call(201, "POST /api/v1/templates", "/api/v1/templates", token, map[string]any{"channel_id": ch, "name": "aviso",
		"language": "pt_BR", "category": "utility", "components": []any{map[string]any{"type": "BODY", "text": "Olá {{1}}"}}})

	// Messages: a sent template, a refusal, and what webhooks bring in.
	first := map[string]any{"to": "+5511987650103", "type": "template", "correlation_id": "PED-9", "contact_name": "Caio",
		"template": map[string]any{"name": "hello_world", "language": "en_US"}}
	sent := idOf(call(201, "POST /api/v1/messages", "/api/v1/messages", token, first, "Idempotency-Key", "walk-1"))
	call(200, "POST /api/v1/messages", "/api/v1/messages", token, first, "Idempotency-Key", "walk-1")
	call(422, "POST /api/v1/messages", "/api/v1/messages", token, map[string]any{"to": "+5511987650103", "type": "template",
		"template": map[string]any{"name": "hello_world", "language": "en_US"}}, "Idempotency-Key", "walk-1")
	call(422, "POST /api/v1/messages", "/api/v1/messages", token, map[string]any{"to": "+5511987650104", "type": "text", "text": "oi",
		"fallback_template": map[string]any{"name": "nao_existe", "language": "pt_BR"}})
	call(200, "GET /api/v1/messages/{id}", "/api/v1/messages/"+string(sent), token, nil)

	call(200, "GET /webhooks/whatsapp", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444", "", nil)
	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}
	now := time.Now().Add(-time.Hour).Unix()
	failed := simulator.NewStatusError(domain.MetaError{Code: 131026, Title: "Message undeliverable", Details: "Não entregue"})
	var conv simulator.StatusConversation
	conv.ID, conv.Expiration, conv.Origin.Type = "c0ffee", simulator.Unix(now+86400), "marketing"
	for _, b := range [][]byte{
		biz.StatusWebhook(simulator.Status{ID: "wamid.WALKOUT", Status: "delivered", Timestamp: simulator.Unix(now), RecipientID: "5511987650105",
			Conversation: &conv, Pricing: &simulator.StatusPricing{Billable: true, PricingModel: "CBP", Category: "marketing"}}),
		biz.StatusWebhook(simulator.Status{ID: "wamid.WALKFAIL", Status: "failed", Timestamp: simulator.Unix(now), RecipientID: "5511987650106",
			Errors: []simulator.StatusError{failed}}),
		biz.InboundWebhook(simulator.Contact{Name: "Duda", WAID: "5511987650105"}, map[string]any{"id": "wamid.WALKIN", "from": "5511987650105",
			"timestamp": simulator.Unix(now + 60), "type": "button", "context": map[string]any{"from": "15550783881", "id": "wamid.WALKOUT"},
			"button": map[string]any{"payload": "QUERO", "text": "Quero"}}),
		biz.InboundWebhook(simulator.Contact{Name: "Eva", WAID: "5511987650107"}, map[string]any{"id": "wamid.WALKAD", "from": "5511987650107",
			"timestamp": simulator.Unix(now + 90), "type": "text", "text": map[string]any{"body": "Vi o anúncio"},
			"referral": map[string]any{"source_url": "https://fb.me/x", "source_id": "120", "source_type": "ad", "headline": "Oferta",
				"body": "Só hoje", "media_type": "image", "ctwa_clid": "ARAk"}}),
		biz.Webhook("message_template_status_update", map[string]any{"event": "APPROVED", "message_template_id": 594425479261596,
			"message_template_name": "aviso", "message_template_language": "pt_BR", "reason": "NONE"}),
		simulator.Business{WABAID: "102290129340777", PhoneNumberID: "106540352242777", DisplayPhone: "15550780000"}.Webhook(
			"phone_number_quality_update", map[string]any{"display_phone_number": "15550780000", "event": "FLAGGED", "current_limit": "TIER_50"}),
	} {
		call(200, "POST /webhooks/whatsapp", "/webhooks/whatsapp", "", b, "Content-Type", "application/json",
			"X-Hub-Signature-256", whatsapp.Sign([]byte(appSecret), b))
	}
	for _, wamid := range []string{"wamid.WALKOUT", "wamid.WALKFAIL", "wamid.WALKIN", "wamid.WALKAD"} {
		s.waitFor(wamid)
		call(200, "GET /api/v1/messages/{id}", "/api/v1/messages/"+wamid, token, nil)
	}

	report := "GET /api/v1/reports/messages"
	call(200, report, "/api/v1/reports/messages?from=2020-01-01&to=2100-01-01T00:00:00Z&limit=2", token, nil)
	call(200, report, fmt.Sprintf("/api/v1/reports/messages?from=2020-01-01&direction=mt&subaccount=%d&content_type=template"+
		"&session=false&correlation_id=PED-9&status=sending,sent&status=delivered&phone=11987650103&conversation_type=business_initiated"+
		"&conversation_id=x&user=1&campaign=1&format=json", sa), token, nil)
	call(200, report, "/api/v1/reports/messages?from=2020-01-01&direction=mo&status=received", token, nil)
	call(200, report, "/api/v1/reports/messages?from=2020-01-01&format=csv&bom=1", token, nil, "Accept-Language", "en")
	call(200, report, "/api/v1/reports/messages?from=2020-01-01&format=xlsx", token, nil)
	call(200, report, "/api/v1/reports/messages?from=2020-01-01&format=pdf&direction=mo", token, nil)
	summary := "GET /api/v1/reports/messages/summary"
	call(200, summary, "/api/v1/reports/messages/summary?from=2020-01-01&status=read,delivered", token, nil)
	call(200, summary, "/api/v1/reports/messages/summary?from=2020-01-01&direction=mo", token, nil)
	call(200, summary, "/api/v1/reports/messages/summary?from=2020-01-01&format=csv&bom=1", token, nil, "Accept-Language", "en")
	call(200, summary, "/api/v1/reports/messages/summary?from=2020-01-01&format=xlsx", token, nil)

	consumption := "GET /api/v1/reports/consumption"
	call(200, consumption, "/api/v1/reports/consumption", adminToken, nil)
	call(200, consumption, "/api/v1/reports/consumption?month=2020-01&format=json", adminToken, nil)
	call(200, consumption, fmt.Sprintf("/api/v1/reports/consumption?subaccount=%d", sa), adminToken, nil)
	call(400, consumption, "/api/v1/reports/consumption?month=1999-01", adminToken, nil)
	call(403, consumption, "/api/v1/reports/consumption", token, nil)
	call(200, consumption, "/api/v1/reports/consumption?format=csv&bom=1", adminToken, nil, "Accept-Language", "en")
	call(200, consumption, "/api/v1/reports/consumption?format=xlsx", adminToken, nil)
	call(200, "GET /api/v1/rate-card", "/api/v1/rate-card", adminToken, nil)
	call(403, "GET /api/v1/rate-card", "/api/v1/rate-card", token, nil)

	call(200, "GET /api/v1/webhook-events", "/api/v1/webhook-events?limit=10", token, nil)
	call(200, "GET /api/v1/webhook-events", "/api/v1/webhook-events?field=message_template_status_update", adminToken, nil)
	// Once Meta's quality update is applied, the channel has the tier Meta
	// reported, one not accepted on input.
	for i := 0; i < 500 && !strings.Contains(string(s.do("GET", "/api/v1/webhook-events?field=phone_number_quality_update", adminToken, nil).body), "TIER_50"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if r := call(200, "GET /api/v1/channels/{id}", "/api/v1/channels/"+string(ch2), adminToken, nil); !strings.Contains(string(r.body), `"tier":"TIER_50"`) {
		t.Errorf("the channel after Meta's tier update: %s", r.body)
	}
	call(202, "POST /api/v1/ingest/replay", "/api/v1/ingest/replay", adminToken, nil)

	walkTracking(t, s, call, sa, ch, token)
	walkExtractions(t, s, call, token)
	walkDesk(t, s, call, sa, ch, token)
	walkCampaigns(t, s, call, ch, token)
	walkBudgets(t, call, sa, ch, token)

	call(204, "DELETE /api/v1/tokens/{id}", "/api/v1/tokens/"+string(tokenID), adminToken, nil)
	call(401, "GET /api/v1/me", "/api/v1/me", token, nil)

	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			if !walked[method+" "+path] {
				t.Errorf("the walk does not call %s %s: add a step for it", method, path)
			}
		}
	}
}
