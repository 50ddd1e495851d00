package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/simulator"
)

// linkServer is simServer with one more template: an offer whose URL button
// opens ticks's redirect with a dynamic suffix.
func linkServer(t *testing.T) (*testServer, int64, int64) {
	t.Helper()
	return simServerWith(t, func(serverURL string) []simulator.Template {
		return []simulator.Template{{ID: "1000000000000301", Name: "oferta_link", Language: "pt_BR", Category: "MARKETING", Status: "APPROVED",
			Components: json.RawMessage(`[{"type":"BODY","text":"Olá {{1}}, seu cupom {{2}}."},` +
				`{"type":"BUTTONS","buttons":[{"type":"URL","text":"Ver oferta","url":"` + serverURL + `/r/{{1}}"}]}]`)}}
	})
}

// sentLinkCodes returns, by phone, the code each of campaign id's n
// messages carried as its URL button's suffix.
func sentLinkCodes(t *testing.T, s *testServer, campaign string, created time.Time, n int) map[string]string {
	t.Helper()
	var id int64
	fmt.Sscan(campaign, &id)
	page, err := s.srv.Store.ReportMessages(context.Background(), &domain.MessageFilter{Campaign: id, Direction: domain.DirectionMT,
		From: created.Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 100})
	if err != nil || len(page.Rows) != n {
		t.Fatalf("messages: %v %d", err, len(page.Rows))
	}
	codes := map[string]string{}
	for _, row := range page.Rows {
		m, err := s.srv.Store.Message(context.Background(), row.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		var tpl struct {
			Components []struct {
				SubType    string `json:"sub_type"`
				Parameters []struct{ Text string }
			}
		}
		json.Unmarshal(m.Content, &tpl)
		for _, c := range tpl.Components {
			if c.SubType == "url" && len(c.Parameters) == 1 {
				codes[m.Phone] = c.Parameters[0].Text
			}
		}
	}
	if len(codes) != n {
		t.Fatalf("codes %v", codes)
	}
	return codes
}

// TestCampaignLinkClicks: a campaign routes its template's URL button
// through /r/{code}; a contact's tap (no login) is counted by contact and
// button and sent on with 302; an unknown code is the 404 page; the
// counters, the API's list of who clicked (JSON and CSV), the campaign's
// page and its drill-down show them; another subaccount sees none of it.
func TestCampaignLinkClicks(t *testing.T) {
	s, sa, ch := linkServer(t)
	var own, other struct{ Token string }
	s.must(201, "POST", "/api/v1/tokens", adminToken, map[string]any{"name": "dono", "role": "supervisor", "subaccount_id": sa}, &own)
	var sb struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Outra"}, &sb)
	s.must(201, "POST", "/api/v1/tokens", adminToken, map[string]any{"name": "intruso", "role": "supervisor", "subaccount_id": sb.ID}, &other)

	const target = "https://loja.example.com/natal?utm_source=whatsapp&x=<b>"
	fields := map[string]string{"name": "Natal com link", "channel_id": fmt.Sprint(ch), "template": "oferta_link",
		"language": "pt_BR", "link_url": target}
	// The template's URL button must be ticks's redirect: promocao_outono has none.
	bad := map[string]string{"name": "Sem link", "channel_id": fmt.Sprint(ch), "template": "promocao_outono",
		"language": "pt_BR", "link_url": target}
	if r := s.do("POST", "/api/v1/campaigns", own.Token, campaignForm(bad, campaignAudience(2)), "Content-Type", campaignFormType); r.code != 422 ||
		!strings.Contains(string(r.body), "dynamic suffix") {
		t.Fatalf("link_url on a template without a link button: %d %s", r.code, r.body)
	}
	// Not a web address: refused, and neither refusal stored a campaign.
	for _, link := range []string{"javascript:alert(1)", "loja.example.com/natal", "https://" + strings.Repeat("a", 2001)} {
		bad := map[string]string{"name": "Link ruim", "channel_id": fmt.Sprint(ch), "template": "oferta_link",
			"language": "pt_BR", "link_url": link}
		if r := s.do("POST", "/api/v1/campaigns", own.Token, campaignForm(bad, campaignAudience(2)), "Content-Type", campaignFormType); r.code != 400 ||
			!strings.Contains(string(r.body), "http or https") {
			t.Fatalf("link_url %.40q: %d %s", link, r.code, r.body)
		}
	}
	var none struct{ Rows []any }
	if s.must(200, "GET", "/api/v1/campaigns", own.Token, nil, &none); len(none.Rows) != 0 {
		t.Fatalf("refused campaigns were stored: %v", none.Rows)
	}
	var created struct{ ID string }
	r := s.do("POST", "/api/v1/campaigns", own.Token, campaignForm(fields, campaignAudience(5)), "Content-Type", campaignFormType)
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	r.json(t, &created)
	s.must(200, "POST", "/api/v1/campaigns/"+created.ID+"/start", own.Token, nil, nil)
	var detail struct {
		ID        string
		Status    string
		CreatedAt time.Time `json:"created_at"`
		Counters  struct {
			Clicked     int64
			LinkClicked int64 `json:"link_clicked"`
		}
		Links []struct {
			Button           int
			Text, URL        string
			Contacts, Clicks int64
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for detail.Status != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("the campaign is %s after 30 s", detail.Status)
		}
		time.Sleep(50 * time.Millisecond)
		s.must(200, "GET", "/api/v1/campaigns/"+created.ID, own.Token, nil, &detail)
	}
	if len(detail.Links) != 1 || detail.Links[0].URL != target || detail.Links[0].Button != 0 || detail.Links[0].Contacts != 0 {
		t.Fatalf("links before any click: %+v", detail.Links)
	}

	codes := sentLinkCodes(t, s, created.ID, detail.CreatedAt, 5)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tap := func(code string) (*http.Response, string) {
		t.Helper()
		resp, err := noFollow.Get(s.url + "/r/" + code)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	first := codes["+5511960000000"]
	for range 2 {
		if resp, body := tap(first); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != target ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("tap: %d %q %q %.200s", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"), body)
		}
	}
	tap(codes["+5511960000003"])
	for _, code := range []string{"nao-existe", otherLast(first), first + first} {
		if resp, body := tap(code); resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != "" ||
			!strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<html") {
			t.Errorf("unknown code %q: %d %q %.200s", code, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}

	s.must(200, "GET", "/api/v1/campaigns/"+created.ID, own.Token, nil, &detail)
	if l := detail.Links[0]; l.Contacts != 2 || l.Clicks != 3 || detail.Counters.LinkClicked != 2 || detail.Counters.Clicked < 2 {
		t.Fatalf("after 3 taps by 2 contacts: %+v %+v", detail.Links, detail.Counters)
	}
	var clicks struct {
		Rows []struct {
			Phone, Name string
			ButtonText  string `json:"button_text"`
			Clicks      int64
		}
		NextCursor string `json:"next_cursor"`
	}
	s.must(200, "GET", "/api/v1/campaigns/"+created.ID+"/clicks?limit=1", own.Token, nil, &clicks)
	if len(clicks.Rows) != 1 || clicks.Rows[0].Phone != "+5511960000000" || clicks.Rows[0].Clicks != 2 ||
		clicks.Rows[0].ButtonText != "Ver oferta" || clicks.NextCursor == "" {
		t.Fatalf("clicks page 1: %+v", clicks)
	}
	s.must(200, "GET", "/api/v1/campaigns/"+created.ID+"/clicks?limit=1&cursor="+clicks.NextCursor, own.Token, nil, &clicks)
	if len(clicks.Rows) != 1 || clicks.Rows[0].Phone != "+5511960000003" || clicks.NextCursor != "" {
		t.Fatalf("clicks page 2: %+v", clicks)
	}
	csv := s.do("GET", "/api/v1/campaigns/"+created.ID+"/clicks?format=csv", own.Token, nil)
	if csv.code != 200 || strings.Count(string(csv.body), "\n") != 3 || !strings.Contains(string(csv.body), "+5511960000000,Cliente 0,,0,Ver oferta,2,") {
		t.Fatalf("clicks CSV: %d %s", csv.code, csv.body)
	}
	// The campaign's messages: a row per audience row, with its message and
	// its clicks.
	msgs := s.do("GET", "/api/v1/campaigns/"+created.ID+"/messages?format=csv", own.Token, nil, "Accept-Language", "en")
	lines := strings.Split(strings.TrimSpace(string(msgs.body)), "\n")
	if msgs.code != 200 || len(lines) != 6 ||
		lines[0] != "Line,Phone,Name,Correlation ID,var1,var2,Sent at,Status,Reason,Delivered at,Read at,Replied at,Button clicked,Link clicks" ||
		!strings.HasPrefix(lines[1], "2,+5511960000000,Cliente 0,,Cliente 0,CUPOM0,") || !strings.HasSuffix(lines[1], ",2") ||
		!strings.HasSuffix(lines[4], ",1") || strings.HasSuffix(lines[2], ",1") {
		t.Fatalf("messages CSV: %d %s", msgs.code, msgs.body)
	}
	for _, path := range []string{"?button=1", "?button=x", "?limit=0", "?format=pdf", "?cursor=x"} {
		if r := s.do("GET", "/api/v1/campaigns/"+created.ID+"/clicks"+path, own.Token, nil); r.code != 400 {
			t.Errorf("clicks%s: %d %s, want 400", path, r.code, r.body)
		}
	}
	if r := s.do("GET", "/api/v1/campaigns/"+created.ID+"/clicks", other.Token, nil); r.code != 404 || strings.Contains(string(r.body), "5511") {
		t.Errorf("another subaccount's clicks: %d %s", r.code, r.body)
	}

	// The page shows the link's clicks beside the quick replies, escaped; the
	// drill-down lists who clicked and downloads them.
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "sup@example.com", "name": "Sup", "role": "supervisor",
		"password": "senha-segura-123", "subaccounts": []int64{sa}}, nil)
	w := newWebClient(t, s)
	w.login("sup@example.com", "senha-segura-123")
	if code, body := w.get("/campaigns/" + created.ID); code != 200 || !strings.Contains(body, `id="link-clicks"`) ||
		!strings.Contains(body, "x=&lt;b&gt;") || strings.Contains(body, "x=<b>") || !strings.Contains(body, "/campaigns/"+created.ID+"/clicks?button=0") {
		t.Fatalf("campaign page: %d %.2000s", code, body)
	}
	if code, body := w.get("/campaigns/" + created.ID + "/clicks?button=0"); code != 200 || !strings.Contains(body, "5511960000000<") ||
		!strings.Contains(body, "5511960000003<") || strings.Contains(body, "5511960000001<") {
		t.Fatalf("drill-down: %d %s", code, body[strings.Index(body, `<div class="main">`):])
	}
	if code, body := w.get("/campaigns/" + created.ID + "/clicks?format=csv"); code != 200 || !strings.Contains(body, "+5511960000003") {
		t.Fatalf("drill-down CSV: %d %.500s", code, body)
	}
	if code, body := w.get("/campaigns/" + created.ID + "/messages.csv"); code != 200 || !strings.Contains(body, "Cliques no link") ||
		strings.Count(body, "\n") != 6 {
		t.Fatalf("the page's messages CSV: %d %s", code, body)
	}
	if code, _ := w.get("/campaigns/" + created.ID + "/clicks?button=3"); code != 400 {
		t.Errorf("drill-down of a button not counted: %d", code)
	}

	// The audience and the contacts who opted out after the start drill down
	// too: the page, and every one of them as CSV.
	var contact struct {
		Rows []struct{ ID json.Number } `json:"contacts"`
	}
	s.must(200, "GET", "/api/v1/contacts?phone=%2B5511960000002", own.Token, nil, &contact)
	if len(contact.Rows) != 1 {
		t.Fatalf("contact: %+v", contact)
	}
	s.must(200, "POST", "/api/v1/contacts/"+contact.Rows[0].ID.String()+"/opt-out", own.Token, nil, nil)
	if code, body := w.get("/campaigns/" + created.ID); code != 200 || !strings.Contains(body, `href="/campaigns/`+created.ID+`/contacts?of=opted_out" id="drill-opted-out"`) ||
		!strings.Contains(body, `id="drill-audience"`) {
		t.Fatalf("campaign page without the audience's and opt-outs' drill-downs: %d", code)
	}
	if code, body := w.get("/campaigns/" + created.ID + "/contacts?of=opted_out"); code != 200 || !strings.Contains(body, "5511960000002<") ||
		strings.Contains(body, "5511960000001<") {
		t.Fatalf("opted out: %d %s", code, body[strings.Index(body, `<div class="main">`):])
	}
	if code, body := w.get("/campaigns/" + created.ID + "/contacts?of=audience&format=csv"); code != 200 || strings.Count(body, "\n") != 6 ||
		!strings.Contains(body, "+5511960000004,Cliente 4,,6") {
		t.Fatalf("audience CSV: %d %q", code, body)
	}
	code, body := w.get("/campaigns/" + created.ID + "/contacts?of=audience")
	if code != 200 || strings.Count(body, "<tr><td>") != 5 {
		t.Fatalf("audience: %d %s", code, body)
	}
	if code, _ := w.get("/campaigns/" + created.ID + "/contacts?of=everyone"); code != 400 {
		t.Errorf("contacts of no counter: %d", code)
	}
	intruder := newWebClient(t, s)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "outra@example.com", "name": "Outra", "role": "supervisor",
		"password": "senha-segura-123", "subaccounts": []int64{sb.ID}}, nil)
	intruder.login("outra@example.com", "senha-segura-123")
	for _, path := range []string{"/contacts?of=audience", "/contacts?of=audience&format=csv", "/clicks", "/clicks?format=csv"} {
		if code, body := intruder.get("/campaigns/" + created.ID + path); code != 404 || strings.Contains(body, "5511960000") {
			t.Errorf("another subaccount's supervisor, %s: %d", path, code)
		}
	}
}

// otherLast is code with its last character changed (to one it is not).
func otherLast(code string) string {
	c := byte('x')
	if code[len(code)-1] == c {
		c = 'y'
	}
	return code[:len(code)-1] + string(c)
}
