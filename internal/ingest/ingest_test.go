package ingest_test

import (
	"context"
	"testing"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/simulator"
)

var biz = simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}

func TestWebhookToMessage(t *testing.T) {
	h := newHarness(t)
	h.mustPost(biz.StatusWebhook(simulator.Status{ID: "wamid.X1", Status: "sent", Timestamp: "1750263773", RecipientID: "5511987654321"}))
	h.mustPost(biz.StatusWebhook(simulator.Status{ID: "wamid.X1", Status: "read", Timestamp: "1750263900", RecipientID: "5511987654321"}))
	h.settle()
	m, err := h.store.MessageByWAMID(context.Background(), "wamid.X1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != domain.StatusRead || m.At.Unix() != 1750263773 || m.ReadAt.Unix() != 1750263900 {
		t.Errorf("got status %s at %v read %v", m.Status, m.At, m.ReadAt)
	}
}
