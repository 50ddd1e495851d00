package whatsapp

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ticksapp/ticks/internal/domain"
)

const acceptMeta = `"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}`

func acceptEnvelopeOf(value string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":` + value + `}]}]}`)
}

const acceptValid = `{"id":"wamid.VALID","status":"delivered","timestamp":"1750000000","recipient_id":"5511987654321"}`

func TestAcceptWebhook(t *testing.T) {
	for _, c := range []struct {
		name     string
		body     string
		statuses []string // wamids applied
		where    []string // the parts set aside
		reason   string   // the first part's reason says
	}{
		{"a deleted status beside a valid one", string(acceptEnvelopeOf(`{` + acceptMeta + `,"statuses":[` + acceptValid +
			`,{"id":"wamid.D","status":"deleted","timestamp":"1750000001"}]}`)),
			[]string{"wamid.VALID"}, []string{"entry[0].changes[0].statuses[1]"}, `statuses[1] (wamid.D): unknown status "deleted"`},
		{"a field of another type", string(acceptEnvelopeOf(`{` + acceptMeta + `,"statuses":[{"id":"wamid.N","status":"sent","timestamp":"1","pricing":"free"},` + acceptValid + `]}`)),
			[]string{"wamid.VALID"}, []string{"entry[0].changes[0].statuses[0]"}, "pricing is a JSON string; want an object"},
		{"an inbound message without type", string(acceptEnvelopeOf(`{` + acceptMeta + `,"statuses":[` + acceptValid + `],"messages":[{"id":"wamid.M","from":"1","timestamp":"1"}]}`)),
			[]string{"wamid.VALID"}, []string{"entry[0].changes[0].messages[0]"}, "type"},
		{"a second change unreadable", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{` + acceptMeta +
			`,"statuses":[` + acceptValid + `]}},{"field":"user_preferences","value":{"user_preferences":"stop"}}]}]}`,
			[]string{"wamid.VALID"}, []string{"entry[0].changes[1]"}, "entry[0].changes[1]"},
		{"a second entry unreadable", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{` + acceptMeta +
			`,"statuses":[` + acceptValid + `]}}]},{"id":"2"}]}`,
			[]string{"wamid.VALID"}, []string{"entry[1]"}, `entry[1] has no "changes"`},
		{"an odd entry time", `{"object":"whatsapp_business_account","entry":[{"id":"1","time":"noon","changes":[]}]}`,
			nil, []string{"entry[0]"}, "time"},
		{"another object", `{"object":"page","entry":[]}`, nil, []string{"webhook body"}, `webhook object is "page"`},
		{"a string", `"hello"`, nil, []string{"webhook body"}, "not a JSON object"},
		{"null", `null`, nil, []string{"webhook body"}, "not a JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := AcceptWebhook([]byte(c.body))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			var got []string
			for _, s := range b.Statuses {
				got = append(got, s.WAMID)
			}
			if !reflect.DeepEqual(got, c.statuses) {
				t.Errorf("statuses %v, want %v", got, c.statuses)
			}
			var where []string
			for _, u := range b.Unreadable {
				where = append(where, u.Where)
				if !json.Valid(u.Value) || u.Field == "" {
					t.Errorf("part %+v: value not JSON or no field", u)
				}
			}
			if !reflect.DeepEqual(where, c.where) {
				t.Fatalf("set aside %v, want %v: %+v", where, c.where, b.Unreadable)
			}
			if !strings.Contains(b.Unreadable[0].Reason, c.reason) {
				t.Errorf("reason %q does not say %q", b.Unreadable[0].Reason, c.reason)
			}
		})
	}
	for _, body := range []string{``, `{"object":`, `{"a":1}x`, "\xff"} {
		if _, err := AcceptWebhook([]byte(body)); err == nil {
			t.Errorf("%q (not JSON) accepted", body)
		}
	}
	// The part set aside keeps the recipient it was addressed to, so it is
	// shown to the admins of that number.
	b, _ := AcceptWebhook(acceptEnvelopeOf(`{` + acceptMeta + `,"statuses":[{"id":"x","status":"gone"}]}`))
	if r := b.Unreadable[0].Recipient; r.PhoneNumberID != "106540352242922" || r.WABAID != "102290129340398" {
		t.Errorf("recipient %+v, want the metadata's", r)
	}
}

// FuzzAcceptWebhook: no signed body that is valid JSON is ever refused; a
// body ParseWebhook reads is read the same; and a valid status beside any
// JSON value in a statuses array is always kept.
func FuzzAcceptWebhook(f *testing.F) {
	f.Add(statusPayload)
	for _, s := range malformedSeeds {
		f.Add([]byte(s))
	}
	for _, rel := range webhookFixtures(f) {
		f.Add(readFile(f, filepath.Join(fixturesDir, rel)))
	}
	f.Add([]byte(`{"id":"w","status":"deleted","timestamp":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(body []byte) *domain.WebhookBatch {
			b, err := AcceptWebhook(body)
			if !json.Valid(body) {
				var de *domain.Error
				if err == nil || !errors.As(err, &de) || de.Code != domain.EINVALID {
					t.Fatalf("a body that is not JSON: %v, want an EINVALID error", err)
				}
				return nil
			}
			if err != nil || b == nil {
				t.Fatalf("valid JSON refused: %v", err)
			}
			if parsed, err := ParseWebhook(body); err == nil && !reflect.DeepEqual(parsed, b) {
				t.Fatalf("AcceptWebhook read %+v, ParseWebhook %+v", b, parsed)
			}
			for _, u := range b.Unreadable {
				if u.Reason == "" || u.Field == "" || u.Where == "" || !json.Valid(u.Value) {
					t.Fatalf("part set aside without reason, field, place or JSON value: %+v", u)
				}
			}
			return b
		}
		check(body)
		if !json.Valid(body) {
			return
		}
		b := check(acceptEnvelopeOf(`{` + acceptMeta + `,"statuses":[` + string(body) + `,` + acceptValid + `]}`))
		found := false
		for _, s := range b.Statuses {
			found = found || s.WAMID == "wamid.VALID"
		}
		if !found {
			t.Fatalf("the valid status beside %s was lost: %+v", body, b)
		}
	})
}
