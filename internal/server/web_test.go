package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/simulator"
)

// webClient is a browser-like HTTP client with cookies.
type webClient struct {
	t    *testing.T
	s    *testServer
	http *http.Client
	csrf string
}

func newWebClient(t *testing.T, s *testServer) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, s: s, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *webClient) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.s.url + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return resp.StatusCode, string(b)
}

func (c *webClient) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	resp, err := c.http.PostForm(c.s.url+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *webClient) login(email, pw string) {
	c.t.Helper()
	c.get("/login")
	code, body := c.post("/login", url.Values{"csrf": {c.csrf}, "email": {email}, "password": {pw}, "next": {"/reports/messages"}})
	if code != http.StatusSeeOther {
		c.t.Fatalf("login as %s: %d %s", email, code, body)
	}
	c.get("/reports/messages") // picks up the session's CSRF token
}

func TestWebLoginAndCSRF(t *testing.T) {
	s := newServer(t)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "ana@example.com", "role": "admin", "password": "uma-senha-boa"}, nil)
	c := newWebClient(t, s)
	if code, _ := c.get("/reports/messages"); code != http.StatusSeeOther {
		t.Errorf("report without login: %d, want a redirect to /login", code)
	}
	c.get("/login")
	if code, body := c.post("/login", url.Values{"csrf": {c.csrf}, "email": {"ana@example.com"}, "password": {"errada"}}); code != 401 || !strings.Contains(body, "E-mail ou senha incorretos") {
		t.Errorf("wrong password: %d", code)
	}
	c.get("/login")
	if code, _ := c.post("/login", url.Values{"csrf": {"forged"}, "email": {"ana@example.com"}, "password": {"uma-senha-boa"}}); code != 403 {
		t.Errorf("login with a forged CSRF token: %d, want 403", code)
	}
	c.login("ana@example.com", "uma-senha-boa")
	if code, _ := c.post("/admin/subaccounts", url.Values{"name": {"Sem token"}}); code != 403 {
		t.Errorf("form without CSRF token: %d, want 403", code)
	}
	if code, _ := c.post("/admin/subaccounts", url.Values{"csrf": {c.csrf}, "name": {"Com token"}}); code != http.StatusSeeOther {
		t.Errorf("form with CSRF token: %d", code)
	}
	if code, _ := c.post("/logout", url.Values{"csrf": {c.csrf}}); code != http.StatusSeeOther {
		t.Errorf("logout: %d", code)
	}
	if code, _ := c.get("/reports/messages"); code != http.StatusSeeOther {
		t.Errorf("report after logout: %d", code)
	}
	if code, _ := c.get("/login?next=//evil.example.com"); code != 200 {
		t.Errorf("login page: %d", code)
	}
}

// TestWebTenantIsolation: a supervisor of A, through the web pages and
// every export format, never sees a row of B.
func TestWebTenantIsolation(t *testing.T) {
	s := newServer(t)
	a := setupTenant(t, s, "alpha", "1110000001", "5511987650001")
	b := setupTenant(t, s, "bravo", "2220000002", "5511987650002")
	s.waitFor(a.moWAMID)
	s.waitFor(b.moWAMID)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "sup@alpha.com", "role": "supervisor",
		"password": "senha-alpha-1", "subaccounts": []int64{a.subaccount}}, nil)
	c := newWebClient(t, s)
	c.login("sup@alpha.com", "senha-alpha-1")
	from := time.Now().AddDate(0, 0, -2).Format("2006-01-02")
	paths := []string{
		"/reports/messages?from=" + from, "/reports/messages?direction=mo&from=" + from,
		"/reports/messages/consolidated?from=" + from, "/reports/messages/consolidated?direction=mo&from=" + from,
		"/reports/messages?from=" + from + "&phone=" + strings.TrimPrefix(b.phone, "+"),
		"/admin/users", "/admin/tokens",
	}
	for _, f := range []string{"csv", "xlsx", "pdf"} {
		paths = append(paths, "/reports/messages/export?format="+f+"&from="+from,
			"/reports/messages/export?format="+f+"&direction=mo&from="+from)
	}
	for _, p := range paths {
		code, body := c.get(p)
		if code != 200 {
			t.Errorf("%s: %d", p, code)
			continue
		}
		for _, leak := range []string{"secret of bravo", b.wamid, strings.TrimPrefix(b.phone, "+"), "bravo@example.com"} {
			if strings.Contains(p, leak) {
				continue // the filter form shows back what was searched
			}
			if strings.Contains(body, leak) {
				t.Errorf("%s leaked %q", p, leak)
			}
		}
	}
	// Naming B outright is refused, not answered with B's rows.
	for _, p := range []string{
		fmt.Sprintf("/reports/messages?subaccount=%d", b.subaccount),
		fmt.Sprintf("/reports/messages/consolidated?subaccount=%d", b.subaccount),
		fmt.Sprintf("/reports/messages/export?format=csv&subaccount=%d", b.subaccount),
		"/admin/subaccounts", "/admin/channels",
	} {
		if code, body := c.get(p); code == 200 || strings.Contains(body, "secret of bravo") {
			t.Errorf("%s: %d", p, code)
		}
	}
	// And A's own data is there, so the checks above are not vacuous.
	if _, body := c.get("/reports/messages?direction=mo&from=" + from); !strings.Contains(body, "secret of alpha") {
		t.Error("A's report lacks A's own reply")
	}
	if _, body := c.get("/reports/messages/export?format=csv&direction=mo&from=" + from); !strings.Contains(body, "secret of alpha") {
		t.Error("A's CSV lacks A's own reply")
	}
}

// TestWebEscapesMessageContent: what contacts write is shown as text.
func TestWebEscapesMessageContent(t *testing.T) {
	s := newServer(t)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "ana@example.com", "role": "admin", "password": "uma-senha-boa"}, nil)
	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	s.webhook(biz.InboundWebhook(simulator.Contact{Name: `<b>Eve</b>`, WAID: "5511987650003"}, map[string]any{
		"id": "wamid.EVIL", "from": "5511987650003", "timestamp": simulator.Unix(time.Now().Add(-time.Minute).Unix()),
		"type": "text", "text": map[string]any{"body": evil}}))
	s.waitFor("wamid.EVIL")
	c := newWebClient(t, s)
	c.login("ana@example.com", "uma-senha-boa")
	_, body := c.get("/reports/messages?direction=mo")
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
		t.Fatal("message content reached the page unescaped")
	}
	if !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Error("the escaped message text is not on the page")
	}
	_, csv := c.get("/reports/messages/export?format=csv&direction=mo")
	if !strings.Contains(csv, "<script>") {
		t.Error("the CSV should carry the text as it was sent")
	}
}

func TestWebRolesAndAgents(t *testing.T) {
	s := newServer(t)
	var sa struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Loja"}, &sa)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "agente@example.com", "role": "agent", "password": "senha-agente", "subaccounts": []int64{sa.ID}}, nil)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "leitor@example.com", "role": "viewer", "password": "senha-leitor", "subaccounts": []int64{sa.ID}}, nil)
	agent := newWebClient(t, s)
	agent.login("agente@example.com", "senha-agente")
	if code, _ := agent.get("/reports/messages"); code != 403 {
		t.Errorf("agent on the report: %d, want 403", code)
	}
	viewer := newWebClient(t, s)
	viewer.login("leitor@example.com", "senha-leitor")
	if code, _ := viewer.get("/reports/messages"); code != 200 {
		t.Errorf("viewer on the report: %d", code)
	}
	if code, _ := viewer.get("/admin/users"); code != 403 {
		t.Errorf("viewer on admin users: %d, want 403", code)
	}
	if code, _ := viewer.post("/admin/tokens", url.Values{"csrf": {viewer.csrf}, "name": {"x"}, "role": {"viewer"}, "subaccount_id": {fmt.Sprint(sa.ID)}}); code != 403 {
		t.Errorf("viewer creating a token: %d, want 403", code)
	}
}

func TestWebSavedSearches(t *testing.T) {
	s := newServer(t)
	var sa struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Loja"}, &sa)
	for _, u := range []string{"ana", "bia"} {
		s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": u + "@example.com", "role": "supervisor",
			"password": "senha-" + u + "-123", "subaccounts": []int64{sa.ID}}, nil)
	}
	ana, bia := newWebClient(t, s), newWebClient(t, s)
	ana.login("ana@example.com", "senha-ana-123")
	bia.login("bia@example.com", "senha-bia-123")
	save := func(c *webClient, name, query string, share bool) int {
		form := url.Values{"csrf": {c.csrf}, "name": {name}, "query": {query}}
		if share {
			form.Set("share", "1")
		}
		code, _ := c.post("/saved-searches", form)
		return code
	}
	if code := save(ana, "Falhas", "status=undelivered&status=rejected", false); code != http.StatusSeeOther {
		t.Fatalf("save: %d", code)
	}
	if code := save(ana, "Falhas", "status=read", false); code != http.StatusConflict {
		t.Errorf("same name twice: %d, want 409", code)
	}
	if code := save(ana, "Quebrada", "status=nope", false); code != http.StatusBadRequest {
		t.Errorf("a search that cannot run: %d, want 400", code)
	}
	if code := save(ana, "Da equipe", fmt.Sprintf("subaccount=%d&direction=mo", sa.ID), true); code != http.StatusSeeOther {
		t.Fatalf("save shared: %d", code)
	}
	_, page := ana.get("/reports/messages")
	ids := regexp.MustCompile(`href="/saved-searches/(\d+)" class="saved-run">([^<]+)<`).FindAllStringSubmatch(page, -1)
	if len(ids) != 2 {
		t.Fatalf("ana sees %d saved searches, want 2: %v", len(ids), ids)
	}
	byName := map[string]string{}
	for _, m := range ids {
		byName[m[2]] = m[1]
	}
	// Running one opens the report with its filters.
	code, _ := ana.get("/saved-searches/" + byName["Falhas"])
	if code != http.StatusSeeOther {
		t.Errorf("run: %d", code)
	}
	// Bia sees the shared one only, and cannot rename or delete it.
	_, page = bia.get("/reports/messages")
	if !strings.Contains(page, "Da equipe") || strings.Contains(page, ">Falhas<") {
		t.Errorf("bia's list is wrong")
	}
	if code, _ := bia.post("/saved-searches/"+byName["Da equipe"]+"/delete", url.Values{"csrf": {bia.csrf}}); code != http.StatusNotFound {
		t.Errorf("bia deleting ana's search: %d, want 404", code)
	}
	if code, _ := bia.get("/saved-searches/" + byName["Falhas"]); code != http.StatusNotFound {
		t.Errorf("bia running ana's private search: %d, want 404", code)
	}
	// Ana renames and deletes.
	if code, _ := ana.post("/saved-searches/"+byName["Falhas"]+"/rename", url.Values{"csrf": {ana.csrf}, "name": {"Falhas da semana"}}); code != http.StatusSeeOther {
		t.Errorf("rename: %d", code)
	}
	if code, _ := ana.post("/saved-searches/"+byName["Da equipe"]+"/delete", url.Values{"csrf": {ana.csrf}}); code != http.StatusSeeOther {
		t.Errorf("delete: %d", code)
	}
	_, page = ana.get("/reports/messages")
	if !strings.Contains(page, "Falhas da semana") || strings.Contains(page, "Da equipe") {
		t.Error("rename or delete did not take")
	}
}
