package channels_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/channels"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// TestFallbackTemplateMustBeSendable: a channel's fallback replaces free
// text outside the window and goes without parameters, so one that needs
// parameters, is unknown or is not approved is refused when it is set, and
// the channel keeps its settings.
func TestFallbackTemplateMustBeSendable(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	admin := access.System()
	acc := access.New(st)
	svc := &channels.Service{Store: st}
	sa, err := acc.CreateSubaccount(ctx, admin, access.SubaccountInput{Name: "Loja"})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := svc.Create(ctx, admin, channels.Input{SubaccountID: sa.ID, Name: "Loja", PhoneNumberID: "106540352242922", WABAID: "102290129340398"})
	if err != nil {
		t.Fatal(err)
	}
	body := func(text string) json.RawMessage {
		b, _ := json.Marshal([]map[string]string{{"type": "BODY", "text": text}})
		return b
	}
	if err := st.UpsertTemplates(ctx, sa.ID, []domain.Template{
		{WABAID: ch.WABAID, Name: "lembrete_pagamento", Language: "pt_BR", Category: "utility", Status: "APPROVED", Components: body("{{1}}, sua fatura de {{2}} vence em {{3}}.")},
		{WABAID: ch.WABAID, Name: "retomar_atendimento", Language: "pt_BR", Category: "utility", Status: "APPROVED", Components: body("Olá! Responda aqui para continuarmos.")},
		{WABAID: ch.WABAID, Name: "em_analise", Language: "pt_BR", Category: "utility", Status: "PENDING", Components: body("Olá!")},
	}); err != nil {
		t.Fatal(err)
	}
	set := func(name string) error {
		lang := "pt_BR"
		_, err := svc.Update(ctx, admin, ch.ID, channels.Settings{FallbackTemplate: &name, FallbackLanguage: &lang})
		return err
	}
	for name, want := range map[string]string{
		"lembrete_pagamento": "takes 3 body parameters",
		"nao_existe":         "is not a template of this number's WhatsApp account",
		"em_analise":         "is PENDING, not approved",
	} {
		err := set(name)
		if domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(domain.ErrorMessage(err), want) {
			t.Errorf("fallback %s: %v, want %q", name, err, want)
		}
	}
	if got, _ := svc.Get(ctx, admin, ch.ID); got.FallbackTemplate != "" {
		t.Errorf("a refused fallback was stored: %q", got.FallbackTemplate)
	}
	if err := set("retomar_atendimento"); err != nil {
		t.Fatalf("a fallback without parameters: %v", err)
	}
	if got, _ := svc.Get(ctx, admin, ch.ID); got.FallbackTemplate != "retomar_atendimento" {
		t.Errorf("fallback stored as %q", got.FallbackTemplate)
	}
	// Other settings change without the fallback being checked again.
	mps := 50
	if _, err := svc.Update(ctx, admin, ch.ID, channels.Settings{ThroughputMPS: &mps}); err != nil {
		t.Errorf("throughput: %v", err)
	}
}
