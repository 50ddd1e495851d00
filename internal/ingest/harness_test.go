package ingest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ticksapp/ticks/internal/ingest"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

const testSecret = "test-app-secret"

// harness is a webhook endpoint with its inbox and processor running on a
// real database.
type harness struct {
	t     testing.TB
	store *store.Store
	inbox *ingest.Inbox
	proc  *ingest.Processor
	srv   *httptest.Server
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	st := storetest.Open(t)
	m := ingest.NewMetrics(prometheus.NewRegistry())
	h := &harness{t: t, store: st, inbox: ingest.NewInbox(st, m)}
	h.proc = ingest.NewProcessor(st, m, h.inbox.Stored())
	h.proc.TakeHandoff(h.inbox)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { h.inbox.Run(ctx); done <- struct{}{} }()
	go func() { h.proc.Run(ctx); done <- struct{}{} }()
	wh := &ingest.Handler{Inbox: h.inbox, Metrics: m, AppSecret: []byte(testSecret), VerifyToken: "verify-me", MaxBytes: 1 << 20}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /webhooks/whatsapp", wh.Verify)
	mux.HandleFunc("POST /webhooks/whatsapp", wh.Receive)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		h.srv.Close()
		cancel()
		<-done
		<-done
	})
	return h
}

// post sends a signed webhook and returns the status code.
func (h *harness) post(body []byte) int {
	h.t.Helper()
	return h.postSigned(body, whatsapp.Sign([]byte(testSecret), body))
}

func (h *harness) postSigned(body []byte, sig string) int {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.srv.URL+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("post: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// mustPost posts and requires a 200.
func (h *harness) mustPost(body []byte) {
	h.t.Helper()
	if code := h.post(body); code != http.StatusOK {
		h.t.Fatalf("webhook answered %d, want 200; body %s", code, body)
	}
}

// settle waits until every stored webhook is applied.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := h.store.InboxStats(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		if st.Applied >= st.LastID && h.proc.Applied() >= st.LastID {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatal("processor did not catch up within 30s")
}
