package hook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPost(t *testing.T) {
	var got map[string]any
	status := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with %q, want a POST of JSON", r.Method, r.Header.Get("Content-Type"))
		}
		json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := Post(ctx, nil, srv.URL, map[string]int{"n": 1}); err != nil || got["n"] != 1.0 {
		t.Fatalf("Post: %v, the server read %v", err, got)
	}
	status = http.StatusBadGateway
	if err := Post(ctx, srv.Client(), srv.URL, 1); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("a 502 answer: %v, want an error saying 502", err)
	}
	if err := Post(ctx, nil, "http://127.0.0.1:1/", 1); err == nil {
		t.Error("a refused connection is not an error")
	}
}
