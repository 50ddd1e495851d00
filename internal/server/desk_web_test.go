package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/simulator"
)

// TestWebDesk walks the help desk's pages as their users do: the
// supervisor sets up a team and a pause reason, an agent pauses for lunch,
// sends an active message from the desk, sees it on the Mensagens Ativas
// tab, gets the contact's answer as a ticket, replies and closes it with
// tags; the supervisor's floor and metrics count it, another agent cannot
// open it, and a form without the CSRF token is refused.
func TestWebDesk(t *testing.T) {
	s, sa, ch := simServer(t)
	sup, ag, other := newWebClient(t, s), newWebClient(t, s), newWebClient(t, s)
	var agent struct{ ID int64 }
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "sup@loja.com", "name": "Sônia", "role": "supervisor",
		"password": "uma-senha-longa", "subaccounts": []int64{sa}}, nil)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "ana@loja.com", "name": "Ana", "role": "agent",
		"password": "uma-senha-longa", "subaccounts": []int64{sa}}, &agent)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "bia@loja.com", "name": "Bia", "role": "agent",
		"password": "uma-senha-longa", "subaccounts": []int64{sa}}, nil)
	sup.login("sup@loja.com", "uma-senha-longa")
	ag.login("ana@loja.com", "uma-senha-longa")
	other.login("bia@loja.com", "uma-senha-longa")

	sup.get("/desk/settings")
	if code, body := sup.post("/desk/settings/teams", url.Values{"csrf": {sup.csrf}, "name": {"Vendas"}, "subaccount": {fmt.Sprint(sa)},
		"channel": {fmt.Sprint(ch)}, "abandon_after_minutes": {"30"}}); code != http.StatusSeeOther {
		t.Fatalf("new team: %d %s", code, body)
	}
	if code, _ := sup.post("/desk/settings/pause-reasons", url.Values{"csrf": {sup.csrf}, "name": {"Almoço"}, "subaccount": {fmt.Sprint(sa)}}); code != http.StatusSeeOther {
		t.Fatalf("new pause reason: %d", code)
	}
	_, page := sup.get("/desk/settings")
	team := regexp.MustCompile(`action="/desk/settings/teams/(\d+)/members"`).FindStringSubmatch(page)
	if team == nil || !strings.Contains(page, "Almoço") {
		t.Fatalf("settings page after creating: %s", page)
	}
	if code, _ := sup.post("/desk/settings/teams/"+team[1]+"/members", url.Values{"csrf": {sup.csrf}, "member": {fmt.Sprint(agent.ID)}}); code != http.StatusSeeOther {
		t.Fatalf("members: %d", code)
	}

	if code, page := ag.get("/desk"); code != 200 || !strings.Contains(page, "Mensagens Ativas") || !strings.Contains(page, "Almoço") {
		t.Fatalf("the agent's desk: %d %s", code, page)
	}
	if code, _ := ag.post("/desk/status", url.Values{"status": {"online"}}); code != http.StatusForbidden {
		t.Errorf("status without the CSRF token: %d, want 403", code)
	}
	if code, _ := ag.post("/desk/status", url.Values{"csrf": {ag.csrf}, "status": {"paused"}, "reason": {"Almoço"}}); code != http.StatusSeeOther {
		t.Fatalf("pause: %d", code)
	}
	if _, page := ag.get("/desk"); !strings.Contains(page, `data-live-field="status_label">Em pausa`) {
		t.Errorf("after pausing the desk says: %s", page)
	}
	ag.post("/desk/status", url.Values{"csrf": {ag.csrf}, "status": {"online"}})

	if code, body := ag.post("/desk/active", url.Values{"csrf": {ag.csrf}, "channel": {fmt.Sprint(ch)}, "to": {"+55 11 98765-0301"},
		"template": {"pedido_enviado|pt_BR"}, "params": {"Fábio\n123\n2"}}); code != http.StatusSeeOther {
		t.Fatalf("active message: %d %s", code, body)
	}
	if _, page := ag.get("/desk"); !strings.Contains(page, "pedido_enviado") || !strings.Contains(page, "5511987650301") {
		t.Fatalf("the tab after sending: %s", page)
	}
	if ev := firstEvent(t, ag, "/desk/live"); !strings.Contains(ev, `"template":"pedido_enviado"`) || !strings.Contains(ev, `"status_label":"Online"`) {
		t.Errorf("the desk's live stream: %s", ev)
	}
	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}
	s.webhook(biz.InboundWebhook(simulator.Contact{Name: "Fábio", WAID: "5511987650301"}, map[string]any{"id": "wamid.DESKWEB1",
		"from": "5511987650301", "timestamp": simulator.Unix(time.Now().Unix()), "type": "text", "text": map[string]any{"body": "Chegou?"}}))
	var ticket []string
	for i := 0; i < 300 && ticket == nil; i++ {
		_, page := ag.get("/desk")
		ticket = regexp.MustCompile(`href="/desk/tickets/(\d+)"`).FindStringSubmatch(page)
		time.Sleep(20 * time.Millisecond)
	}
	if ticket == nil {
		t.Fatal("no ticket on the desk after the contact's answer")
	}
	path := "/desk/tickets/" + ticket[1]
	if code, page := ag.get(path); code != 200 || !strings.Contains(page, "Chegou?") || !strings.Contains(page, "Janela de atendimento") {
		t.Fatalf("the ticket: %d %s", code, page)
	}
	if code, _ := other.get(path); code != http.StatusNotFound {
		t.Errorf("another agent opens the ticket: %d, want 404", code)
	}
	// A supervisor of another subaccount sees none of it.
	var sb struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Outra loja"}, &sb)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "sup@outra.com", "name": "Olga", "role": "supervisor",
		"password": "uma-senha-longa", "subaccounts": []int64{sb.ID}}, nil)
	stranger := newWebClient(t, s)
	stranger.login("sup@outra.com", "uma-senha-longa")
	if code, _ := stranger.get(path); code != http.StatusNotFound {
		t.Errorf("another subaccount's supervisor opens the ticket: %d, want 404", code)
	}
	if code, body := stranger.post(path+"/close", url.Values{"csrf": {stranger.csrf}, "tags": {"x"}}); code != http.StatusNotFound {
		t.Errorf("another subaccount's supervisor closes the ticket: %d %s", code, body)
	}
	for _, page := range []string{"/desk/supervisor", "/desk/metrics", "/desk/settings"} {
		if _, body := stranger.get(page); strings.Contains(body, "Ana") || strings.Contains(body, "Vendas") || strings.Contains(body, "Fábio") {
			t.Errorf("%s of another subaccount's supervisor shows this one's agents, teams or contacts", page)
		}
	}
	if ev := firstEvent(t, stranger, "/desk/supervisor/live"); ev == "" || strings.Contains(ev, "Ana") || strings.Contains(ev, "Fábio") {
		t.Errorf("the floor's live stream of another subaccount's supervisor: %s", ev)
	}
	if code, _ := ag.post(path+"/reply", url.Values{"csrf": {ag.csrf}, "text": {"Chegou sim, <b>Fábio</b>!"}}); code != http.StatusSeeOther {
		t.Fatalf("reply: %d", code)
	}
	if _, page := ag.get(path); !strings.Contains(page, "Chegou sim, &lt;b&gt;Fábio&lt;/b&gt;!") {
		t.Errorf("the reply is not in the conversation, escaped: %s", page)
	}
	if code, _ := ag.post(path+"/close", url.Values{"csrf": {ag.csrf}, "tags": {"entrega, dúvida"}}); code != http.StatusSeeOther {
		t.Fatalf("close: %d", code)
	}
	if _, page := ag.get(path); !strings.Contains(page, "Encerrado") || !strings.Contains(page, "entrega, dúvida") {
		t.Errorf("closed ticket: %s", page)
	}

	if code, _ := ag.get("/desk/metrics"); code != http.StatusForbidden {
		t.Errorf("an agent on the metrics: %d, want 403", code)
	}
	_, page = sup.get("/desk/metrics")
	if !regexp.MustCompile(`id="m-closed">1<`).MatchString(page) || !strings.Contains(page, "entrega") || !strings.Contains(page, "Ana") {
		t.Errorf("metrics: %s", page)
	}
	if _, page := sup.get("/desk/supervisor"); !strings.Contains(page, "Ana") || !strings.Contains(page, "Online") {
		t.Errorf("the floor: %s", page)
	}
	sup.post("/lang", url.Values{"csrf": {sup.csrf}, "lang": {"en"}, "back": {"/desk/metrics"}})
	if _, page := sup.get("/desk/metrics"); !strings.Contains(page, "Attendance metrics") || !strings.Contains(page, "By tag") {
		t.Errorf("metrics in English: %s", page)
	}
}

// firstEvent reads the first event of a page's live stream.
func firstEvent(t *testing.T, c *webClient, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.s.url+path, nil)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "data: ") {
			return l
		}
	}
	return ""
}
