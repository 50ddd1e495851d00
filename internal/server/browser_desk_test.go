package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ticksapp/ticks/internal/simulator"
)

// deskServer is a server whose simulated WhatsApp accepts sends but posts
// nothing back for an hour: the test posts each status and reply itself,
// when it wants the page to show it.
func deskServer(t *testing.T) (*testServer, int64, int64) {
	t.Helper()
	api := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(api.Close)
	s := newServerWith(t, api.URL+"/v23.0")
	hour := simulator.Range{Min: time.Hour, Max: time.Hour}
	sim := simulator.NewServer(simulator.Config{Seed: 5, AppSecret: []byte(appSecret), Mix: simulator.Outcomes{Read: 1},
		Delays: simulator.Delays{Sent: hour, Delivered: hour, Read: hour, Reply: hour}, Phones: []simulator.Phone{{PhoneNumberID: "106540352242922",
			DisplayPhone: "15550783881", WABAID: "102290129340398", AccessToken: "tok"}},
		WebhookURL: s.url + "/webhooks/whatsapp"})
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

// loginAs logs a browser in and opens path.
func loginAs(ctx context.Context, t *testing.T, s *testServer, email, pw, path, ready string) {
	t.Helper()
	if err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/login"),
		logIn(email, pw, "#logout"),
		chromedp.Navigate(s.url+path),
		chromedp.WaitVisible(ready, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("%s opens %s: %v", email, path, err)
	}
}

// waitJS waits until the JavaScript expression is true.
func waitJS(ctx context.Context, t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &ok)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	var html string
	chromedp.Run(ctx, chromedp.OuterHTML("main, .main", &html, chromedp.ByQuery))
	t.Fatalf("%s: not within 15 s\n%s", what, html)
}

// TestBrowserDesk: two agents and a supervisor at work. Ana sends an
// active message from her desk and watches it go Enviando → Entregue →
// Lida without reloading, while Bia's desk never shows it; the contact's
// answer turns it into Ana's ticket on her page; she answers and closes it
// with a tag; the supervisor saw her come online live, and the metrics
// count the ticket.
func TestBrowserDesk(t *testing.T) {
	s, sa, ch := deskServer(t)
	pw := "uma-senha-longa"
	var ana, bia struct{ ID int64 }
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "sup@loja.com", "name": "Sônia", "role": "supervisor",
		"password": pw, "subaccounts": []int64{sa}}, nil)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "ana@loja.com", "name": "Ana", "role": "agent",
		"password": pw, "subaccounts": []int64{sa}}, &ana)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "bia@loja.com", "name": "Bia", "role": "agent",
		"password": pw, "subaccounts": []int64{sa}}, &bia)
	s.must(201, "POST", "/api/v1/desk/teams", adminToken, map[string]any{"subaccount_id": sa, "name": "Vendas", "channel_id": ch,
		"members": []int64{ana.ID, bia.ID}}, nil)

	sup := browse(t, t.TempDir())
	loginAs(sup, t, s, "sup@loja.com", pw, "/desk/supervisor", "#floor-agents")
	// Each agent in a browser of their own: cookies of their own.
	anaCtx, biaCtx := browse(t, t.TempDir()), browse(t, t.TempDir())
	loginAs(anaCtx, t, s, "ana@loja.com", pw, "/desk", "#active-tab")
	loginAs(biaCtx, t, s, "bia@loja.com", pw, "/desk", "#active-tab")

	// Ana comes online: the supervisor's floor shows it as it happens.
	waitJS(sup, t, "the floor lists Ana offline", `!!document.querySelector('#floor-agents tr[data-key="`+fmt.Sprint(ana.ID)+`"][data-status="offline"]')`)
	chromedp.Run(sup, chromedp.Evaluate(`window.__samePage = true`, nil))
	if err := chromedp.Run(anaCtx,
		chromedp.SetValue("#status-select", "online", chromedp.ByQuery),
		chromedp.Click("#status-save", chromedp.ByQuery),
		chromedp.WaitVisible("#active-tab", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(sup, t, "the floor shows Ana online, live", `window.__samePage && !!document.querySelector('#floor-agents tr[data-key="`+fmt.Sprint(ana.ID)+`"][data-status="online"]') && document.querySelector("#floor-online").textContent === "1"`)

	// An active message from Ana's desk.
	if err := chromedp.Run(anaCtx,
		chromedp.SendKeys("#active-to", "+55 11 98765-0401", chromedp.ByQuery),
		chromedp.SetValue("#active-template", "pedido_enviado|pt_BR", chromedp.ByQuery),
		chromedp.SendKeys("#active-params", "Fábio\n4512\n3", chromedp.ByQuery),
		chromedp.Click("#active-send", chromedp.ByQuery),
		chromedp.WaitVisible("p.flash", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	row := `document.querySelector("#active-list tbody tr")`
	waitJS(anaCtx, t, "the tab shows the message Enviando", row+` && `+row+`.dataset.status === "sending" && `+row+`.textContent.includes("Enviando") && `+row+`.textContent.includes("pedido_enviado")`)
	chromedp.Run(anaCtx, chromedp.Evaluate(`window.__samePage = true`, nil))
	var found struct {
		Rows []struct{ WAMID, Phone string } `json:"rows"`
	}
	s.must(200, "GET", "/api/v1/reports/messages?from=2020-01-01&direction=mt", adminToken, nil, &found)
	if len(found.Rows) != 1 || found.Rows[0].WAMID == "" {
		t.Fatalf("the desk's message in the report: %+v", found.Rows)
	}
	wamid, wa := found.Rows[0].WAMID, "5511987650401"
	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}
	now := time.Now().Unix()
	s.webhook(biz.StatusWebhook(simulator.Status{ID: wamid, Status: "delivered", Timestamp: simulator.Unix(now), RecipientID: wa}))
	waitJS(anaCtx, t, "Entregue, in place", `window.__samePage && `+row+`.dataset.status === "delivered" && `+row+`.textContent.includes("Entregue")`)
	s.webhook(biz.StatusWebhook(simulator.Status{ID: wamid, Status: "read", Timestamp: simulator.Unix(now + 1), RecipientID: wa}))
	waitJS(anaCtx, t, "Lida, in place", `window.__samePage && `+row+`.dataset.status === "read" && `+row+`.textContent.includes("Lida")`)
	var biaRows int
	if err := chromedp.Run(biaCtx, chromedp.Evaluate(`document.querySelectorAll("#active-list tbody tr").length`, &biaRows)); err != nil || biaRows != 0 {
		t.Errorf("Bia's tab shows %d rows of Ana's (%v)", biaRows, err)
	}

	// The supervisor's metrics before the answer.
	if err := chromedp.Run(sup, chromedp.Navigate(s.url+"/desk/metrics"), chromedp.WaitVisible("#metrics-total", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if got := text(sup, t, "#m-active-sent"); got != "1" {
		t.Errorf("active messages sent: %q", got)
	}
	if got := text(sup, t, "#m-closed"); got != "0" {
		t.Errorf("closed before: %q", got)
	}

	// Fábio answers: Ana's tab gives the message up, her tickets get it.
	s.webhook(biz.InboundWebhook(simulator.Contact{Name: "Fábio", WAID: wa}, map[string]any{"id": "wamid.DESKBROWSERIN",
		"from": wa, "timestamp": simulator.Unix(now + 5), "type": "text", "context": map[string]any{"from": "15550783881", "id": wamid},
		"text": map[string]any{"body": "Quando chega?"}}))
	waitJS(anaCtx, t, "the answer becomes Ana's ticket, live", `window.__samePage && document.querySelectorAll("#active-list tbody tr").length === 0 && !!document.querySelector('#ticket-list tbody tr[data-state="open"] a')`)
	if got := text(anaCtx, t, "#ticket-list tbody tr"); !strings.Contains(got, "Fábio") || !strings.Contains(got, "Mensagem ativa") {
		t.Errorf("the ticket's line: %q", got)
	}
	if err := chromedp.Run(anaCtx,
		chromedp.Click("#ticket-list tbody tr a", chromedp.ByQuery),
		chromedp.WaitVisible("#reply-text", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(anaCtx, t, "#conversation"); !strings.Contains(got, "Quando chega?") || !strings.Contains(got, "Fábio") {
		t.Errorf("the conversation: %q", got)
	}
	if got := text(anaCtx, t, "#ticket-window"); !strings.Contains(got, "restantes") {
		t.Errorf("the window: %q", got)
	}
	if err := chromedp.Run(anaCtx,
		chromedp.SendKeys("#reply-text", "Amanhã até as 18h, Fábio!", chromedp.ByQuery),
		chromedp.Click("#reply-send", chromedp.ByQuery),
		chromedp.WaitVisible("p.flash", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(anaCtx, t, "#conversation"); !strings.Contains(got, "Amanhã até as 18h") {
		t.Errorf("the conversation after answering: %q", got)
	}
	if err := chromedp.Run(anaCtx,
		chromedp.SendKeys("#close-tags", "entrega", chromedp.ByQuery),
		chromedp.Click("#close-send", chromedp.ByQuery),
		chromedp.WaitVisible("#active-tab", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(anaCtx, t, "p.flash"); !strings.Contains(got, "encerrado") {
		t.Errorf("after closing: %q", got)
	}

	// The metrics moved.
	if err := chromedp.Run(sup, chromedp.Reload(), chromedp.WaitVisible("#metrics-total", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]string{"#m-opened": "1", "#m-answered": "1", "#m-closed": "1", "#m-from-active": "1"} {
		if got := text(sup, t, sel); got != want {
			t.Errorf("%s after closing: %q, want %q", sel, got, want)
		}
	}
	if got := text(sup, t, "#metrics-by-tag"); !strings.Contains(got, "entrega") {
		t.Errorf("by tag: %q", got)
	}
	if got := text(sup, t, "#metrics-by-agent"); !strings.Contains(got, "Ana") {
		t.Errorf("by agent: %q", got)
	}
}
