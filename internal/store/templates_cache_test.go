package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// Template remembers what it read, but a template this process changes —
// paused by a status webhook, its components synced — is read again at
// once: a campaign's next send sees it.
func TestTemplateReadAgainAfterItsChange(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	sa := &domain.Subaccount{Name: "Loja"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	tpl := domain.Template{WABAID: rcpt.WABAID, MetaID: "T1", Name: "promo", Language: "pt_BR", Category: "MARKETING",
		Status: "APPROVED", Components: json.RawMessage(`[{"type":"BODY","text":"Oi {{1}}"}]`)}
	if err := st.UpsertTemplates(ctx, sa.ID, []domain.Template{tpl}); err != nil {
		t.Fatal(err)
	}
	read := func() *domain.Template {
		t.Helper()
		got, err := st.Template(ctx, rcpt.WABAID, "promo", "pt_BR")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := read(); got.Status != "APPROVED" || read().Status != "APPROVED" {
		t.Fatalf("status %s, want APPROVED", got.Status)
	}
	now := time.Now()
	batch := &domain.WebhookBatch{Templates: []domain.TemplateEvent{{WABAID: rcpt.WABAID, Field: "message_template_status_update",
		TemplateID: "T1", Name: "promo", Language: "pt_BR", Status: "PAUSED", Reason: "QUALITY", Timestamp: now.Add(time.Second)}}}
	if _, err := st.ApplyWebhooks(ctx, []store.InboxBatch{{InboxID: 1, ReceivedAt: now, Batch: batch}}, 1); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Status != "PAUSED" {
		t.Fatalf("after the status webhook: %s, want PAUSED", got.Status)
	}
	tpl.Status, tpl.Components = "APPROVED", json.RawMessage(`[{"type":"BODY","text":"Olá {{1}}, {{2}}"}]`)
	if err := st.UpsertTemplates(ctx, sa.ID, []domain.Template{tpl}); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Status != "APPROVED" || string(got.Components) != string(tpl.Components) {
		t.Fatalf("after the sync: %s %s", got.Status, got.Components)
	}
}
