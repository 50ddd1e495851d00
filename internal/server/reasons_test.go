package server_test

import (
	"strings"
	"testing"
)

// TestRefusalReasonsInTheReadersLanguage sends what ticks refuses, then
// reads the report page in Portuguese and English: ticks's reasons are
// translated with their parameters, while the API keeps its English title;
// the unassigned subaccount is named in the reader's language.
func TestRefusalReasonsInTheReadersLanguage(t *testing.T) {
	s, _, _ := simServer(t)
	var refused struct {
		Message struct {
			ID         string
			Status     string
			ErrorTitle string `json:"error_title"`
		}
	}
	r := s.do("POST", "/api/v1/messages", adminToken, map[string]any{"to": "+5511987650001", "type": "template",
		"template": map[string]any{"name": "pedido_enviado", "language": "pt_BR", "params": []string{"Maria"}}})
	if r.code != 422 {
		t.Fatalf("wrong parameter count: %d %s", r.code, r.body)
	}
	r.json(t, &refused)
	if refused.Message.Status != "invalid_content" || refused.Message.ErrorTitle != "wrong parameter count" {
		t.Errorf("the API's refusal: %+v", refused.Message)
	}
	s.do("POST", "/api/v1/messages", adminToken, map[string]any{"to": "+5511987650002", "type": "text", "text": "oi"})

	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "ana@example.com", "role": "admin", "password": "uma-senha-boa"}, nil)
	c := newWebClient(t, s)
	c.login("ana@example.com", "uma-senha-boa")
	_, page := c.get("/reports/messages?status=invalid_content,invalid_session")
	for _, want := range []string{
		`número de parâmetros errado: o template &#34;pedido_enviado&#34; recebe 3 parâmetros no corpo; 1 foram enviados`,
		"sessão encerrada e sem template de fallback: mensagens de texto livre só podem ser enviadas até 24 horas",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the Portuguese page lacks %q", want)
		}
	}
	if strings.Contains(page, "wrong parameter count") || strings.Contains(page, "session closed") {
		t.Error("the Portuguese page shows English reasons")
	}
	if _, subs := c.get("/admin/subaccounts"); !strings.Contains(subs, "Sem subconta") || strings.Contains(subs, ">unassigned<") {
		t.Error("the unassigned subaccount is not named in Portuguese")
	}
	c.post("/lang", map[string][]string{"csrf": {c.csrf}, "lang": {"en"}, "back": {"/reports/messages"}})
	_, page = c.get("/reports/messages?status=invalid_content")
	if !strings.Contains(page, `wrong parameter count: template &#34;pedido_enviado&#34; takes 3 body parameters, 1 given`) {
		t.Error("the English page lacks the English reason")
	}
}
