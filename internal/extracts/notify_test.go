package extracts_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
)

// TestNotices: an extraction done is a notice of its requester's until they download the file or
// dismiss it; a failed one too; nobody else sees it.
func TestNotices(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.shopUser()
	ids := func(list []*domain.Extraction, err error) []int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []int64{}
		for _, e := range list {
			out = append(out, e.ID)
		}
		return out
	}
	queued, err := fx.svc.Request(ctx, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(fx.svc.Notices(ctx, p)); len(got) != 0 {
		t.Errorf("notices while queued: %v", got)
	}
	a := fx.extract(t, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"})
	fx.now = fx.now.Add(time.Second)
	b := fx.extract(t, p, extracts.Input{Type: "event_tracks", From: "2026-11-20", To: "2026-11-20"})
	fx.now = fx.now.Add(time.Second)
	if err := fx.svc.Fail(ctx, queued.ID, domain.Errorf(domain.EINVALID, "disk full")); err != nil {
		t.Fatal(err)
	}
	if got := ids(fx.svc.Notices(ctx, p)); len(got) != 3 || got[0] != queued.ID || got[1] != b.ID || got[2] != a.ID {
		t.Errorf("notices %v, want the failed one, then %d and %d", got, b.ID, a.ID)
	}
	other := &access.Principal{Role: domain.RoleSupervisor, UserID: fx.user + 1000, Scope: []int64{fx.shop}}
	if got := ids(fx.svc.Notices(ctx, other)); len(got) != 0 {
		t.Errorf("another user's notices: %v", got)
	}
	if err := fx.svc.Seen(ctx, other, a.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("another user dismissing: %v", err)
	}
	f, err := fx.svc.Open(ctx, p, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := fx.svc.Seen(ctx, p, queued.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(fx.svc.Notices(ctx, p)); len(got) != 1 || got[0] != b.ID {
		t.Errorf("after a download and a dismissal: %v, want %d", got, b.ID)
	}
}

// TestWebhook: the webhook receives the extraction ready with where to download it, or failed with
// why; an answer other than 2xx is an error for the job to retry.
func TestWebhook(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.shopUser()
	var got []extracts.WebhookPayload
	status := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var pl extracts.WebhookPayload
		if err := json.Unmarshal(b, &pl); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %s (%v)", r.Method, r.Header.Get("Content-Type"), b, err)
		}
		got = append(got, pl)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	fx.svc.WebhookURL = srv.URL + "/hook?token=x"
	e := fx.extract(t, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"})
	if err := fx.svc.Webhook(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Event != "extraction.ready" || got[0].Extraction.ID != e.ID || got[0].Extraction.Rows != 2 ||
		got[0].Extraction.File != "/api/v1/extractions/"+itoa(e.ID)+"/file" || got[0].Extraction.Name != "ticks-notifications-users-2026-11-20-2026-11-20.csv" ||
		got[0].Extraction.ExpiresAt == nil {
		t.Errorf("payload %+v", got)
	}
	failed, err := fx.svc.Request(ctx, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"})
	if err != nil {
		t.Fatal(err)
	}
	fx.svc.Fail(ctx, failed.ID, domain.Errorf(domain.EINVALID, "disk full"))
	status = http.StatusBadGateway
	if err := fx.svc.Webhook(ctx, failed.ID); err == nil {
		t.Error("a 502 answer is no error")
	}
	if last := got[len(got)-1]; last.Event != "extraction.failed" || last.Extraction.Error != "disk full" || last.Extraction.File != "" {
		t.Errorf("failed payload %+v", last)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
