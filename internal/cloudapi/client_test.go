package cloudapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// sharedDir holds the Meta payloads and error_codes.json copied from
// shared/whatsapp (testdata/whatsapp/README.md says where each comes from).
const sharedDir = "../../testdata/whatsapp"

const (
	testPhoneID = "106540352242922"
	testToken   = "EAAGtestTOKEN0123456789secret"
)

// reply is one scripted answer of fakeMeta.
type reply struct {
	status int
	body   string
	header map[string]string
	hangup bool // close the connection without an answer
}

// recorded is one request fakeMeta received.
type recorded struct {
	method string
	path   string
	query  string
	header http.Header
	body   []byte
}

// fakeMeta imitates the Cloud API over HTTP: it records every request and
// answers with the scripted replies in order, repeating the last one; with
// no script it accepts every send.
type fakeMeta struct {
	srv *httptest.Server

	mu      sync.Mutex
	reqs    []recorded
	replies []reply
	serve   func(w http.ResponseWriter, r *http.Request) bool // answers first when set and it returns true
}

func newFakeMeta(t *testing.T, replies ...reply) *fakeMeta {
	t.Helper()
	f := &fakeMeta{replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.srv.Close)
	return f
}

// sendOK is Meta's answer to an accepted send.
const sendOK = `{"messaging_product":"whatsapp","contacts":[{"input":"5511987654321","wa_id":"5511987654321"}],"messages":[{"id":"wamid.TEST","message_status":"accepted"}]}`

func (f *fakeMeta) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
	n := len(f.reqs)
	serve := f.serve
	rp := reply{status: http.StatusOK, body: sendOK}
	if len(f.replies) > 0 {
		rp = f.replies[min(n, len(f.replies))-1]
	}
	f.mu.Unlock()
	if serve != nil && serve(w, r) {
		return
	}
	if rp.hangup {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	if rp.status == 0 {
		rp.status = http.StatusOK
	}
	w.WriteHeader(rp.status)
	io.WriteString(w, rp.body)
}

func (f *fakeMeta) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// client returns a client of the fake with near-zero backoff.
func (f *fakeMeta) client() *Client {
	c := New(f.srv.URL + "/v23.0/")
	c.Backoff = func(int) time.Duration { return time.Millisecond }
	return c
}

// metaErrorBody is a synchronous Cloud API error as Meta writes it.
func metaErrorBody(code int, message, details string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": message, "type": "OAuthException", "code": code,
		"error_data": map[string]any{"messaging_product": "whatsapp", "details": details},
		"fbtrace_id": "AbCdEfTest",
	}})
	return string(b)
}

func textOutbound() *domain.Outbound {
	return &domain.Outbound{
		PhoneNumberID: testPhoneID,
		AccessToken:   testToken,
		To:            "5511987654321",
		Type:          "text",
		Content:       json.RawMessage(`{"body":"Olá!"}`),
	}
}

func readShared(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir, rel))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func jsonEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", got, want)
	}
}

// TestSendRequestMatchesFixtures sends, for each of Meta's send examples,
// the Outbound that says the same thing, and compares the body the client
// wrote with the example. The recipient is the example's own "to"
// placeholder, so most examples must match as they are; where an example
// leaves out a key Meta defaults (recipient_type, type), the client writes
// it anyway and the expected body gets it added: the "add" column.
func TestSendRequestMatchesFixtures(t *testing.T) {
	cases := []struct {
		file string
		typ  string // when the example has no "type"
		add  map[string]any
	}{
		// The golden template example: the client writes exactly its keys
		// (messaging_product, recipient_type, to, type, template), nothing
		// to add or remove.
		{file: "request_send_message_template_text.json"},
		{file: "request_send_message_template_media.json"},
		{file: "request_send_message_template_interactive.json"},
		{file: "request_send_catalog_template_message.json"},
		{file: "request_send_sample_shipping_confirmation_template.json"},
		{file: "request_send_flow_template_message.json", add: map[string]any{"recipient_type": "individual"}},
		{file: "request_send_sample_issue_resolution_template.json", add: map[string]any{"recipient_type": "individual"}},
		{file: "request_send_text_message.json"},
		{file: "request_send_text_message_with_preview_url.json", typ: "text", add: map[string]any{"recipient_type": "individual", "type": "text"}},
		{file: "request_send_image_message_by_id.json"},
		{file: "request_send_list_message.json"},
		{file: "request_send_reply_button.json"},
		{file: "request_send_reply_to_text_message.json"},
	}
	for _, tc := range cases {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			raw := readShared(t, "meta_openapi/send/"+tc.file)
			var fx map[string]json.RawMessage
			if err := json.Unmarshal(raw, &fx); err != nil {
				t.Fatal(err)
			}
			typ := tc.typ
			if typ == "" {
				json.Unmarshal(fx["type"], &typ)
			}
			var to string
			json.Unmarshal(fx["to"], &to)
			var ctx struct {
				MessageID string `json:"message_id"`
			}
			if c, ok := fx["context"]; ok {
				json.Unmarshal(c, &ctx)
			}
			m := &domain.Outbound{
				PhoneNumberID: testPhoneID,
				AccessToken:   testToken,
				To:            to,
				Type:          typ,
				Content:       fx[typ],
				ContextWAMID:  ctx.MessageID,
			}
			f := newFakeMeta(t)
			if _, err := f.client().Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			want := map[string]any{}
			json.Unmarshal(raw, &want)
			for k, v := range tc.add {
				if _, ok := want[k]; ok {
					t.Fatalf("fixture already has %q: drop it from add", k)
				}
				want[k] = v
			}
			wantJSON, _ := json.Marshal(want)
			jsonEqual(t, reqs[0].body, wantJSON)
		})
	}
}

func TestSendRequestHTTP(t *testing.T) {
	f := newFakeMeta(t)
	m := textOutbound()
	m.ContextWAMID = "wamid.PREVIOUS"
	m.BizOpaque = "campaign=42"
	m.Content = json.RawMessage(`{"body": "Olá <b>&</b>"}`)
	if _, err := f.client().Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.method != http.MethodPost || r.path != "/v23.0/"+testPhoneID+"/messages" {
		t.Errorf("request %s %s, want POST /v23.0/%s/messages", r.method, r.path, testPhoneID)
	}
	if got := r.header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization %q, want the bearer token", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q", got)
	}
	if strings.Contains(r.query, testToken) {
		t.Error("token in the query string")
	}
	if !strings.Contains(string(r.body), `"Olá <b>&</b>"`) {
		t.Errorf("text not sent as written: %s", r.body)
	}
	jsonEqual(t, r.body, []byte(`{
		"messaging_product": "whatsapp", "recipient_type": "individual",
		"to": "5511987654321", "type": "text", "text": {"body": "Olá <b>&</b>"},
		"context": {"message_id": "wamid.PREVIOUS"},
		"biz_opaque_callback_data": "campaign=42"}`))
}

func TestSendRejectsInvalidOutbound(t *testing.T) {
	cases := map[string]func(m *domain.Outbound){
		"no phone number": func(m *domain.Outbound) { m.PhoneNumberID = "" },
		"no recipient":    func(m *domain.Outbound) { m.To = "" },
		"no type":         func(m *domain.Outbound) { m.Type = "" },
		"reserved type":   func(m *domain.Outbound) { m.Type = "context" },
		"odd type":        func(m *domain.Outbound) { m.Type = "Text" },
		"no content":      func(m *domain.Outbound) { m.Content = nil },
		"null content":    func(m *domain.Outbound) { m.Content = json.RawMessage("null") },
		"string content":  func(m *domain.Outbound) { m.Content = json.RawMessage(`"hi"`) },
		"broken content":  func(m *domain.Outbound) { m.Content = json.RawMessage(`{"body":`) },
	}
	f := newFakeMeta(t)
	c := f.client()
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := textOutbound()
			mutate(m)
			_, err := c.Send(context.Background(), m)
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Errorf("error %v, want EINVALID", err)
			}
		})
	}
	if _, err := c.Send(context.Background(), nil); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("nil outbound: %v", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests for invalid messages", n)
	}
}

func TestSendParsesResponses(t *testing.T) {
	cases := []struct {
		file string
		want domain.SendResult
	}{
		{"meta_docs_constructed/send_response_template_accepted.json", domain.SendResult{
			WAMID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI4ODc2NDQxQzc2NEY0QzFCODMA", WAID: "16505551234", MessageStatus: "accepted"}},
		{"meta_docs_constructed/send_response_template_held_for_quality_assessment.json", domain.SendResult{
			WAMID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJBMTc0RjBFNDVBMjk0Q0U1QjcA", WAID: "16505551234", MessageStatus: "held_for_quality_assessment"}},
		// Older answers have no message_status; it stays empty.
		{"meta_openapi/send/response_200_example_response.json", domain.SendResult{
			WAMID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA", WAID: "16505551234"}},
		{"meta_openapi/send/response_200_send_message_template_text.json", domain.SendResult{
			WAMID: "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww", WAID: "48XXXXXXXXX"}},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			f := newFakeMeta(t, reply{status: 200, body: string(readShared(t, tc.file))})
			got, err := f.client().Send(context.Background(), textOutbound())
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestSendAcceptedWithoutID(t *testing.T) {
	for _, body := range []string{`{"messages":[]}`, `{"messages":[{"id":""}]}`, `<html>ok</html>`} {
		f := newFakeMeta(t, reply{status: 200, body: body})
		if _, err := f.client().Send(context.Background(), textOutbound()); err == nil {
			t.Errorf("%s: no error", body)
		}
	}
}

// syncErrorFixtures returns the paths of the synchronous error fixtures,
// failing tb when there are none.
func syncErrorFixtures(tb testing.TB) []string {
	tb.Helper()
	pattern := filepath.Join(sharedDir, "meta_docs_constructed", "sync_error_*.json")
	files, err := filepath.Glob(pattern)
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatalf("no fixture matches %s", pattern)
	}
	return files
}

// catalogHTTPStatus returns the HTTP status error_codes.json gives code.
func catalogHTTPStatus(t *testing.T, code int) int {
	t.Helper()
	var catalog []struct {
		Code       int `json:"code"`
		HTTPStatus int `json:"http_status"`
	}
	if err := json.Unmarshal(readShared(t, "error_codes.json"), &catalog); err != nil {
		t.Fatal(err)
	}
	for _, e := range catalog {
		if e.Code == code {
			return e.HTTPStatus
		}
	}
	t.Fatalf("code %d not in error_codes.json", code)
	return 0
}

// TestSendSyncErrorFixtures serves every sync_error fixture at the HTTP
// status error_codes.json gives its code.
func TestSendSyncErrorFixtures(t *testing.T) {
	want := map[string]struct {
		code      int
		title     string
		details   string
		retryable bool
	}{
		"sync_error_100_invalid_parameter.json": {100, "Invalid parameter", "Parameter 'to' is invalid", false},
		"sync_error_130429_throughput.json":     {130429, "Rate limit hit", "Cloud API message throughput has been reached.", true},
		"sync_error_131030_not_in_allowed_list.json": {131030, "Recipient phone number not in allowed list",
			"Recipient phone number not in allowed list: Add recipient phone number to recipient list and try again.", false},
		"sync_error_131047_reengagement.json": {131047, "Re-engagement message",
			"Message failed to send because more than 24 hours have passed since the customer last replied to this number.", false},
		// Meta's message is more precise than the catalog's "Template does
		// not exist": it is kept.
		"sync_error_132001_template_not_found.json": {132001, "Template name does not exist in the translation",
			"template name (order_update_v9) does not exist in en_US", false},
	}
	files := syncErrorFixtures(t)
	if len(files) != len(want) {
		t.Errorf("%d sync_error fixtures, %d expectations", len(files), len(want))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("new fixture %s: add its expectation", name)
			}
			body := readShared(t, "meta_docs_constructed/"+name)
			status := catalogHTTPStatus(t, w.code)
			f := newFakeMeta(t, reply{status: status, body: string(body)})
			c := f.client()
			c.MaxRetries = 0
			_, err := c.Send(context.Background(), textOutbound())
			var se *domain.SendError
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v, want *domain.SendError", err, err)
			}
			var fx struct {
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			json.Unmarshal(body, &fx)
			wantErr := domain.SendError{HTTPStatus: status, Retryable: w.retryable, Meta: domain.MetaError{
				Code: w.code, Title: w.title, Message: fx.Error.Message, Details: w.details}}
			if *se != wantErr {
				t.Errorf("got  %+v\nwant %+v", *se, wantErr)
			}
			if domain.StatusFromMetaError(se.Meta.Code) == "" {
				t.Error("code maps to no status")
			}
		})
	}
}

func TestParseError(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   domain.SendError
	}{
		{"generic message takes the catalog title", 500,
			`{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":131000,"fbtrace_id":"x"}}`,
			domain.SendError{HTTPStatus: 500, Retryable: true, Meta: domain.MetaError{
				Code: 131000, Title: "Something went wrong", Message: "An unknown error has occurred."}}},
		{"prefix only", 400, `{"error":{"message":"(#131056)","code":131056}}`,
			domain.SendError{HTTPStatus: 400, Retryable: true, Meta: domain.MetaError{
				Code: 131056, Title: "(Business Account, Consumer Account) pair rate limit hit", Message: "(#131056)"}}},
		{"known permanent code at HTTP 500", 500, metaErrorBody(131045, "(#131045) Incorrect certificate", "cert"),
			domain.SendError{HTTPStatus: 500, Meta: domain.MetaError{
				Code: 131045, Title: "Incorrect certificate", Message: "(#131045) Incorrect certificate", Details: "cert"}}},
		{"unknown code at HTTP 500 is Graph's temporary failure", 500,
			`{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2}}`,
			domain.SendError{HTTPStatus: 500, Retryable: true, Meta: domain.MetaError{
				Code: 2, Title: "Service temporarily unavailable", Message: "Service temporarily unavailable"}}},
		{"unknown code and no message", 400, `{"error":{"code":999999}}`,
			domain.SendError{HTTPStatus: 400, Meta: domain.MetaError{Code: 999999, Title: "Meta error 999999"}}},
		{"user message stands in for details", 400,
			`{"error":{"message":"Invalid parameter","code":100,"error_subcode":2388023,"error_user_title":"Language deleting","error_user_msg":"Content in this language is being deleted."}}`,
			domain.SendError{HTTPStatus: 400, Meta: domain.MetaError{
				Code: 100, Title: "Invalid parameter", Message: "Invalid parameter", Details: "Content in this language is being deleted."}}},
		{"error_data as a string", 400, `{"error":{"message":"(#100) Bad","code":"100","error_data":"oops"}}`,
			domain.SendError{HTTPStatus: 400, Meta: domain.MetaError{Code: 100, Title: "Bad", Message: "(#100) Bad", Details: "oops"}}},
		{"webhook-style errors array", 400, `{"errors":[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable","error_data":{"details":"d"}}]}`,
			domain.SendError{HTTPStatus: 400, Meta: domain.MetaError{Code: 131026, Title: "Message undeliverable", Message: "Message undeliverable", Details: "d"}}},
		{"HTML from a proxy", 502, "<html>\n<body>Bad   gateway</body></html>",
			domain.SendError{HTTPStatus: 502, Retryable: true, Meta: domain.MetaError{Title: "HTTP 502 Bad Gateway", Message: "<html> <body>Bad gateway</body></html>"}}},
		{"empty 503", 503, "",
			domain.SendError{HTTPStatus: 503, Retryable: true, Meta: domain.MetaError{Title: "HTTP 503 Service Unavailable"}}},
		{"plain text 400", 400, "bad request",
			domain.SendError{HTTPStatus: 400, Meta: domain.MetaError{Title: "HTTP 400 Bad Request", Message: "bad request"}}},
		{"JSON that is not an error", 429, `{"ok":false}`,
			domain.SendError{HTTPStatus: 429, Retryable: true, Meta: domain.MetaError{Title: "HTTP 429 Too Many Requests", Message: `{"ok":false}`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseError(tc.status, []byte(tc.body))
			if *got != tc.want {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
	long := ParseError(500, []byte(strings.Repeat("é", 500)))
	if len(long.Meta.Message) > maxErrorSnippet+len("…") {
		t.Errorf("snippet of %d bytes", len(long.Meta.Message))
	}
}

// TestTitlesMatchCatalog keeps metaTitles equal to error_codes.json.
func TestTitlesMatchCatalog(t *testing.T) {
	var catalog []struct {
		Code           int    `json:"code"`
		Title          string `json:"title"`
		SuggestedClass string `json:"suggested_class"`
	}
	if err := json.Unmarshal(readShared(t, "error_codes.json"), &catalog); err != nil {
		t.Fatal(err)
	}
	if len(catalog) != len(metaTitles) {
		t.Errorf("catalog has %d codes, metaTitles %d", len(catalog), len(metaTitles))
	}
	for _, e := range catalog {
		if metaTitles[e.Code] != e.Title {
			t.Errorf("code %d: title %q, catalog %q", e.Code, metaTitles[e.Code], e.Title)
		}
		if !domain.KnownMetaErrorCode(e.Code) {
			t.Errorf("code %d has no status in domain", e.Code)
		}
		// Every code the catalog calls transient is retried; the others
		// are not (131049 "retry after 24h" is for a queue, not Send).
		transient := strings.HasPrefix(e.SuggestedClass, "transient")
		if retryableCodes[e.Code] != transient {
			t.Errorf("code %d (%s): retryable %v", e.Code, e.SuggestedClass, retryableCodes[e.Code])
		}
	}
}

func TestRetryTransientThenSuccess(t *testing.T) {
	f := newFakeMeta(t,
		reply{status: 400, body: metaErrorBody(130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached.")},
		reply{status: 200, body: sendOK})
	res, err := f.client().Send(context.Background(), textOutbound())
	if err != nil {
		t.Fatal(err)
	}
	if res.WAMID != "wamid.TEST" {
		t.Errorf("WAMID %q", res.WAMID)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestRetryGivesUp(t *testing.T) {
	f := newFakeMeta(t, reply{status: 500, body: metaErrorBody(131000, "(#131000) Something went wrong", "unknown")})
	c := f.client()
	c.MaxRetries = 2
	var attempts []int
	c.Backoff = func(a int) time.Duration { attempts = append(attempts, a); return 0 }
	_, err := c.Send(context.Background(), textOutbound())
	var se *domain.SendError
	if !errors.As(err, &se) || se.Meta.Code != 131000 || !se.Retryable {
		t.Fatalf("error %v, want a retryable 131000", err)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if !reflect.DeepEqual(attempts, []int{1, 2}) {
		t.Errorf("backoff attempts %v, want [1 2]", attempts)
	}
}

func TestPermanentErrorsNotRetried(t *testing.T) {
	cases := []struct {
		code   int
		status int
	}{{131026, 400}, {132001, 404}, {100, 400}, {190, 401}, {131050, 400}}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			f := newFakeMeta(t, reply{status: tc.status, body: metaErrorBody(tc.code, fmt.Sprintf("(#%d) x", tc.code), "")})
			_, err := f.client().Send(context.Background(), textOutbound())
			var se *domain.SendError
			if !errors.As(err, &se) || se.Meta.Code != tc.code || se.Retryable {
				t.Fatalf("error %v, want a permanent %d", err, tc.code)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestRetry5xxWithoutBody(t *testing.T) {
	f := newFakeMeta(t, reply{status: 502}, reply{status: 503, body: "<html>down</html>"}, reply{status: 200, body: sendOK})
	if _, err := f.client().Send(context.Background(), textOutbound()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRetryNetworkError(t *testing.T) {
	f := newFakeMeta(t, reply{hangup: true}, reply{status: 200, body: sendOK})
	if _, err := f.client().Send(context.Background(), textOutbound()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}

	f = newFakeMeta(t, reply{hangup: true})
	c := f.client()
	c.MaxRetries = 1
	_, err := c.Send(context.Background(), textOutbound())
	var se *domain.SendError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("error %T %v, want a network error", err, err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	throttled := metaErrorBody(130429, "(#130429) Rate limit hit", "")

	// Meta's Retry-After wins over a (here absurd) backoff.
	f := newFakeMeta(t, reply{status: 400, body: throttled, header: map[string]string{"Retry-After": "1"}}, reply{status: 200, body: sendOK})
	c := f.client()
	c.Backoff = func(int) time.Duration { return time.Hour }
	start := time.Now()
	if _, err := c.Send(context.Background(), textOutbound()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("took %v, want about the 1 s of Retry-After", d)
	}

	// A wait longer than Send sits through comes back as a hint.
	f = newFakeMeta(t, reply{status: 400, body: throttled, header: map[string]string{"Retry-After": "3600"}})
	start = time.Now()
	_, err := f.client().Send(context.Background(), textOutbound())
	var se *domain.SendError
	if !errors.As(err, &se) || se.RetryAfter != time.Hour {
		t.Fatalf("error %+v, want RetryAfter 1h", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"0":                             0,
		"-3":                            0,
		"soon":                          0,
		"Mon, 02 Mar 2026 12:00:30 GMT": 30 * time.Second,
		"Mon, 02 Mar 2026 11:00:00 GMT": 0,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

func TestDefaultBackoff(t *testing.T) {
	for attempt, limit := range map[int]time.Duration{1: 200 * time.Millisecond, 2: 400 * time.Millisecond, 3: 800 * time.Millisecond, 10: 5 * time.Second, 100: 5 * time.Second} {
		for range 50 {
			d := DefaultBackoff(attempt)
			if d < limit/2 || d > limit {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, limit/2, limit)
			}
		}
	}
}

func TestContextCancelDuringBackoff(t *testing.T) {
	f := newFakeMeta(t, reply{status: 500, body: metaErrorBody(131000, "(#131000) Something went wrong", "")})
	c := f.client()
	c.Backoff = func(int) time.Duration { return 10 * time.Second }
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Send(ctx, textOutbound())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v", d)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestThroughputLimiter(t *testing.T) {
	t.Parallel()
	f := newFakeMeta(t)
	c := f.client()
	if err := c.SetThroughput(testPhoneID, 50); err != nil {
		t.Fatal(err)
	}
	// A burst of 50, then 50 more at 50/s: about one second.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 4 {
		wg.Go(func() {
			for range 25 {
				if _, err := c.Send(context.Background(), textOutbound()); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	d := time.Since(start)
	if d < 900*time.Millisecond || d > 2500*time.Millisecond {
		t.Errorf("100 sends at 50/s took %v, want about 1 s", d)
	}
	if n := len(f.requests()); n != 100 {
		t.Errorf("%d requests", n)
	}
}

func TestThroughputPerNumber(t *testing.T) {
	f := newFakeMeta(t)
	c := f.client()
	if err := c.SetThroughput("slow", 1); err != nil {
		t.Fatal(err)
	}
	slow, fast := textOutbound(), textOutbound()
	slow.PhoneNumberID, fast.PhoneNumberID = "slow", "fast"
	if _, err := c.Send(context.Background(), slow); err != nil { // spends the burst of 1
		t.Fatal(err)
	}
	// The slow number's next token is a second away...
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Send(ctx, slow); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second send of a 1/s number: %v, want to wait past the deadline", err)
	}
	// ...while another number sends at once.
	start := time.Now()
	for range 10 {
		if _, err := c.Send(context.Background(), fast); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("another number waited %v", d)
	}
	if n := len(f.requests()); n != 11 {
		t.Errorf("%d requests, want 11", n)
	}
}

func TestSetThroughputRange(t *testing.T) {
	c := New("http://x")
	for _, n := range []int{0, -1, 1001} {
		if err := c.SetThroughput("p", n); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%d: %v", n, err)
		}
	}
	for _, n := range []int{1, 80, 1000} {
		if err := c.SetThroughput("p", n); err != nil {
			t.Errorf("%d: %v", n, err)
		}
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	echo := metaErrorBody(190, "Error validating access token: "+testToken+" has expired", "token "+testToken)
	cases := map[string][]reply{
		"meta error echoing it":    {{status: 401, body: echo}},
		"HTML echoing it":          {{status: 502, body: "<p>bad token " + testToken + "</p>"}},
		"unreadable 200 echoing":   {{status: 200, body: "<p>" + testToken + "</p>"}},
		"network error":            {{hangup: true}},
		"retryable then echoed it": {{status: 503}, {status: 401, body: echo}},
	}
	for name, replies := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeMeta(t, replies...)
			c := f.client()
			c.MaxRetries = 1
			_, err := c.Send(context.Background(), textOutbound())
			if err == nil {
				t.Fatal("no error")
			}
			if s := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(s, testToken) {
				t.Errorf("token in error: %s", s)
			}
			var se *domain.SendError
			if errors.As(err, &se) && strings.Contains(fmt.Sprintf("%+v", se.Meta), testToken) {
				t.Errorf("token in Meta error: %+v", se.Meta)
			}
		})
	}

	// A server that is gone.
	f := newFakeMeta(t)
	c := f.client()
	c.MaxRetries = 0
	f.srv.Close()
	_, err := c.Templates(context.Background(), "WABA", testToken)
	if err == nil || strings.Contains(err.Error(), testToken) {
		t.Errorf("error %v", err)
	}
}

func TestTemplatesPaging(t *testing.T) {
	f := newFakeMeta(t)
	f.serve = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("after") == "" {
			// Graph puts the token in next when it came as a parameter;
			// the client must not send it back in a URL.
			next := "http://" + r.Host + "/v23.0/WABA1/message_templates?limit=100&after=CUR1&access_token=" + testToken
			fmt.Fprintf(w, `{"data":[
				{"id":"1192339204654487","name":"hello_world","language":"en_US","category":"MARKETING","status":"APPROVED",
				 "quality_score":{"score":"GREEN","date":1700000000},
				 "components":[{"type":"HEADER","format":"TEXT","text":"Hello World"},{"type":"BODY","text":"Welcome"}],
				 "previous_category":"ACCOUNT_UPDATE"},
				{"id":"920070352646140","name":"2023_april_promo","language":"pt_BR","category":"UTILITY","status":"REJECTED",
				 "components":[{"type":"BODY","text":"Oi {{1}}"}]}],
				"paging":{"cursors":{"before":"MAZDZD","after":"CUR1"},"next":%q}}`, next)
			return true
		}
		io.WriteString(w, `{"data":[{"id":"3","name":"otp","language":"pt_BR","category":"AUTHENTICATION","status":"PENDING","components":[]}],
			"paging":{"cursors":{"before":"CUR1","after":"CUR2"}}}`)
		return true
	}
	got, err := f.client().Templates(context.Background(), "WABA1", testToken)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if r.method != http.MethodGet || r.path != "/v23.0/WABA1/message_templates" {
			t.Errorf("request %d: %s %s", i, r.method, r.path)
		}
		if r.header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("request %d without the bearer token", i)
		}
		if strings.Contains(r.query, "access_token") {
			t.Errorf("request %d has the token in its query: %s", i, r.query)
		}
	}
	if !strings.Contains(reqs[0].query, "limit=100") || !strings.Contains(reqs[1].query, "after=CUR1") {
		t.Errorf("queries %q, %q", reqs[0].query, reqs[1].query)
	}
	if len(got) != 3 {
		t.Fatalf("%d templates, want 3", len(got))
	}
	first := got[0]
	jsonEqual(t, first.Components, []byte(`[{"type":"HEADER","format":"TEXT","text":"Hello World"},{"type":"BODY","text":"Welcome"}]`))
	first.Components = nil
	want := domain.Template{WABAID: "WABA1", MetaID: "1192339204654487", Name: "hello_world", Language: "en_US",
		Category: "marketing", Status: "APPROVED", Quality: "GREEN"}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("got  %+v\nwant %+v", first, want)
	}
	if got[1].Category != "utility" || got[1].Quality != "" || got[2].Category != "authentication" || got[2].Status != "PENDING" {
		t.Errorf("templates %+v", got[1:])
	}
}

// TestTemplatesForeignNext: a next URL on another host is not followed
// with the token; the cursor is asked of BaseURL.
func TestTemplatesForeignNext(t *testing.T) {
	f := newFakeMeta(t)
	f.serve = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("after") == "" {
			io.WriteString(w, `{"data":[{"id":"1","name":"a","language":"en","category":"UTILITY","status":"APPROVED"}],
				"paging":{"cursors":{"after":"CUR1"},"next":"https://elsewhere.invalid/v23.0/WABA1/message_templates?after=CUR1"}}`)
			return true
		}
		io.WriteString(w, `{"data":[{"id":"2","name":"b","language":"en","category":"UTILITY","status":"APPROVED"}],"paging":{}}`)
		return true
	}
	got, err := f.client().Templates(context.Background(), "WABA1", testToken)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(f.requests()) != 2 {
		t.Fatalf("%d templates in %d requests", len(got), len(f.requests()))
	}
	if string(got[0].Components) != "[]" {
		t.Errorf("missing components read as %s", got[0].Components)
	}
}

func TestTemplatesEndlessPaging(t *testing.T) {
	f := newFakeMeta(t)
	f.serve = func(w http.ResponseWriter, r *http.Request) bool {
		fmt.Fprintf(w, `{"data":[],"paging":{"next":"http://%s/v23.0/W/message_templates?after=SAME"}}`, r.Host)
		return true
	}
	if _, err := f.client().Templates(context.Background(), "W", testToken); err == nil {
		t.Fatal("no error for paging that repeats itself")
	}
}

func TestTemplatesError(t *testing.T) {
	f := newFakeMeta(t, reply{status: 400, body: metaErrorBody(100, "(#100) Tried accessing nonexisting field (message_templates)", "")})
	_, err := f.client().Templates(context.Background(), "W", testToken)
	var se *domain.SendError
	if !errors.As(err, &se) || se.Meta.Code != 100 {
		t.Fatalf("error %v", err)
	}
}

func TestCreateTemplate(t *testing.T) {
	f := newFakeMeta(t, reply{status: 200, body: `{"id":"1689556908129832","status":"PENDING","category":"UTILITY"}`})
	components := json.RawMessage(`[{"type":"BODY","text":"Seu pedido {{1}} saiu para entrega.","example":{"body_text":[["123"]]}}]`)
	id, status, err := f.client().CreateTemplate(context.Background(), "WABA1", testToken, domain.Template{
		Name: "order_update", Language: "pt_BR", Category: "utility", Components: components,
		Status: "ignored", MetaID: "ignored", Quality: "ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != "1689556908129832" || status != "PENDING" {
		t.Errorf("got %q %q", id, status)
	}
	r := f.requests()[0]
	if r.method != http.MethodPost || r.path != "/v23.0/WABA1/message_templates" || r.header.Get("Authorization") != "Bearer "+testToken {
		t.Errorf("request %s %s", r.method, r.path)
	}
	jsonEqual(t, r.body, []byte(`{"name":"order_update","language":"pt_BR","category":"UTILITY",
		"components":[{"type":"BODY","text":"Seu pedido {{1}} saiu para entrega.","example":{"body_text":[["123"]]}}]}`))

	for name, tpl := range map[string]domain.Template{
		"no name":       {Language: "pt_BR", Category: "utility", Components: components},
		"no components": {Name: "x", Language: "pt_BR", Category: "utility"},
		"bad JSON":      {Name: "x", Language: "pt_BR", Category: "utility", Components: json.RawMessage(`[`)},
	} {
		if _, _, err := f.client().CreateTemplate(context.Background(), "WABA1", testToken, tpl); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
}
