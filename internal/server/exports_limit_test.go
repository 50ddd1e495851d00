package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/reports"
)

// TestExportsBeyondTheLimitWaitThenRetry (issue 13, 6): when every export
// slot of the server is taken, a download waits its turn, then is answered
// 429 with Retry-After and a message saying to try again — through the API
// and the web page alike; once a slot is free, the same download works.
func TestExportsBeyondTheLimitWaitThenRetry(t *testing.T) {
	s := newServer(t)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "ana@example.com", "role": "admin", "password": "uma-senha-boa"}, nil)
	web := newWebClient(t, s)
	web.login("ana@example.com", "uma-senha-boa")
	svc := s.srv.Services.Reports
	full := &reports.ExportLimiter{PerServer: 0, PerScope: 2, Wait: 100 * time.Millisecond} // every slot taken
	svc.Exports = full
	start := time.Now()
	req, _ := http.NewRequest("GET", s.url+"/api/v1/reports/messages?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(e.Error.Message, "too many exports") {
		t.Errorf("API export with no slot: %d, Retry-After %q, %+v", resp.StatusCode, resp.Header.Get("Retry-After"), e.Error)
	}
	if waited := time.Since(start); waited < full.Wait {
		t.Errorf("refused after %v, before its turn could come (%v)", waited, full.Wait)
	}
	resp, err = web.http.Get(s.url + "/reports/messages/export?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("page export with no slot: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	svc.Exports = &reports.ExportLimiter{PerServer: 1, PerScope: 1, Wait: time.Second}
	for i := range 2 { // the first export's slot is freed for the second
		if r := s.do("GET", "/api/v1/reports/messages?format=csv", adminToken, nil); r.code != 200 {
			t.Errorf("export %d with a free slot: %d %s", i+1, r.code, r.body)
		}
	}
}
