package whatsapp

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fastSeeds are bodies at the edges of what decodeFast takes, each either
// decoded exactly as encoding/json does or left to it.
var fastSeeds = []string{
	`{"object":"whatsapp_business_account","entry":[]}`,
	`{"object":"whatsapp_business_account","entry":[{"id":102290129340398,"time":1750263900,"changes":[]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[]}}]}]}`,
	` {"entry":[{"changes":[{"value":{"statuses":[{"id":"w","pricing":{"billable":false},"conversation":{"origin":{}}}]}}]}],"object":"x"} `,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","errors":[{"code":-0,"error_data":{"details":"é"}}]}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","errors":[{"code":1.0}]}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"ID":"w"}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","id":"v"}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w\u0041"}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","timestamp":null}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"x","value":{"unknown":[1,-2.5e3,true,null,{"a":[{}]}],"timestamp":"12"}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"x","value":{"n":01}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"x","value":{"n":1.}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"x","value":{"s":"` + "\x01" + `"}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"` + "\xff" + `"}}}]}]}`,
	`{"object":"whatsapp_business_account"} x`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w"},]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","pricing":{"billable":truex}}]}}]}]}`,
}

// FuzzDecodeFast checks decodeFast against encoding/json: whatever body it
// decodes, encoding/json decodes too, to the same envelope.
func FuzzDecodeFast(f *testing.F) {
	f.Add(statusPayload)
	for _, s := range append(fastSeeds, malformedSeeds...) {
		f.Add([]byte(s))
	}
	for _, rel := range webhookFixtures(f) {
		f.Add(readFile(f, filepath.Join(fixturesDir, rel)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast envelope
		if !decodeFast(body, &fast) {
			return
		}
		var std envelope
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("decodeFast took a body encoding/json refuses (%v): %q", err, body)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("decodeFast and encoding/json differ on %q:\nfast %+v\nstd  %+v", body, fast, std)
		}
	})
}

// The fast decoder takes the seeds it is meant to take, decoding them as
// encoding/json does, and leaves the others to it.
func TestDecodeFastSeeds(t *testing.T) {
	var env envelope
	if !decodeFast(statusPayload, &env) || len(env.Entry) != 1 || len(env.Entry[0].Changes[0].Value.Statuses) != 1 {
		t.Errorf("statusPayload: decoded to %+v", env)
	}
	for i, s := range fastSeeds {
		var env envelope
		got := decodeFast([]byte(s), &env)
		want := i < 5 || i == 10
		if got != want {
			t.Errorf("seed %d %q: decodeFast = %v, want %v", i, s, got, want)
		}
		if got {
			var std envelope
			if err := json.Unmarshal([]byte(s), &std); err != nil || !reflect.DeepEqual(env, std) {
				t.Errorf("seed %d: fast %+v, encoding/json %+v (%v)", i, env, std, err)
			}
		}
	}
}

// The fast decoder takes every status webhook of the fixtures.
func TestDecodeFastTakesStatusWebhooks(t *testing.T) {
	n := 0
	for _, rel := range webhookFixtures(t) {
		body := readFile(t, filepath.Join(fixturesDir, rel))
		if !strings.Contains(string(body), `"statuses"`) || strings.Contains(string(body), `"messages": [`) {
			continue
		}
		n++
		var env envelope
		if !decodeFast(body, &env) {
			t.Errorf("%s: a status webhook left to encoding/json", rel)
		}
	}
	if n < 10 {
		t.Errorf("only %d status webhooks among the fixtures", n)
	}
}
