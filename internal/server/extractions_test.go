package server_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"
)

// extractionJSON is an extraction as the API answers it.
type extractionJSON struct {
	ID       string  `json:"id"`
	Type     string  `json:"type"`
	Status   string  `json:"status"`
	Progress float64 `json:"progress"`
	Rows     int64   `json:"rows"`
	Bytes    int64   `json:"bytes"`
	Error    string  `json:"error"`
}

// today is the server's date, in its time zone.
func (s *testServer) today(days int) string {
	return time.Now().In(s.srv.Config.Location()).AddDate(0, 0, days).Format(time.DateOnly)
}

// waitExtraction polls an extraction until it is done.
func (s *testServer) waitExtraction(id, token string) extractionJSON {
	s.t.Helper()
	var e extractionJSON
	for range 400 {
		s.must(200, "GET", "/api/v1/extractions/"+id, token, nil, &e)
		if e.Status != "queued" && e.Status != "running" {
			return e
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.t.Fatalf("extraction %s is still %s", id, e.Status)
	return e
}

// walkExtractions calls every endpoint of the report manager for the contract walk.
func walkExtractions(t *testing.T, s *testServer, call func(want int, op, path, token string, body any, header ...string) response, token string) {
	t.Helper()
	var e extractionJSON
	call(202, "POST /api/v1/extractions", "/api/v1/extractions", token, map[string]any{"type": "notifications_summary",
		"from": s.today(-6), "to": s.today(0), "format": "csv"}, "Accept-Language", "en").json(t, &e)
	if e = s.waitExtraction(e.ID, token); e.Status != "ready" {
		t.Fatalf("extraction: %+v", e)
	}
	call(200, "GET /api/v1/extractions/{id}", "/api/v1/extractions/"+e.ID, token, nil)
	call(200, "GET /api/v1/extractions", "/api/v1/extractions", token, nil)
	if r := call(200, "GET /api/v1/extractions/{id}/file", "/api/v1/extractions/"+e.ID+"/file", token, nil); !strings.HasPrefix(
		strings.TrimPrefix(string(r.body), "\ufeff"), "Sent at,Bot,") {
		t.Errorf("the file: %.200s", r.body)
	}
	call(422, "POST /api/v1/extractions", "/api/v1/extractions", token, map[string]any{"type": "notifications_summary",
		"from": s.today(-90), "to": s.today(0)})
	call(404, "GET /api/v1/extractions/{id}", "/api/v1/extractions/999999", token, nil)
	call(204, "DELETE /api/v1/extractions/{id}", "/api/v1/extractions/"+e.ID, token, nil)
	call(404, "GET /api/v1/extractions/{id}/file", "/api/v1/extractions/"+e.ID+"/file", token, nil)
}

// TestExtractions asks for extractions over the API as two tenants: each file holds its own tenant's
// messages only, and neither tenant sees, downloads or deletes the other's.
func TestExtractions(t *testing.T) {
	s := newServer(t)
	a := setupTenant(t, s, "alpha", "1110000001", "5511987650001")
	b := setupTenant(t, s, "bravo", "2220000002", "5511987650002")
	s.waitFor(a.moWAMID)
	s.waitFor(b.moWAMID)
	in := map[string]any{"type": "notifications_summary", "from": s.today(-1), "to": s.today(0)}

	var ea, eb extractionJSON
	s.must(202, "POST", "/api/v1/extractions", a.token, in, &ea)
	s.must(202, "POST", "/api/v1/extractions", b.token, in, &eb)
	if ea.Status != "queued" || ea.ID == "" {
		t.Errorf("asked for: %+v", ea)
	}
	ea, eb = s.waitExtraction(ea.ID, a.token), s.waitExtraction(eb.ID, b.token)
	if ea.Status != "ready" || ea.Rows != 1 || ea.Progress != 1 || ea.Bytes == 0 {
		t.Fatalf("A's extraction: %+v", ea)
	}
	r := s.do("GET", "/api/v1/extractions/"+ea.ID+"/file", a.token, nil)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][4] != a.phone || rows[0][0] != "Enviada em" {
		t.Errorf("A's file (%v): %q", err, rows)
	}
	// B's token gets nothing of A's, by any path.
	for _, path := range []string{"/api/v1/extractions/" + ea.ID, "/api/v1/extractions/" + ea.ID + "/file"} {
		if r := s.do("GET", path, b.token, nil); r.code != 404 {
			t.Errorf("B GET %s: %d %s, want 404", path, r.code, r.body)
		}
	}
	if r := s.do("DELETE", "/api/v1/extractions/"+ea.ID, b.token, nil); r.code != 404 {
		t.Errorf("B DELETE A's extraction: %d %s", r.code, r.body)
	}
	var list struct{ Rows []extractionJSON }
	s.must(200, "GET", "/api/v1/extractions", b.token, nil, &list)
	if len(list.Rows) != 1 || list.Rows[0].ID != eb.ID {
		t.Errorf("B's list: %+v, want only %s", list.Rows, eb.ID)
	}
	// A subaccount that is not the token's is refused, and nothing is queued.
	if r := s.do("POST", "/api/v1/extractions", a.token, map[string]any{"type": "notifications_users", "from": s.today(-1),
		"to": s.today(0), "subaccount": b.subaccount}); r.code != 403 {
		t.Errorf("A asking for B's subaccount: %d %s", r.code, r.body)
	}
	// The admin's extraction of every subaccount holds both messages.
	var all extractionJSON
	s.must(202, "POST", "/api/v1/extractions", adminToken, in, &all)
	if all = s.waitExtraction(all.ID, adminToken); all.Rows != 2 {
		t.Errorf("the admin's extraction: %+v", all)
	}
	s.must(200, "GET", "/api/v1/extractions", a.token, nil, &list)
	if len(list.Rows) != 1 {
		t.Errorf("A's list after the admin's extraction: %+v", list.Rows)
	}
}

// TestExtractionsRefused: requests the manager refuses queue nothing.
func TestExtractionsRefused(t *testing.T) {
	s := newServer(t)
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{fmt.Sprintf(`{"type":"notifications_summary","from":%q,"to":%q}`, s.today(-90), s.today(0)), 422, "more than 90 days"},
		{fmt.Sprintf(`{"type":"notifications_summary","from":%q,"to":%q}`, s.today(-5*366), s.today(-5*366+3)), 422, "years ago"},
		{fmt.Sprintf(`{"type":"everything","from":%q,"to":%q}`, s.today(-1), s.today(0)), 422, "type must be one of"},
		{fmt.Sprintf(`{"type":"notifications_summary","from":%q,"to":%q,"format":"pdf"}`, s.today(-1), s.today(0)), 422, "format"},
		{`{"type":"notifications_summary","from":"ontem","to":"hoje"}`, 422, "YYYY-MM-DD"},
		{`{"type":"notifications_summary","from":"2026-01-01","to":"2026-01-02","colour":"red"}`, 400, "colour"},
		{`{"type":`, 400, "JSON"},
	} {
		r := s.do("POST", "/api/v1/extractions", adminToken, c.body)
		if r.code != c.code || !strings.Contains(string(r.body), c.msg) {
			t.Errorf("%s: %d %s, want %d saying %q", c.body, r.code, r.body, c.code, c.msg)
		}
	}
	for _, path := range []string{"/api/v1/extractions/abc", "/api/v1/extractions/0/file"} {
		if r := s.do("GET", path, adminToken, nil); r.code != 400 {
			t.Errorf("GET %s: %d %s, want 400", path, r.code, r.body)
		}
	}
	var list struct{ Rows []extractionJSON }
	s.must(200, "GET", "/api/v1/extractions", adminToken, nil, &list)
	if len(list.Rows) != 0 {
		t.Errorf("refused requests queued %+v", list.Rows)
	}
}
