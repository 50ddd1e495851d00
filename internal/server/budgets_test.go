package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// walkBudgets walks the budgets' endpoints and a campaign's estimate
// (issue 15): an admin sets, lists and removes a budget; a supervisor
// asks what a campaign of 5 marketing recipients costs.
func walkBudgets(t *testing.T, call func(want int, op, path, token string, body any, header ...string) response, sa, ch int64, token string) {
	t.Helper()
	budget := fmt.Sprintf("/api/v1/budgets/%d", sa)
	if r := call(200, "PUT /api/v1/budgets/{id}", budget, adminToken, map[string]any{"amount": "250.50",
		"webhook_url": "https://hooks.example.com/ticks"}); !strings.Contains(string(r.body), `"amount":"250.50"`) {
		t.Errorf("set budget: %s", r.body)
	}
	call(403, "PUT /api/v1/budgets/{id}", budget, token, map[string]any{"amount": "1"})
	if r := call(200, "GET /api/v1/budgets", "/api/v1/budgets", adminToken, nil); !strings.Contains(string(r.body), `"webhook_url":"https://hooks.example.com/ticks"`) {
		t.Errorf("budgets: %s", r.body)
	}
	if r := call(200, "GET /api/v1/reports/consumption", fmt.Sprintf("/api/v1/reports/consumption?subaccount=%d", sa), adminToken, nil); !strings.Contains(string(r.body), `"budgets":[{`) {
		t.Errorf("the report's budgets: %s", r.body)
	}
	call(204, "DELETE /api/v1/budgets/{id}", budget, adminToken, nil)
	call(404, "DELETE /api/v1/budgets/{id}", budget, adminToken, nil)

	var created struct{ ID string }
	call(201, "POST /api/v1/campaigns", "/api/v1/campaigns", token, campaignForm(map[string]string{"name": "Orçada",
		"channel_id": fmt.Sprint(ch), "template": "promocao_outono", "language": "pt_BR",
		"scheduled_at": time.Now().Add(time.Hour).Format(time.RFC3339)}, campaignAudience(5)), "Content-Type", campaignFormType).json(t, &created)
	r := call(200, "GET /api/v1/campaigns/{id}/estimate", "/api/v1/campaigns/"+created.ID+"/estimate", token, nil)
	for _, want := range []string{`"category":"marketing"`, `"recipients":5`, `"remaining":5`, `"rate":"0.0625"`, `"total":"0.31"`, `"priced":true`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("estimate %s lacks %s", r.body, want)
		}
	}
}
