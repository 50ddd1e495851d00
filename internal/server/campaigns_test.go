package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// campaignBoundary is the multipart boundary of campaignForm's bodies.
const campaignBoundary = "ticks-campaign-test-boundary"

// campaignFormType is the Content-Type of campaignForm's bodies.
const campaignFormType = "multipart/form-data; boundary=" + campaignBoundary

// campaignForm is a campaign creation's body: fields, and the audience file
// when audience is not empty.
func campaignForm(fields map[string]string, audience string) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.SetBoundary(campaignBoundary)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if audience != "" {
		fw, _ := mw.CreateFormFile("audience", "publico.csv")
		fw.Write([]byte(audience))
	}
	mw.Close()
	return b.Bytes()
}

// campaignAudience is an audience of n rows for promocao_outono.
func campaignAudience(n int) string {
	var b strings.Builder
	b.WriteString("telefone;nome;var1;var2\n")
	for i := range n {
		fmt.Fprintf(&b, "+55119%08d;Cliente %d;Cliente %d;CUPOM%d\n", 60000000+i, i, i, i)
	}
	return b.String()
}

// walkCampaigns calls every campaign endpoint for the contract walk, as the
// supervisor token of subaccount sa with channel ch.
func walkCampaigns(t *testing.T, s *testServer, call func(want int, op, path, token string, body any, header ...string) response, ch int64, token string) {
	t.Helper()
	var created struct {
		ID       string `json:"id"`
		Audience struct {
			Rows, Valid, Invalid int
		} `json:"audience"`
	}
	form := func(name, at string, rows string) []byte {
		f := map[string]string{"name": name, "channel_id": fmt.Sprint(ch), "template": "promocao_outono", "language": "pt_BR"}
		if at != "" {
			f["scheduled_at"] = at
		}
		return campaignForm(f, rows)
	}
	r := call(201, "POST /api/v1/campaigns", "/api/v1/campaigns", token, form("Natal", time.Now().Add(time.Hour).Format(time.RFC3339),
		campaignAudience(3)+"+55 11 abc;X;a;b\n"), "Content-Type", campaignFormType)
	r.json(t, &created)
	if created.Audience.Rows != 4 || created.Audience.Valid != 3 || created.Audience.Invalid != 1 {
		t.Errorf("audience report %s", r.body)
	}
	scheduled := created.ID
	call(200, "POST /api/v1/campaigns/{id}/schedule", "/api/v1/campaigns/"+scheduled+"/schedule", token,
		map[string]any{"scheduled_at": time.Now().Add(2 * time.Hour).Format(time.RFC3339)})
	call(200, "GET /api/v1/campaigns/{id}/audience/errors", "/api/v1/campaigns/"+scheduled+"/audience/errors", token, nil)
	call(200, "POST /api/v1/campaigns/{id}/cancel", "/api/v1/campaigns/"+scheduled+"/cancel", token, nil)
	call(409, "POST /api/v1/campaigns/{id}/start", "/api/v1/campaigns/"+scheduled+"/start", token, nil)

	r = call(201, "POST /api/v1/campaigns", "/api/v1/campaigns", token, form("Black Friday", "", campaignAudience(400)),
		"Content-Type", campaignFormType)
	r.json(t, &created)
	running := created.ID
	call(200, "POST /api/v1/campaigns/{id}/start", "/api/v1/campaigns/"+running+"/start", token, nil)
	call(200, "POST /api/v1/campaigns/{id}/pause", "/api/v1/campaigns/"+running+"/pause", token, nil)
	call(409, "POST /api/v1/campaigns/{id}/pause", "/api/v1/campaigns/"+running+"/pause", token, nil)
	call(200, "POST /api/v1/campaigns/{id}/resume", "/api/v1/campaigns/"+running+"/resume", token, nil)
	call(200, "GET /api/v1/campaigns/{id}", "/api/v1/campaigns/"+running, token, nil)
	if r := call(200, "GET /api/v1/campaigns", "/api/v1/campaigns?name=black&limit=5", token, nil); !strings.Contains(string(r.body), "Black Friday") ||
		strings.Contains(string(r.body), "Natal") {
		t.Errorf("list by name: %s", r.body)
	}
	call(200, "GET /api/v1/campaigns/compare", "/api/v1/campaigns/compare?id="+running+"&id="+scheduled, token, nil)
	call(200, "GET /api/v1/campaigns/{id}/messages", "/api/v1/campaigns/"+running+"/messages?format=csv", token, nil)
	if r := call(200, "GET /api/v1/campaigns/{id}/clicks", "/api/v1/campaigns/"+running+"/clicks", token, nil); !strings.Contains(string(r.body), `"rows":[]`) {
		t.Errorf("clicks of a campaign without links: %s", r.body)
	}
	call(200, "GET /api/v1/campaigns/{id}/clicks", "/api/v1/campaigns/"+running+"/clicks?format=csv", token, nil)
	s.srv.Live.MaxAge = 200 * time.Millisecond // the stream ends, so its answer can be checked
	if r := call(200, "GET /api/v1/campaigns/{id}/events", "/api/v1/campaigns/"+running+"/events", token, nil); !strings.Contains(string(r.body), "event: campaign\ndata: {") {
		t.Errorf("events: %s", r.body)
	}
	call(200, "POST /api/v1/campaigns/{id}/cancel", "/api/v1/campaigns/"+running+"/cancel", token, nil)
	var detail struct {
		Status   string
		Counters struct{ Audience, Processed, Canceled int }
	}
	json.Unmarshal(call(200, "GET /api/v1/campaigns/{id}", "/api/v1/campaigns/"+running, token, nil).body, &detail)
	if detail.Status != "canceled" || detail.Counters.Audience != 400 || detail.Counters.Canceled != 400-detail.Counters.Processed {
		t.Errorf("canceled campaign: %+v", detail)
	}
}

// TestCampaignWebBadInputs: the new-campaign form's mistakes are told on
// the page, in the visitor's language, and store nothing: no file, a time
// already past, a date that is not one, a file without a valid row (its
// rows listed by line), a form without its CSRF token.
func TestCampaignWebBadInputs(t *testing.T) {
	s, sa, ch := simServer(t)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "sup@example.com", "name": "Sup", "role": "supervisor",
		"password": "senha-segura-123", "subaccounts": []int64{sa}}, nil)
	w := newWebClient(t, s)
	w.login("sup@example.com", "senha-segura-123")
	post := func(fields map[string]string, audience string) (int, string) {
		t.Helper()
		body := campaignForm(fields, audience)
		req, _ := http.NewRequest("POST", s.url+"/campaigns", bytes.NewReader(body))
		req.Header.Set("Content-Type", campaignFormType)
		resp, err := w.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base := func(extra ...string) map[string]string {
		f := map[string]string{"csrf": w.csrf, "name": "Teste", "channel_id": fmt.Sprint(ch), "template": "promocao_outono|pt_BR", "when": "now"}
		for i := 0; i+1 < len(extra); i += 2 {
			f[extra[i]] = extra[i+1]
		}
		return f
	}
	past := time.Now().Add(-24 * time.Hour).Format("2006-01-02T15:04") // past in any zone
	for _, c := range []struct {
		name     string
		fields   map[string]string
		audience string
		code     int
		want     []string
	}{
		{"no file", base(), "", 400, []string{"Escolha o arquivo da audiência"}},
		{"a time already past", base("when", "at", "at", past), campaignAudience(2), 422, []string{"já passaram"}},
		{"not a date", base("when", "at", "at", "amanhã cedo"), campaignAudience(2), 400, []string{"Informe a data e a hora"}},
		{"no valid row", base(), "telefone;nome;var1;var2\n12;A;x;y\n+5511960000001;B;;y\n", 422,
			[]string{"Nenhuma linha do arquivo é válida", `<td class="num">2</td>`, `<td class="num">3</td>`, "var1 is empty"}},
		{"no CSRF token", base("csrf", "forjado"), campaignAudience(2), 403, nil},
		{"an unknown template", base("template", "nao_existe|pt_BR"), campaignAudience(2), 422, []string{"nao_existe"}},
	} {
		code, body := post(c.fields, c.audience)
		if code != c.code {
			t.Errorf("%s: %d, want %d: %.400s", c.name, code, c.code, body)
			continue
		}
		for _, want := range c.want {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the page does not say %q: %.600s", c.name, want, body)
			}
		}
	}
	var list struct{ Rows []any }
	s.must(200, "GET", "/api/v1/campaigns", adminToken, nil, &list)
	if len(list.Rows) != 0 {
		t.Errorf("the mistakes stored %d campaigns", len(list.Rows))
	}

	// A draft's schedule is set from its page, in the account's time zone,
	// then the draft is discarded.
	code, body := post(base(), campaignAudience(3))
	if code != http.StatusSeeOther {
		t.Fatalf("a good form: %d %.300s", code, body)
	}
	var draft struct{ Rows []struct{ ID, Status string } }
	s.must(200, "GET", "/api/v1/campaigns", adminToken, nil, &draft)
	id := draft.Rows[0].ID
	if code, body := w.get("/campaigns/" + id + "/review"); code != 200 || !strings.Contains(body, `id="import-valid">3<`) {
		t.Fatalf("review: %d %.300s", code, body)
	} else {
		// The review shows what sending costs, as the estimate endpoint says.
		var e struct{ Total, Currency string }
		s.must(200, "GET", "/api/v1/campaigns/"+id+"/estimate", adminToken, nil, &e)
		want := e.Currency + " " + strings.Replace(e.Total, ".", ",", 1)
		if e.Total == "" || !strings.Contains(body, `id="estimate-total">`+want+`<`) || !strings.Contains(body, "3 mensagens ×") {
			t.Errorf("the review does not show the estimate %q: %s", want, body[strings.Index(body, `id="import-report"`):])
		}
	}
	loc := s.srv.Config.Location()
	at := time.Now().In(loc).Add(48 * time.Hour).Truncate(time.Minute)
	if code, _ := w.post("/campaigns/"+id+"/schedule", url.Values{"csrf": {w.csrf}, "at": {at.Format("2006-01-02T15:04")}}); code != http.StatusSeeOther {
		t.Fatalf("reschedule: %d", code)
	}
	var got struct {
		Status      string
		ScheduledAt time.Time `json:"scheduled_at"`
	}
	s.must(200, "GET", "/api/v1/campaigns/"+id, adminToken, nil, &got)
	if got.Status != "scheduled" || !got.ScheduledAt.Equal(at) {
		t.Errorf("after rescheduling to %v: %+v", at, got)
	}
	if code, _ := w.post("/campaigns/"+id+"/discard", url.Values{"csrf": {w.csrf}}); code != http.StatusSeeOther {
		t.Fatalf("discard: %d", code)
	}
	s.must(200, "GET", "/api/v1/campaigns/"+id, adminToken, nil, &got)
	if got.Status != "canceled" {
		t.Errorf("after discarding: %s", got.Status)
	}
	// The same pages in English.
	if code, _ := w.post("/lang", url.Values{"csrf": {w.csrf}, "lang": {"en"}, "back": {"/campaigns"}}); code != http.StatusSeeOther {
		t.Fatalf("switch to English: %d", code)
	}
	for path, want := range map[string]string{"/campaigns": "Scheduled only", "/campaigns/new": "Approved template and language",
		"/campaigns/" + id: "Received", "/campaigns/compare": "Compare campaigns"} {
		if code, body := w.get(path); code != 200 || !strings.Contains(body, want) {
			t.Errorf("%s in English: %d, no %q", path, code, want)
		}
	}
}
