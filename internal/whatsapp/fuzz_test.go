package whatsapp

import (
	"errors"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/ticksapp/ticks/internal/domain"
)

// malformedSeeds steer the fuzzer towards the envelope's edges.
var malformedSeeds = []string{
	``,
	`null`,
	`[]`,
	`{}`,
	`{"object":"whatsapp_business_account"}`,
	`{"object":"whatsapp_business_account","entry":[{}]}`,
	`{"object":"whatsapp_business_account","entry":[{"id":1,"time":"1","changes":[{"field":"messages","value":null}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"","status":"sent"}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"bogus","timestamp":"99999999999999"}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"w","type":"location","location":{"latitude":"1"}}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"business_capability_update","value":{"max_daily_conversations_per_business":-1e3}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"message_template_status_update","value":{"message_template_id":-0}}]}]}`,
}

func FuzzParseWebhook(f *testing.F) {
	f.Add(statusPayload)
	for _, s := range malformedSeeds {
		f.Add([]byte(s))
	}
	for _, rel := range webhookFixtures(f) {
		f.Add(readFile(f, filepath.Join(fixturesDir, rel)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		batch, err := ParseWebhook(body)
		if err != nil {
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.EINVALID || de.Message == "" {
				t.Fatalf("error %T %v is not an EINVALID *domain.Error", err, err)
			}
			return
		}
		if batch == nil {
			t.Fatal("nil batch without an error")
		}
		for _, s := range batch.Statuses {
			if s.WAMID == "" {
				t.Errorf("status with an empty WAMID: %+v", s)
			}
			if _, ok := statusState(string(s.State)); !ok || !s.State.Valid() {
				t.Errorf("status with state %q", s.State)
			}
		}
		for _, m := range batch.Messages {
			if m.WAMID == "" || m.Type == "" {
				t.Errorf("message without id or type: %+v", m)
			}
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	f.Add(testSecret, statusPayload, Sign(testSecret, statusPayload))
	f.Add(testSecret, []byte(`{"text":"ação 😀"}`), Sign(testSecret, []byte(`{"text":"a\u00e7\u00e3o \ud83d\ude00"}`)))
	f.Add([]byte{}, []byte("{}"), "sha256=")
	f.Add([]byte("k"), []byte("\xff\xfe"), "sha256=zz")
	f.Fuzz(func(t *testing.T, secret, body []byte, header string) {
		VerifySignature(secret, body, header)
		if len(secret) == 0 {
			if VerifySignature(secret, body, Sign(secret, body)) {
				t.Fatal("an empty secret verified")
			}
			return
		}
		if !VerifySignature(secret, body, Sign(secret, body)) {
			t.Fatal("Sign output does not verify")
		}
		if !utf8.Valid(body) {
			return
		}
		escaped := appendUnicodeEscaped(nil, body, lowerHex)
		if string(escaped) != escapeReference(string(body)) {
			t.Fatalf("escaped %q as %q, want %q", body, escaped, escapeReference(string(body)))
		}
		if !VerifySignature(secret, body, Sign(secret, escaped)) {
			t.Fatal("a signature over the escaped form does not verify")
		}
	})
}
