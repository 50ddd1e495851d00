package demo

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/desk"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

// TestDeskAgentsWorkTickets seeds the demo's desk and lets its agents
// work: a contact who writes first gets a ticket in Varejo Centro's queue,
// an online agent of its team is given it, answers it and closes it with
// tags, and the attendance metrics count it.
func TestDeskAgentsWorkTickets(t *testing.T) {
	srv, state, _ := seededDemo(t)
	ctx := context.Background()
	if err := SeedDesk(ctx, srv.Services, state); err != nil {
		t.Fatal(err)
	}
	if !state.DeskSeeded {
		t.Error("the state does not say the desk is seeded")
	}
	admin := access.System()
	teams, err := srv.Services.Desk.Teams(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(teams) != 2 || len(teams[0].Members) != 2 || len(teams[1].Members) != 2 {
		t.Fatalf("teams %+v, want 2 of 2 agents", teams)
	}
	if reasons, _ := srv.Services.Desk.PauseReasons(ctx, admin); len(reasons) != 2*len(PauseReasons) {
		t.Errorf("pause reasons %+v", reasons)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	d := &Desk{Services: srv.Services, Speed: 1000}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if len(d.agents) != len(DeskAgents) {
		t.Fatalf("%d agents found, want %d", len(d.agents), len(DeskAgents))
	}
	biz := simulator.Business{WABAID: Phones[0].WABAID, PhoneNumberID: Phones[0].PhoneNumberID, DisplayPhone: Phones[0].DisplayPhone}
	body := biz.InboundWebhook(simulator.Contact{Name: Name(7), WAID: Phone(7)[1:]}, map[string]any{"id": "wamid.DEMODESK1",
		"from": Phone(7)[1:], "timestamp": simulator.Unix(time.Now().Unix()), "type": "text", "text": map[string]any{"body": "Meu pedido atrasou"}})
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign([]byte(srv.Config.WAAppSecret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	var closed []domain.Ticket
	deadline := time.Now().Add(20 * time.Second)
	for len(closed) == 0 && time.Now().Before(deadline) {
		d.Step(ctx)
		if closed, err = srv.Services.Desk.Tickets(ctx, admin, "closed"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(closed) != 1 {
		t.Fatalf("closed tickets after 20 s: %+v", closed)
	}
	tk := closed[0]
	if tk.Agent == "" || tk.FirstResponseAt == nil || len(tk.Tags) == 0 || tk.Origin != domain.TicketFromInbound || tk.Team != "Atendimento Varejo Centro" {
		t.Errorf("the ticket the agents worked: %+v", tk)
	}
	view, err := srv.Services.Desk.Ticket(ctx, admin, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(view.Messages); n != 2 || view.Messages[1].Direction != domain.DirectionMT {
		t.Errorf("the conversation: %d messages %+v, want the contact's and the agent's answer", n, view.Messages)
	}
	now := time.Now()
	m, err := srv.Services.Desk.Metrics(ctx, admin, desk.MetricsQuery{From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if m.Total.Opened != 1 || m.Total.Answered != 1 || m.Total.Closed != 1 || len(m.ByTag) == 0 {
		t.Errorf("metrics %+v", m.Total)
	}
	agents, err := srv.Services.Desk.Agents(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	online := 0
	for _, a := range agents {
		if a.Status == domain.AgentOnline || a.Status == domain.AgentPaused {
			online++
		}
	}
	if online != len(DeskAgents) {
		t.Errorf("agents at work: %d of %d (%s)", online, len(DeskAgents), fmt.Sprint(agents))
	}
}

// TestHistoryHasTheDesksPast: the history's 90 days have tickets — from
// the contacts who wrote and from the agents' active messages, answered,
// closed with tags or abandoned — so the attendance metrics show a past;
// the rollup agrees with the tickets, and writing the desk's history
// again adds nothing.
func TestHistoryHasTheDesksPast(t *testing.T) {
	ctx := context.Background()
	srv, state, dsn := seededDemo(t)
	if err := SeedDesk(ctx, srv.Services, state); err != nil {
		t.Fatal(err)
	}
	h := &History{Services: srv.Services, DSN: dsn, State: state, Dir: t.TempDir(), TTL: 30 * time.Second, PerDay: 300}
	if err := h.Run(ctx, func() {}); err != nil {
		t.Fatal(err)
	}
	if !state.DeskHistoryDone {
		t.Fatal("the state does not say the desk's history is written")
	}
	admin := access.System()
	end := state.HistoryEnd
	q := desk.MetricsQuery{From: end.AddDate(0, 0, -HistoryDays), To: end}
	m, err := srv.Services.Desk.Metrics(ctx, admin, q)
	if err != nil {
		t.Fatal(err)
	}
	f := m.Total
	if f.Opened < 500 || f.Closed == 0 || f.Abandoned == 0 || f.Answered < f.Closed || f.FromActiveMessages == 0 ||
		m.ActiveMessagesSent < f.FromActiveMessages || len(m.ByTeam) < 2 || len(m.ByAgent) < 3 || len(m.ByTag) != len(tags) {
		t.Errorf("the history's metrics: %+v, %d active messages, %d teams, %d agents, %d tags", f, m.ActiveMessagesSent,
			len(m.ByTeam), len(m.ByAgent), len(m.ByTag))
	}
	if f.FirstResponse.Count == 0 || f.Waiting.P50 <= 0 || f.Handling.P90 <= f.Handling.P50 {
		t.Errorf("the history's times: %+v %+v %+v", f.Waiting, f.FirstResponse, f.Handling)
	}
	// Its first and last months both have tickets.
	for _, from := range []time.Time{q.From, end.AddDate(0, 0, -30)} {
		part, err := srv.Services.Desk.Metrics(ctx, admin, desk.MetricsQuery{From: from, To: from.AddDate(0, 0, 30)})
		if err != nil || part.Total.Opened < f.Opened/5 {
			t.Errorf("30 days from %v: %+v %v", from, part.Total, err)
		}
	}
	q.FromTickets = true
	if all, err := srv.Services.Desk.Metrics(ctx, admin, q); err != nil || !reflect.DeepEqual(all, m) {
		t.Errorf("from every ticket: %+v (%v), from the rollup %+v", all, err, m)
	}
	state.DeskHistoryDone = false
	if err := h.Run(ctx, func() {}); err != nil {
		t.Fatal(err)
	}
	q.FromTickets = false
	if again, err := srv.Services.Desk.Metrics(ctx, admin, q); err != nil || again.Total != m.Total || again.ActiveMessagesSent != m.ActiveMessagesSent {
		t.Errorf("written twice: %+v %d (%v), want %+v %d", again.Total, again.ActiveMessagesSent, err, m.Total, m.ActiveMessagesSent)
	}
}
