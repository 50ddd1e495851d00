package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestLoginThrottledOnThePage tries wrong passwords on the login form: the
// sixth from the same address is refused with 429, a clear message and
// Retry-After, the right password too while the lock lasts; nothing else
// changed.
func TestLoginThrottledOnThePage(t *testing.T) {
	s := newServer(t)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "ana@example.com", "role": "admin", "password": "uma-senha-boa"}, nil)
	c := newWebClient(t, s)
	try := func(pw string) (*http.Response, string) {
		c.get("/login")
		resp, err := c.http.PostForm(s.url+"/login", url.Values{"csrf": {c.csrf}, "email": {"ana@example.com"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, b.String()
	}
	for i := 0; i < 5; i++ {
		if resp, _ := try("errada"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := try("errada")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Muitas tentativas sem sucesso") {
		t.Errorf("sixth try: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := try("uma-senha-boa"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password while locked: %d, want 429", resp.StatusCode)
	}
}

// TestTokensThrottledOnTheAPI sends random tokens from one address, then
// checks the bearer scheme is case-insensitive.
func TestTokensThrottledOnTheAPI(t *testing.T) {
	s := newServer(t)
	if r := s.do("GET", "/api/v1/me", "", nil, "Authorization", "bearer "+adminToken); r.code != 200 {
		t.Errorf("lower-case scheme: %d %s", r.code, r.body)
	}
	if r := s.do("GET", "/api/v1/me", "", nil, "Authorization", "BEARER  "+adminToken); r.code != 200 {
		t.Errorf("upper-case scheme: %d %s", r.code, r.body)
	}
	if r := s.do("GET", "/api/v1/me", "", nil, "Authorization", "Basic "+adminToken); r.code != 401 {
		t.Errorf("another scheme: %d %s", r.code, r.body)
	}
	for i := 0; i < 20; i++ {
		if r := s.do("GET", "/api/v1/me", fmt.Sprintf("tk_guess%d", i), nil); r.code != 401 {
			t.Fatalf("guess %d: %d", i+1, r.code)
		}
	}
	r := s.do("GET", "/api/v1/me", "tk_guess21", nil)
	if r.code != 429 || !strings.Contains(string(r.body), `"too_many_requests"`) {
		t.Errorf("guess 21: %d %s", r.code, r.body)
	}
}

// TestThrottleMetric: a lock shows on /metrics.
func TestThrottleMetric(t *testing.T) {
	s := newServer(t)
	for i := 0; i < 21; i++ {
		s.do("GET", "/api/v1/me", fmt.Sprintf("tk_guess%d", i), nil)
	}
	if r := s.do("GET", "/metrics", "", nil); !strings.Contains(string(r.body), `ticks_auth_locks_total{kind="token"} 1`) {
		t.Errorf("no lock counted on /metrics")
	}
}
