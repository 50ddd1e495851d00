package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/simulator"
)

// walkDesk calls every desk operation: an agent's token (created for the
// agent's user) works the desk, a supervisor's token runs it.
func walkDesk(t *testing.T, s *testServer, call func(want int, op, path, token string, body any, header ...string) response, sa, ch int64, token string) {
	t.Helper()
	var agent, tok, team, ticket struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	call(201, "POST /api/v1/users", "/api/v1/users", adminToken, map[string]any{"email": "agente@example.com", "name": "Agente",
		"role": "agent", "password": "uma-senha-longa", "subaccounts": []int64{sa}}).json(t, &agent)
	call(201, "POST /api/v1/tokens", "/api/v1/tokens", token, map[string]any{"name": "mesa", "user_id": agent.ID}).json(t, &tok)
	call(200, "GET /api/v1/desk/me", "/api/v1/desk/me", tok.Token, nil)

	call(201, "POST /api/v1/desk/pause-reasons", "/api/v1/desk/pause-reasons", token, map[string]any{"name": "Almoço"})
	call(200, "GET /api/v1/desk/pause-reasons", "/api/v1/desk/pause-reasons", tok.Token, nil)
	call(200, "PUT /api/v1/desk/status", "/api/v1/desk/status", tok.Token, map[string]any{"status": "paused", "reason": "Almoço"})
	call(400, "PUT /api/v1/desk/status", "/api/v1/desk/status", tok.Token, map[string]any{"status": "paused", "reason": "Café"})
	call(200, "PUT /api/v1/desk/status", "/api/v1/desk/status", tok.Token, map[string]any{"status": "online"})

	call(201, "POST /api/v1/desk/teams", "/api/v1/desk/teams", token, map[string]any{"name": "Vendas", "channel_id": ch,
		"members": []int64{}, "abandon_after_minutes": 30}).json(t, &team)
	call(200, "PUT /api/v1/desk/teams/{id}/members", fmt.Sprintf("/api/v1/desk/teams/%d/members", team.ID), token,
		map[string]any{"members": []int64{agent.ID}})
	call(200, "GET /api/v1/desk/teams", "/api/v1/desk/teams", tok.Token, nil)
	call(200, "PUT /api/v1/desk/agents/{id}", fmt.Sprintf("/api/v1/desk/agents/%d", agent.ID), token, map[string]any{"max_tickets": 3})
	call(200, "GET /api/v1/desk/agents", "/api/v1/desk/agents", token, nil)
	call(403, "GET /api/v1/desk/agents", "/api/v1/desk/agents", tok.Token, nil)

	active := "POST /api/v1/desk/active-messages"
	call(201, active, "/api/v1/desk/active-messages", tok.Token, map[string]any{"channel_id": ch, "to": "+5511987650201",
		"template": "hello_world", "language": "en_US"})
	call(422, active, "/api/v1/desk/active-messages", tok.Token, map[string]any{"channel_id": ch, "to": "123",
		"template": "hello_world", "language": "en_US"})
	call(200, "GET /api/v1/desk/active-messages", "/api/v1/desk/active-messages?lang=en", tok.Token, nil)

	// The contact answers: the router makes a ticket of the agent's.
	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}
	if r := s.webhook(biz.InboundWebhook(simulator.Contact{Name: "Fábio", WAID: "5511987650201"}, map[string]any{"id": "wamid.DESKIN",
		"from": "5511987650201", "timestamp": simulator.Unix(time.Now().Unix()), "type": "text", "text": map[string]any{"body": "Pode falar"}})); r.code != 200 {
		t.Fatalf("webhook: %d %s", r.code, r.body)
	}
	var list struct {
		Rows []struct{ ID int64 } `json:"rows"`
	}
	for i := 0; i < 500 && len(list.Rows) == 0; i++ {
		call(200, "GET /api/v1/desk/tickets", "/api/v1/desk/tickets?state=open", tok.Token, nil).json(t, &list)
		time.Sleep(10 * time.Millisecond)
	}
	if len(list.Rows) != 1 {
		t.Fatalf("the agent's open tickets after the reply: %+v", list.Rows)
	}
	ticket.ID = list.Rows[0].ID
	path := fmt.Sprintf("/api/v1/desk/tickets/%d", ticket.ID)
	call(200, "GET /api/v1/desk/tickets/{id}", path, tok.Token, nil)
	call(201, "POST /api/v1/desk/tickets/{id}/messages", path+"/messages", tok.Token, map[string]any{"text": "Olá, Fábio!"})
	call(200, "POST /api/v1/desk/tickets/{id}/transfer", path+"/transfer", tok.Token, map[string]any{"team_id": team.ID})
	call(200, "POST /api/v1/desk/tickets/{id}/transfer", path+"/transfer", token, map[string]any{"agent_id": agent.ID})
	if r := call(200, "POST /api/v1/desk/tickets/{id}/close", path+"/close", tok.Token, map[string]any{"tags": []string{"venda"}}); !strings.Contains(string(r.body), `"state":"closed"`) {
		t.Errorf("closed ticket: %s", r.body)
	}
	call(409, "POST /api/v1/desk/tickets/{id}/close", path+"/close", tok.Token, map[string]any{"tags": []string{}})

	metrics := "GET /api/v1/desk/metrics"
	if r := call(200, metrics, "/api/v1/desk/metrics", token, nil); !strings.Contains(string(r.body), `"closed":1`) {
		t.Errorf("today's metrics: %s", r.body)
	}
	call(200, metrics, fmt.Sprintf("/api/v1/desk/metrics?from=2020-01-01&to=2020-03-01&team=%d&agent=%d", team.ID, agent.ID), token, nil)
	call(400, metrics, "/api/v1/desk/metrics?from=ontem", token, nil)
	call(200, "GET /api/v1/desk/status-log", "/api/v1/desk/status-log", token, nil)
}

// testDeskIsolation: A's supervisor, and an agent of A, get nothing of B's
// desk — teams, agents, tickets, metrics — by any desk endpoint, and can
// change none of it.
func testDeskIsolation(t *testing.T, s *testServer, a, b *tenant) {
	t.Helper()
	var bAgent, bTeam, bTok, aAgent, aTok struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "agent-bravo@example.com", "name": "Agente Bravo",
		"role": "agent", "password": "uma-senha-longa", "subaccounts": []int64{b.subaccount}}, &bAgent)
	s.must(201, "POST", "/api/v1/tokens", b.token, map[string]any{"name": "b-agent", "user_id": bAgent.ID}, &bTok)
	s.must(201, "POST", "/api/v1/desk/teams", b.token, map[string]any{"name": "Time Bravo", "members": []int64{bAgent.ID}}, &bTeam)
	s.must(201, "POST", "/api/v1/desk/pause-reasons", b.token, map[string]any{"name": "Pausa Bravo"}, nil)
	s.must(200, "PUT", "/api/v1/desk/status", bTok.Token, map[string]any{"status": "online"}, nil)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "agent-alpha@example.com", "name": "Agente Alpha",
		"role": "agent", "password": "uma-senha-longa", "subaccounts": []int64{a.subaccount}}, &aAgent)
	s.must(201, "POST", "/api/v1/tokens", a.token, map[string]any{"name": "a-agent", "user_id": aAgent.ID}, &aTok)

	// B's contact writes; B's team gets the ticket.
	now := time.Now().Unix()
	if r := s.webhook(b.biz.InboundWebhook(simulator.Contact{Name: "Cliente Bravo", WAID: "5511987650333"}, map[string]any{"id": "wamid.DESKB",
		"from": "5511987650333", "timestamp": simulator.Unix(now), "type": "text", "text": map[string]any{"body": "secret of bravo desk"}})); r.code != 200 {
		t.Fatalf("webhook: %d %s", r.code, r.body)
	}
	var bTickets struct {
		Rows []struct {
			ID    int64  `json:"id"`
			Phone string `json:"contact_phone"`
		} `json:"rows"`
	}
	var bTicket int64
	for i := 0; i < 500 && bTicket == 0; i++ {
		s.must(200, "GET", "/api/v1/desk/tickets", bTok.Token, nil, &bTickets)
		for _, r := range bTickets.Rows {
			if r.Phone == "+5511987650333" {
				bTicket = r.ID
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if bTicket == 0 {
		t.Fatalf("B's agent has no ticket from B's contact: %+v", bTickets.Rows)
	}
	ticket := fmt.Sprintf("/api/v1/desk/tickets/%d", bTicket)

	for _, tok := range []string{a.token, aTok.Token} {
		for _, w := range []struct {
			method, path string
			body         any
		}{
			{"GET", ticket, nil},
			{"POST", ticket + "/messages", map[string]any{"text": "intruso"}},
			{"POST", ticket + "/transfer", map[string]any{"agent_id": aAgent.ID}},
			{"POST", ticket + "/close", map[string]any{"tags": []string{"x"}}},
			{"PUT", fmt.Sprintf("/api/v1/desk/teams/%d/members", bTeam.ID), map[string]any{"members": []int64{}}},
			{"PUT", fmt.Sprintf("/api/v1/desk/agents/%d", bAgent.ID), map[string]any{"max_tickets": 9}},
			{"GET", fmt.Sprintf("/api/v1/desk/metrics?team=%d", bTeam.ID), nil},
			{"POST", "/api/v1/desk/active-messages", map[string]any{"channel_id": b.channelID, "to": "+5511987650334", "template": "hello_world", "language": "en_US"}},
			{"POST", "/api/v1/desk/teams", map[string]any{"subaccount_id": b.subaccount, "name": "intrusos"}},
			{"POST", "/api/v1/desk/pause-reasons", map[string]any{"subaccount_id": b.subaccount, "name": "intrusa"}},
		} {
			r := s.do(w.method, w.path, tok, w.body)
			if r.code < 400 || r.code >= 500 || r.code == 401 {
				t.Errorf("A %s %s into B's desk: %d %s, want 400/403/404", w.method, w.path, r.code, r.body)
			}
			if strings.Contains(string(r.body), "bravo") || strings.Contains(string(r.body), "Bravo") {
				t.Errorf("A %s %s leaked B's desk: %s", w.method, w.path, r.body)
			}
		}
		for _, path := range []string{"/api/v1/desk/tickets", "/api/v1/desk/teams", "/api/v1/desk/pause-reasons", "/api/v1/desk/agents",
			"/api/v1/desk/metrics", "/api/v1/desk/status-log", "/api/v1/desk/active-messages", "/api/v1/desk/me"} {
			r := s.do("GET", path, tok, nil)
			if r.code != 200 && r.code != 403 && r.code != 400 {
				t.Errorf("A GET %s: %d %s", path, r.code, r.body)
			}
			for _, leak := range []string{"bravo", "Bravo", "5511987650333"} {
				if strings.Contains(string(r.body), leak) {
					t.Errorf("A GET %s leaked %q: %s", path, leak, r.body)
				}
			}
		}
	}
	// B's own agent does see it, so the checks above are not vacuous.
	if r := s.do("GET", ticket, bTok.Token, nil); r.code != 200 || !strings.Contains(string(r.body), "secret of bravo desk") {
		t.Errorf("B's agent opening B's ticket: %d %s", r.code, r.body)
	}
	var teams struct {
		Rows []struct{ Members []int64 } `json:"rows"`
	}
	s.must(200, "GET", "/api/v1/desk/teams", b.token, nil, &teams)
	if len(teams.Rows) != 1 || len(teams.Rows[0].Members) != 1 {
		t.Errorf("B's team after A's attempts: %+v, want its one member", teams.Rows)
	}
}
