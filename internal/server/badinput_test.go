package server_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

// TestBadInputIsRefusedAndChangesNothing sends malformed webhooks and API
// requests: each gets the right 4xx with a JSON error that says what is
// wrong, and none of them stores anything.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	s := newServer(t)
	var viewer struct {
		Token string `json:"token"`
	}
	var sa struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Loja"}, &sa)
	s.must(201, "POST", "/api/v1/tokens", adminToken, map[string]any{"name": "v", "role": "viewer", "subaccount_id": sa.ID}, &viewer)

	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}
	good := biz.StatusWebhook(simulator.Status{ID: "wamid.OK", Status: "sent", Timestamp: "1750000000", RecipientID: "5511987654321"})
	sign := func(b []byte) string { return whatsapp.Sign([]byte(appSecret), b) }
	huge := append([]byte(`{"object":"whatsapp_business_account","entry":[],"pad":"`), []byte(strings.Repeat("x", 70<<10))...)
	huge = append(huge, `"}`...)

	type req struct {
		name     string
		method   string
		path     string
		token    string
		body     any
		sig      string // for webhooks: "" unsigned, "sign" to sign the body
		wantCode int
		wantMsg  string
	}
	cases := []req{
		{"webhook unsigned", "POST", "/webhooks/whatsapp", "", good, "", 401, "missing X-Hub-Signature-256"},
		{"webhook bad signature", "POST", "/webhooks/whatsapp", "", good, "sha256=" + strings.Repeat("0", 64), 401, "does not match"},
		{"webhook sha1 signature", "POST", "/webhooks/whatsapp", "", good, "sha1=abc", 401, "does not match"},
		{"webhook signed with another secret", "POST", "/webhooks/whatsapp", "", good, whatsapp.Sign([]byte("other"), good), 401, "does not match"},
		{"webhook malformed JSON", "POST", "/webhooks/whatsapp", "", []byte(`{"object":`), "sign", 400, "JSON"},
		{"webhook empty body", "POST", "/webhooks/whatsapp", "", []byte(``), "sign", 400, ""},
		// A signed body that is JSON is kept whatever its shape, its odd
		// parts set aside: TestSignedWebhooksAreKept (issue 13, 2).
		{"webhook too large", "POST", "/webhooks/whatsapp", "", huge, "sign", 413, "bytes"},
		{"verify wrong token", "GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", "", nil, "", 403, "verify_token"},
		{"verify wrong mode", "GET", "/webhooks/whatsapp?hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1", "", nil, "", 400, "hub.mode"},
		{"api without token", "GET", "/api/v1/subaccounts", "", nil, "", 401, "bearer token"},
		{"api unknown token", "GET", "/api/v1/subaccounts", "tk_nope", nil, "", 401, "invalid or revoked"},
		{"report bad direction", "GET", "/api/v1/reports/messages?direction=sideways", adminToken, nil, "", 400, "direction"},
		{"report bad from", "GET", "/api/v1/reports/messages?from=last-tuesday", adminToken, nil, "", 400, "from"},
		{"report from after to", "GET", "/api/v1/reports/messages?from=2026-05-02&to=2026-05-01", adminToken, nil, "", 400, "before"},
		{"report year out of range", "GET", "/api/v1/reports/messages?from=1900-01-01", adminToken, nil, "", 400, "out of range"},
		{"report unknown status", "GET", "/api/v1/reports/messages?status=lost", adminToken, nil, "", 400, "lost"},
		{"report limit zero", "GET", "/api/v1/reports/messages?limit=0", adminToken, nil, "", 400, "limit"},
		{"report limit huge", "GET", "/api/v1/reports/messages?limit=5000", adminToken, nil, "", 400, "limit"},
		{"report forged cursor", "GET", "/api/v1/reports/messages?cursor=zzz", adminToken, nil, "", 400, "cursor"},
		{"report unknown parameter", "GET", "/api/v1/reports/messages?colour=blue", adminToken, nil, "", 400, "colour"},
		{"report bad phone", "GET", "/api/v1/reports/messages?phone=abc", adminToken, nil, "", 400, "phone"},
		{"report bad session", "GET", "/api/v1/reports/messages?session=maybe", adminToken, nil, "", 400, "session"},
		{"report bad conversation type", "GET", "/api/v1/reports/messages?conversation_type=chat", adminToken, nil, "", 400, "conversation_type"},
		{"report unsupported format", "GET", "/api/v1/reports/messages?format=doc", adminToken, nil, "", 400, "format"},
		{"consumption malformed month", "GET", "/api/v1/reports/consumption?month=2026-13", adminToken, nil, "", 400, "month"},
		{"consumption month as a date", "GET", "/api/v1/reports/consumption?month=2026-10-01", adminToken, nil, "", 400, "month"},
		{"consumption month before 2015", "GET", "/api/v1/reports/consumption?month=2014-12", adminToken, nil, "", 400, "month"},
		{"consumption month in the future", "GET", "/api/v1/reports/consumption?month=2999-01", adminToken, nil, "", 400, "month"},
		{"consumption bad subaccount", "GET", "/api/v1/reports/consumption?subaccount=abc", adminToken, nil, "", 400, "subaccount"},
		{"consumption unknown phone number", "GET", "/api/v1/reports/consumption?phone_number_id=999", adminToken, nil, "", 400, "phone_number_id"},
		{"consumption unknown parameter", "GET", "/api/v1/reports/consumption?colour=blue", adminToken, nil, "", 400, "colour"},
		{"consumption unsupported format", "GET", "/api/v1/reports/consumption?format=doc", adminToken, nil, "", 400, "format"},
		{"consumption as a viewer", "GET", "/api/v1/reports/consumption", viewer.Token, nil, "", 403, "admin"},
		{"budget without amount", "PUT", fmt.Sprintf("/api/v1/budgets/%d", sa.ID), adminToken, map[string]any{}, "", 400, "amount"},
		{"budget amount zero", "PUT", fmt.Sprintf("/api/v1/budgets/%d", sa.ID), adminToken, map[string]any{"amount": "0"}, "", 400, "amount"},
		{"budget amount a number", "PUT", fmt.Sprintf("/api/v1/budgets/%d", sa.ID), adminToken, map[string]any{"amount": 10}, "", 400, "JSON"},
		{"budget amount too precise", "PUT", fmt.Sprintf("/api/v1/budgets/%d", sa.ID), adminToken, map[string]any{"amount": "1.1234567"}, "", 400, "amount"},
		{"budget webhook not http", "PUT", fmt.Sprintf("/api/v1/budgets/%d", sa.ID), adminToken, map[string]any{"amount": "10", "webhook_url": "file:///etc/passwd"}, "", 400, "webhook_url"},
		{"budget unknown field", "PUT", fmt.Sprintf("/api/v1/budgets/%d", sa.ID), adminToken, map[string]any{"amount": "10", "limit": 1}, "", 400, "limit"},
		{"budget bad subaccount id", "PUT", "/api/v1/budgets/abc", adminToken, map[string]any{"amount": "10"}, "", 400, "id"},
		{"budget unknown subaccount", "PUT", "/api/v1/budgets/999999", adminToken, map[string]any{"amount": "10"}, "", 404, "subaccount"},
		{"budget as a viewer", "PUT", fmt.Sprintf("/api/v1/budgets/%d", sa.ID), viewer.Token, map[string]any{"amount": "10"}, "", 403, "admin"},
		{"budgets as a viewer", "GET", "/api/v1/budgets", viewer.Token, nil, "", 403, "admin"},
		{"delete no budget", "DELETE", fmt.Sprintf("/api/v1/budgets/%d", sa.ID), adminToken, nil, "", 404, "no budget"},
		{"estimate bad campaign id", "GET", "/api/v1/campaigns/x/estimate", adminToken, nil, "", 400, "id"},
		{"estimate unknown campaign", "GET", "/api/v1/campaigns/999999/estimate", adminToken, nil, "", 404, "campaign"},
		{"subaccount malformed JSON", "POST", "/api/v1/subaccounts", adminToken, "{", "", 400, "JSON"},
		{"subaccount unknown field", "POST", "/api/v1/subaccounts", adminToken, `{"name":"X","colour":"red"}`, "", 400, "colour"},
		{"subaccount empty name", "POST", "/api/v1/subaccounts", adminToken, `{"name":"  "}`, "", 400, "name"},
		{"subaccount bad time zone", "POST", "/api/v1/subaccounts", adminToken, `{"name":"Y","time_zone":"Mars/Base"}`, "", 400, "time_zone"},
		{"subaccount duplicate", "POST", "/api/v1/subaccounts", adminToken, `{"name":"Loja"}`, "", 409, "already exists"},
		{"subaccount by viewer", "POST", "/api/v1/subaccounts", viewer.Token, `{"name":"Z"}`, "", 403, "viewer"},
		{"user bad email", "POST", "/api/v1/users", adminToken, `{"email":"nobody","role":"viewer","password":"long-enough"}`, "", 400, "email"},
		{"user short password", "POST", "/api/v1/users", adminToken, `{"email":"a@b.co","role":"viewer","password":"short"}`, "", 400, "password"},
		{"user bad role", "POST", "/api/v1/users", adminToken, `{"email":"a@b.co","role":"king","password":"long-enough"}`, "", 400, "role"},
		{"token bad role", "POST", "/api/v1/tokens", adminToken, `{"name":"t","role":"god","subaccount_id":2}`, "", 400, "role"},
		{"token unknown subaccount", "POST", "/api/v1/tokens", adminToken, `{"name":"t","role":"viewer","subaccount_id":999}`, "", 400, "does not exist"},
		{"channel non-numeric phone id", "POST", "/api/v1/channels", adminToken, `{"subaccount_id":2,"name":"c","phone_number_id":"abc"}`, "", 400, "phone_number_id"},
		{"channel in unassigned", "POST", "/api/v1/channels", adminToken, `{"subaccount_id":1,"name":"c","phone_number_id":"123456"}`, "", 400, "unassigned"},
		{"message bad id", "GET", "/api/v1/messages/abc", adminToken, nil, "", 400, "neither"},
		{"message unknown", "GET", "/api/v1/messages/wamid.nothing", adminToken, nil, "", 404, "not found"},
		{"unknown endpoint", "GET", "/api/v1/nothing", adminToken, nil, "", 404, "no API endpoint"},
		{"wrong content type", "POST", "/api/v1/subaccounts", adminToken, `name=x`, "", 400, "Content-Type"},
		{"extraction over 90 days", "POST", "/api/v1/extractions", adminToken, `{"type":"notifications_summary","from":"2026-01-01","to":"2026-06-01"}`, "", 422, "more than 90 days"},
		{"extraction unknown type", "POST", "/api/v1/extractions", adminToken, `{"type":"everything","from":"2026-01-01","to":"2026-01-02"}`, "", 422, "type must be"},
		{"extraction bad id", "GET", "/api/v1/extractions/abc", adminToken, nil, "", 400, "id"},
		// Events, bots and custom reports (issue 17); a batch's bad events are in TestEvents.
		{"event malformed JSON", "POST", "/api/v1/events?subaccount=2", adminToken, `{"category":`, "", 400, "JSON"},
		{"event without category", "POST", "/api/v1/events?subaccount=2", adminToken, `{"action":"a","contact":"+5511987654321"}`, "", 400, "category is required"},
		{"event action too long", "POST", "/api/v1/events?subaccount=2", adminToken, `{"category":"c","action":"` + strings.Repeat("a", 101) + `","contact":"+5511987654321"}`, "", 400, "over 100"},
		{"event bad contact", "POST", "/api/v1/events?subaccount=2", adminToken, `{"category":"c","action":"a","contact":"abc"}`, "", 400, "not a valid phone"},
		{"event unknown contact id", "POST", "/api/v1/events?subaccount=2", adminToken, `{"category":"c","action":"a","contact":4242}`, "", 400, "not a contact"},
		{"event extras too large", "POST", "/api/v1/events?subaccount=2", adminToken, `{"category":"c","action":"a","contact":"+5511987654321","extras":{"x":"` + strings.Repeat("y", 5000) + `"}}`, "", 400, "at most 4096"},
		{"event too old", "POST", "/api/v1/events?subaccount=2", adminToken, `{"category":"c","action":"a","contact":"+5511987654321","at":"2020-01-01T00:00:00Z"}`, "", 400, "7 days"},
		{"event unknown bot", "POST", "/api/v1/events?subaccount=2", adminToken, `{"category":"c","action":"a","contact":"+5511987654321","bot":99}`, "", 400, "not a bot"},
		{"event wrong type", "POST", "/api/v1/events?subaccount=2", adminToken, `{"category":["c"],"action":"a","contact":"+5511987654321"}`, "", 400, "category must be a string"},
		{"event unknown field", "POST", "/api/v1/events?subaccount=2", adminToken, `{"category":"c","action":"a","contact":"+5511987654321","colour":1}`, "", 400, "colour"},
		{"events over 1,000", "POST", "/api/v1/events?subaccount=2", adminToken, `{"events":[` + strings.Repeat(`{"category":"c","action":"a","contact":"+5511987654321"},`, 1000) + `{}]}`, "", 413, "at most 1000"},
		{"events empty batch", "POST", "/api/v1/events?subaccount=2", adminToken, `{"events":[]}`, "", 400, "empty"},
		{"events by viewer", "POST", "/api/v1/events", viewer.Token, `{"category":"c","action":"a","contact":"+5511987654321"}`, "", 403, "viewer"},
		{"event unknown subaccount", "POST", "/api/v1/events?subaccount=999", adminToken, `{"category":"c","action":"a","contact":"+5511987654321"}`, "", 400, "subaccount 999 does not exist"},
		{"contact unknown subaccount", "POST", "/api/v1/contacts", adminToken, `{"subaccount_id":999,"phone":"+5511987654321"}`, "", 400, "subaccount 999 does not exist"},
		{"contact bad phone", "POST", "/api/v1/contacts", adminToken, `{"subaccount_id":2,"phone":"abc"}`, "", 400, "phone"},
		{"channel unknown subaccount", "POST", "/api/v1/channels", adminToken, `{"subaccount_id":999,"name":"c","phone_number_id":"123456"}`, "", 400, "subaccount 999 does not exist"},
		{"custom report unknown subaccount", "POST", "/api/v1/custom-reports", adminToken, `{"name":"r","kind":"events","subaccount_id":999,"definition":{"granularity":"day"}}`, "", 400, "subaccount 999 does not exist"},
		{"desk team unknown subaccount", "POST", "/api/v1/desk/teams", adminToken, `{"subaccount_id":999,"name":"t"}`, "", 400, "subaccount 999 does not exist"},
		{"extraction unknown subaccount", "POST", "/api/v1/extractions", adminToken, `{"type":"notifications_summary","from":"2026-11-01","to":"2026-11-02","subaccount":999}`, "", 422, "subaccount 999 does not exist"},
		{"bot unknown subaccount", "POST", "/api/v1/bots", adminToken, `{"name":"b","subaccount_id":999}`, "", 400, "does not exist"},
		{"events without subaccount", "POST", "/api/v1/events", adminToken, `{"category":"c","action":"a","contact":"+5511987654321"}`, "", 400, "subaccount"},
		{"bot without name", "POST", "/api/v1/bots", adminToken, `{"subaccount_id":2}`, "", 400, "name"},
		{"bot bad kind", "POST", "/api/v1/bots", adminToken, `{"name":"b","kind":"robot","subaccount_id":2}`, "", 400, "kind"},
		{"router without channel", "POST", "/api/v1/bots", adminToken, `{"name":"b","kind":"router","subaccount_id":2}`, "", 400, "channel_id"},
		{"event report bad granularity", "GET", "/api/v1/reports/events?granularity=year", adminToken, nil, "", 400, "granularity"},
		{"event report too long", "GET", "/api/v1/reports/events?from=2020-01-01&to=2026-01-01", adminToken, nil, "", 400, "400 days"},
		{"event report hours too long", "GET", "/api/v1/reports/events?from=2026-01-01&to=2026-03-01&granularity=hour", adminToken, nil, "", 400, "31 days"},
		{"event report bad from", "GET", "/api/v1/reports/events?from=yesterday", adminToken, nil, "", 400, "from"},
		{"funnel one step", "POST", "/api/v1/reports/funnel", adminToken, `{"steps":[{"category":"c","action":"a"}]}`, "", 400, "2 to 8"},
		{"funnel bad stage", "POST", "/api/v1/reports/funnel", adminToken, `{"steps":[{"category":"c","action":"a"},{"campaign":1,"stage":"opened"}]}`, "", 400, "stage"},
		{"funnel bad within", "POST", "/api/v1/reports/funnel", adminToken, `{"within":"a while","steps":[{"category":"c","action":"a"},{"category":"c","action":"b"}]}`, "", 400, "within"},
		{"conversations bad month", "GET", "/api/v1/reports/conversations?from=2026-13", adminToken, nil, "", 400, "month"},
		{"conversations too many months", "GET", "/api/v1/reports/conversations?from=2020-01&to=2026-01", adminToken, nil, "", 400, "24 months"},
		{"conversations bad bot", "GET", "/api/v1/reports/conversations?bot=x", adminToken, nil, "", 400, "bot"},
		{"custom report bad kind", "POST", "/api/v1/custom-reports", adminToken, `{"name":"r","kind":"pie","subaccount_id":2}`, "", 400, "kind"},
		{"custom report no name", "POST", "/api/v1/custom-reports", adminToken, `{"name":" ","kind":"events","subaccount_id":2}`, "", 400, "name"},
		{"event report bad format", "GET", "/api/v1/reports/events?format=pdf", adminToken, nil, "", 400, "format"},
		// The help desk (issue 16).
		{"desk status unknown", "PUT", "/api/v1/desk/status", adminToken, `{"status":"away"}`, "", 400, "status must be"},
		{"desk status without a user", "PUT", "/api/v1/desk/status", adminToken, `{"status":"online"}`, "", 400, "user_id"},
		{"desk status unknown field", "PUT", "/api/v1/desk/status", adminToken, `{"status":"online","mood":"happy"}`, "", 400, "mood"},
		{"desk team without name", "POST", "/api/v1/desk/teams", adminToken, `{"subaccount_id":2,"name":" "}`, "", 400, "name"},
		{"desk team bad idle time", "POST", "/api/v1/desk/teams", adminToken, `{"subaccount_id":2,"name":"t","abandon_after_minutes":99999}`, "", 400, "abandon_after_minutes"},
		{"desk team foreign channel", "POST", "/api/v1/desk/teams", adminToken, `{"subaccount_id":2,"name":"t","channel_id":999}`, "", 400, "channel_id"},
		{"desk team unknown member", "POST", "/api/v1/desk/teams", adminToken, `{"subaccount_id":2,"name":"t","members":[999]}`, "", 400, "members"},
		{"desk team by viewer", "POST", "/api/v1/desk/teams", viewer.Token, `{"name":"t"}`, "", 403, "viewer"},
		{"desk agent limit zero", "PUT", "/api/v1/desk/agents/1", adminToken, `{"max_tickets":0}`, "", 400, "max_tickets"},
		{"desk agent bad id", "PUT", "/api/v1/desk/agents/x", adminToken, `{"max_tickets":2}`, "", 400, "id"},
		{"desk pause reason too long", "POST", "/api/v1/desk/pause-reasons", adminToken, `{"subaccount_id":2,"name":"` + strings.Repeat("p", 101) + `"}`, "", 400, "name"},
		{"desk active message without template", "POST", "/api/v1/desk/active-messages", adminToken, `{"to":"+5511987654321"}`, "", 400, "user"},
		{"desk tickets bad state", "GET", "/api/v1/desk/tickets?state=lost", adminToken, nil, "", 400, "state"},
		{"desk ticket unknown", "GET", "/api/v1/desk/tickets/999", adminToken, nil, "", 404, "not found"},
		{"desk ticket bad id", "GET", "/api/v1/desk/tickets/abc", adminToken, nil, "", 400, "id"},
		{"desk close unknown ticket", "POST", "/api/v1/desk/tickets/999/close", adminToken, `{"tags":["a"]}`, "", 404, "not found"},
		{"desk close too many tags", "POST", "/api/v1/desk/tickets/999/close", adminToken, `{"tags":["a","b","c","d","e","f","g","h","i","j","k"]}`, "", 400, "at most 10"},
		{"desk transfer malformed", "POST", "/api/v1/desk/tickets/999/transfer", adminToken, `{"agent_id":"x"}`, "", 400, "JSON"},
		{"desk metrics bad from", "GET", "/api/v1/desk/metrics?from=ontem", adminToken, nil, "", 400, "from"},
		{"desk metrics too long", "GET", "/api/v1/desk/metrics?from=2026-01-01&to=2026-06-01", adminToken, nil, "", 400, "92 days"},
		{"desk metrics bad team", "GET", "/api/v1/desk/metrics?team=x", adminToken, nil, "", 400, "team"},
		{"desk metrics by viewer", "GET", "/api/v1/desk/metrics", viewer.Token, nil, "", 403, "viewer"},
		{"token for an unknown user", "POST", "/api/v1/tokens", adminToken, `{"name":"t","user_id":999}`, "", 400, "user_id"},
		// Campaigns (issue 14); bad audience files are in internal/campaigns.
		{"campaign not multipart", "POST", "/api/v1/campaigns", adminToken, `{"name":"x"}`, "", 400, "multipart/form-data"},
		{"campaign form without audience", "POST", "/api/v1/campaigns", adminToken, campaignForm(map[string]string{"name": "x", "channel_id": "1", "template": "t", "language": "pt_BR"}, ""), "", 400, "audience is required"},
		{"campaign form bad channel_id", "POST", "/api/v1/campaigns", adminToken, campaignForm(map[string]string{"name": "x", "channel_id": "um"}, "phone\n+5511987654321\n"), "", 400, "channel_id"},
		{"campaign form bad scheduled_at", "POST", "/api/v1/campaigns", adminToken, campaignForm(map[string]string{"name": "x", "channel_id": "1", "scheduled_at": "amanhã"}, "phone\n+5511987654321\n"), "", 400, "RFC 3339"},
		{"campaign form without name", "POST", "/api/v1/campaigns", adminToken, campaignForm(map[string]string{"channel_id": "1", "template": "t", "language": "pt_BR"}, "phone\n+5511987654321\n"), "", 400, "name is required"},
		{"campaign form unknown channel", "POST", "/api/v1/campaigns", adminToken, campaignForm(map[string]string{"name": "x", "channel_id": "999", "template": "t", "language": "pt_BR"}, "phone\n+5511987654321\n"), "", 422, "channel 999 not found"},
		{"campaign form by viewer", "POST", "/api/v1/campaigns", viewer.Token, campaignForm(map[string]string{"name": "x", "channel_id": "1", "template": "t", "language": "pt_BR"}, "phone\n+5511987654321\n"), "", 403, "viewer"},
		{"campaign list bad limit", "GET", "/api/v1/campaigns?limit=0", adminToken, nil, "", 400, "limit"},
		{"campaign list bad status", "GET", "/api/v1/campaigns?status=done", adminToken, nil, "", 400, "status"},
		{"campaign list bad cursor", "GET", "/api/v1/campaigns?cursor=abc", adminToken, nil, "", 400, "cursor"},
		{"campaign bad id", "GET", "/api/v1/campaigns/abc", adminToken, nil, "", 400, "positive integer"},
		{"campaign unknown", "GET", "/api/v1/campaigns/123456", adminToken, nil, "", 404, "not found"},
		{"campaign start unknown", "POST", "/api/v1/campaigns/123456/start", adminToken, nil, "", 404, "not found"},
		{"campaign schedule without time", "POST", "/api/v1/campaigns/123456/schedule", adminToken, `{}`, "", 400, "scheduled_at"},
		{"campaign compare one", "GET", "/api/v1/campaigns/compare?id=1", adminToken, nil, "", 400, "2 to 4"},
		{"campaign compare bad id", "GET", "/api/v1/campaigns/compare?id=x&id=1", adminToken, nil, "", 400, "positive integer"},
		{"campaign compare twice", "GET", "/api/v1/campaigns/compare?id=1&id=1", adminToken, nil, "", 400, "twice"},
		{"campaign messages bad format", "GET", "/api/v1/campaigns/1/messages?format=pdf", adminToken, nil, "", 400, "csv or xlsx"},
		{"campaign clicks bad format", "GET", "/api/v1/campaigns/1/clicks?format=pdf", adminToken, nil, "", 400, "json or csv"},
		{"campaign clicks bad limit", "GET", "/api/v1/campaigns/1/clicks?limit=5000", adminToken, nil, "", 400, "limit"},
		{"campaign clicks bad button", "GET", "/api/v1/campaigns/1/clicks?button=-1", adminToken, nil, "", 400, "button"},
		{"campaign clicks unknown", "GET", "/api/v1/campaigns/123456/clicks", adminToken, nil, "", 404, "not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			switch {
			case c.sig == "sign":
				hdr = []string{"X-Hub-Signature-256", sign(toBytes(c.body))}
			case c.sig != "":
				hdr = []string{"X-Hub-Signature-256", c.sig}
			}
			if c.name == "wrong content type" {
				hdr = append(hdr, "Content-Type", "application/x-www-form-urlencoded")
			}
			if strings.HasPrefix(c.name, "campaign form") {
				hdr = append(hdr, "Content-Type", campaignFormType)
			}
			r := s.do(c.method, c.path, c.token, c.body, hdr...)
			if r.code != c.wantCode {
				t.Fatalf("answered %d %s, want %d", r.code, r.body, c.wantCode)
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			r.json(t, &e)
			if e.Error.Code == "" || e.Error.Message == "" || !strings.Contains(e.Error.Message, c.wantMsg) {
				t.Errorf("error %+v does not say %q", e.Error, c.wantMsg)
			}
		})
	}

	// A batch of bad events (issue 17's list): each is answered at its
	// index with its reason, and none is stored (the report below).
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	batch := []struct{ event, want string }{
		{`{"action":"a","contact":"+5511987654321"}`, "category is required"},
		{`{"category":"c","contact":"+5511987654321"}`, "action is required"},
		{`{"category":"c","action":"a"}`, "contact"},
		{`{"category":"` + strings.Repeat("c", 101) + `","action":"a","contact":"+5511987654321"}`, "over 100"},
		{`{"category":"c","action":"a","contact":"12ab"}`, "not a valid phone"},
		{`{"category":"c","action":"a","contact":"+5511987654321","extras":{"x":"` + strings.Repeat("y", 5000) + `"}}`, "at most 4096"},
		{`{"category":"c","action":"a","contact":"+5511987654321","extras":[1]}`, "extras must be a JSON object"},
		{`{"category":"c","action":"a","contact":"+5511987654321","at":"2020-01-01T00:00:00Z"}`, "7 days"},
		{`{"category":"c","action":"a","contact":"+5511987654321","at":"` + future + `"}`, "5 minutes in the future"},
		{`{"category":"c","action":"a","contact":"+5511987654321","at":"ontem"}`, "at must be a date-time"},
		{`{"category":"c","action":"a","contact":"+5511987654321","bot":99}`, "not a bot"},
		{`{"category":"c","action":"a","contact":"+5511987654321","bot":"b"}`, "bot must be a bot id"},
		{`{"category":7,"action":"a","contact":"+5511987654321"}`, "category must be a string"},
		{`{"category":"c","action":"a","contact":"+5511987654321","message_id":"x"}`, "message_id"},
		{`{"category":"c","action":"a","contact":"+5511987654321","colour":1}`, "colour"},
		{`"an event"`, "a JSON object"},
	}
	var list []string
	for _, b := range batch {
		list = append(list, b.event)
	}
	r := s.do("POST", "/api/v1/events?subaccount=2", adminToken, `{"events":[`+strings.Join(list, ",")+`]}`)
	var answer struct {
		Accepted int
		Errors   []struct {
			Index int
			Error string
		}
	}
	r.json(t, &answer)
	if r.code != 200 || answer.Accepted != 0 || len(answer.Errors) != len(batch) {
		t.Errorf("a batch of bad events: %d %s", r.code, r.body)
	} else {
		for i, e := range answer.Errors {
			if e.Index != i || !strings.Contains(e.Error, batch[i].want) {
				t.Errorf("bad event %d: answered %+v, want index %d saying %q", i, e, i, batch[i].want)
			}
		}
	}

	ctx := context.Background()
	st, err := s.srv.Store.InboxStats(ctx)
	if err != nil || st.LastID != 0 {
		t.Errorf("inbox holds webhook #%d after only bad webhooks (err %v)", st.LastID, err)
	}
	if n, err := s.srv.Store.EventsPending(ctx); err != nil || n != 0 {
		t.Errorf("the event intake holds %d records after only bad events (err %v)", n, err)
	}
	subs, _ := s.srv.Store.Subaccounts(ctx, nil)
	users, _ := s.srv.Store.Users(ctx, nil)
	tokens, _ := s.srv.Store.APITokens(ctx, nil)
	channels, _ := s.srv.Store.Channels(ctx, nil)
	var events struct{ Rows []struct{ Count int64 } }
	s.must(200, "GET", "/api/v1/reports/events?from=2025-01-01&to=2027-12-31&granularity=month", adminToken, nil, &events)
	if n := sumCounts(events.Rows); n != 0 {
		t.Errorf("bad events were stored: %d", n)
	}
	if len(subs) != 2 || len(users) != 0 || len(tokens) != 1 || len(channels) != 0 {
		t.Errorf("bad input changed data: %d subaccounts, %d users, %d tokens, %d channels", len(subs), len(users), len(tokens), len(channels))
	}
	if list, _ := s.srv.Store.Campaigns(ctx, store.CampaignFilter{Limit: 10}); len(list) != 0 {
		t.Errorf("bad campaign requests stored %d campaigns", len(list))
	}
	if r := s.webhook(good); r.code != http.StatusOK {
		t.Errorf("a good webhook after the bad ones answered %d", r.code)
	}
}

var lastUsed = regexp.MustCompile(`,"last_used_at":"[^"]*"`)

func toBytes(v any) []byte {
	switch b := v.(type) {
	case []byte:
		return b
	case string:
		return []byte(b)
	}
	return nil
}

// TestBadImportsAndFormsChangeNothing is the catalogue's CSV imports and
// web forms (issue 13): each bad file or form gets its status and a
// message that says what is wrong, a file's bad rows are reported by line
// with nothing imported, and every list an admin could look at reads the
// same afterwards.
func TestBadImportsAndFormsChangeNothing(t *testing.T) {
	s, sa, ch := simServer(t) // a subaccount, a channel and its templates
	var viewer struct {
		Token string `json:"token"`
	}
	s.must(201, "POST", "/api/v1/tokens", adminToken, map[string]any{"name": "v", "role": "viewer", "subaccount_id": sa}, &viewer)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "ana@example.com", "role": "admin", "password": "uma-senha-boa"}, nil)
	snapshot := func() string {
		var b strings.Builder
		for _, path := range []string{"/api/v1/subaccounts", "/api/v1/users", "/api/v1/tokens", "/api/v1/channels", "/api/v1/contacts?limit=500",
			"/api/v1/bots", "/api/v1/custom-reports", "/api/v1/extractions", "/api/v1/desk/teams", "/api/v1/campaigns",
			"/api/v1/reports/events?from=2025-01-01&to=2027-12-31&granularity=month"} {
			r := s.do("GET", path, adminToken, nil)
			fmt.Fprintf(&b, "%s %d %s\n", path, r.code, lastUsed.ReplaceAll(r.body, nil)) // using a token is no change
		}
		return b.String()
	}
	before := snapshot()

	// CSV imports: a whole file refused, or its rows refused by line.
	imp := fmt.Sprintf("/api/v1/contacts/import?subaccount_id=%d", sa)
	csvType := []string{"Content-Type", "text/csv"}
	for _, c := range []struct {
		name, path, token, csv string
		wantCode               int
		wantMsg                string // the error, or each rejected row's
		wantRows               []int  // lines reported, for a file answered 200
	}{
		{"contacts csv empty", imp, adminToken, "", 400, "no header row", nil},
		{"contacts csv without phone column", imp, adminToken, "name,correlation_id\nAna,C-1\n", 400, "no phone column", nil},
		{"contacts csv bad subaccount", "/api/v1/contacts/import?subaccount_id=abc", adminToken, "phone\n+5511999990001\n", 400, "subaccount_id", nil},
		{"contacts csv unknown subaccount", "/api/v1/contacts/import?subaccount_id=999", adminToken, "phone\n+5511999990001\n", 400, "subaccount 999 does not exist", nil},
		{"contacts csv by viewer", "/api/v1/contacts/import", viewer.Token, "phone\n+5511999990001\n", 403, "viewer", nil},
		{"contacts csv bad phones", imp, adminToken, "phone,name\nabc,Ana\n123,Bruno\n+55 11 9999,Carla\n", 200, "phone", []int{2, 3, 4}},
		{"contacts csv wrong column count", imp, adminToken, "phone,name\n+5511999990001,Ana,extra\n+5511999990002\n", 200, "columns, the header has 2", []int{2, 3}},
		{"contacts csv unterminated quote", imp, adminToken, "phone,name\n+5511999990001,\"Ana\n", 200, "unreadable CSV row", []int{2}},
		{"contacts csv header only", imp, adminToken, "phone,name\n", 200, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.do("POST", c.path, c.token, c.csv, csvType...)
			if r.code != c.wantCode {
				t.Fatalf("answered %d %s, want %d", r.code, r.body, c.wantCode)
			}
			if c.wantCode != 200 {
				var e struct {
					Error struct{ Code, Message string }
				}
				r.json(t, &e)
				if e.Error.Code == "" || !strings.Contains(e.Error.Message, c.wantMsg) {
					t.Errorf("error %+v does not say %q", e.Error, c.wantMsg)
				}
				return
			}
			var rep struct {
				Imported, Rejected int
				Errors             []struct {
					Row   int
					Error string
				}
			}
			r.json(t, &rep)
			if rep.Imported != 0 || rep.Rejected != len(c.wantRows) || len(rep.Errors) != len(c.wantRows) {
				t.Fatalf("imported %d, rejected %d: %s", rep.Imported, rep.Rejected, r.body)
			}
			for i, e := range rep.Errors {
				if e.Row != c.wantRows[i] || !strings.Contains(e.Error, c.wantMsg) {
					t.Errorf("row %d: %+v, want line %d saying %q", i, e, c.wantRows[i], c.wantMsg)
				}
			}
		})
	}

	// Campaign audiences are CSV (or XLSX) files too.
	for _, c := range []struct {
		name, audience string
		wantCode       int
		wantMsg        string
	}{
		{"audience csv without phone column", "nome\nAna\n", 422, "no phone column"},
		{"audience csv without the template's variables", "phone\n+5511987654321\n", 422, "no var1 column"},
		{"audience csv without rows", "phone,var1,var2\n", 422, "no valid row (0 rows read)"},
		{"audience csv every row bad", "phone,var1,var2\nabc,a,b\n12,a,b\n", 422, "line 3: invalid phone number \"12\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.do("POST", "/api/v1/campaigns", adminToken, campaignForm(map[string]string{"name": "x", "channel_id": fmt.Sprint(ch), "template": "promocao_outono",
				"language": "pt_BR"}, c.audience), "Content-Type", campaignFormType)
			var e struct {
				Error struct{ Code, Message string }
			}
			r.json(t, &e)
			if r.code != c.wantCode || e.Error.Code == "" || !strings.Contains(e.Error.Message, c.wantMsg) {
				t.Errorf("answered %d %s, want %d saying %q", r.code, r.body, c.wantCode, c.wantMsg)
			}
		})
	}

	// Web forms, as an admin signed in: the page says what is wrong.
	web := newWebClient(t, s)
	web.login("ana@example.com", "uma-senha-boa")
	web.get("/admin/users")
	subID := fmt.Sprint(sa)
	for _, c := range []struct {
		name, path string
		form       url.Values
		wantCode   int
		wantMsg    string
	}{
		{"form without CSRF token", "/admin/users", url.Values{"email": {"b@example.com"}, "role": {"viewer"}, "password": {"long-enough"}}, 403, ""},
		{"form with a forged CSRF token", "/admin/subaccounts", url.Values{"csrf": {"forged"}, "name": {"X"}}, 403, ""},
		{"user form bad email", "/admin/users", url.Values{"email": {"ninguém"}, "role": {"viewer"}, "password": {"long-enough"}}, 400, "email"},
		{"user form short password", "/admin/users", url.Values{"email": {"b@example.com"}, "role": {"viewer"}, "password": {"curta"}}, 400, "password"},
		{"user form bad role", "/admin/users", url.Values{"email": {"b@example.com"}, "role": {"rei"}, "password": {"long-enough"}}, 400, "role"},
		{"user form existing email", "/admin/users", url.Values{"email": {"ana@example.com"}, "role": {"viewer"}, "password": {"long-enough"}}, 409, "ana@example.com"},
		{"subaccount form empty name", "/admin/subaccounts", url.Values{"name": {"  "}}, 400, "name"},
		{"subaccount form bad time zone", "/admin/subaccounts", url.Values{"name": {"Y"}, "time_zone": {"Marte/Base"}}, 400, "time_zone"},
		{"subaccount form duplicate", "/admin/subaccounts", url.Values{"name": {"Loja"}}, 409, "already exists"},
		{"channel form non-numeric phone id", "/admin/channels", url.Values{"subaccount_id": {subID}, "name": {"c"}, "phone_number_id": {"abc"}}, 400, "phone_number_id"},
		{"token form bad role", "/admin/tokens", url.Values{"name": {"t"}, "role": {"deus"}, "subaccount_id": {subID}}, 400, "role"},
		{"token form unknown subaccount", "/admin/tokens", url.Values{"name": {"t"}, "role": {"viewer"}, "subaccount_id": {"999"}}, 400, "does not exist"},
		{"bot form without name", "/admin/bots", url.Values{"subaccount_id": {subID}}, 400, "name"},
		{"bot form router without channel", "/admin/bots", url.Values{"name": {"r"}, "kind": {"router"}, "subaccount_id": {subID}}, 400, "channel_id"},
		{"custom report form without name", "/reports/custom/save", url.Values{"name": {" "}, "kind": {"events"}, "subaccount_id": {subID}, "query": {"granularity=day"}}, 400, "name"},
		{"saved search form bad query", "/saved-searches", url.Values{"name": {"s"}, "query": {"status=%zz"}}, 400, "query"},
		{"custom report form bad query", "/reports/custom/save", url.Values{"name": {"r"}, "kind": {"events"}, "query": {"%zz"}}, 400, "query"},
		{"extraction form over 90 days", "/reports/manager", url.Values{"type": {"notifications_summary"}, "from": {"2026-01-01"}, "to": {"2026-06-01"}, "format": {"csv"}}, 422, "90"},
		{"extraction notice of no extraction of the visitor's", "/reports/manager/999999/seen", url.Values{}, 404, ""},
		{"desk team form without name", "/desk/settings/teams", url.Values{"subaccount": {subID}, "name": {" "}}, 400, "name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range c.form {
				form[k] = v
			}
			if _, ok := form["csrf"]; !ok && c.wantCode != 403 {
				form.Set("csrf", web.csrf)
			}
			code, body := web.post(c.path, form)
			body = html.UnescapeString(body)
			if code != c.wantCode || !strings.Contains(body, c.wantMsg) {
				t.Errorf("answered %d, want %d saying %q: %.600s", code, c.wantCode, c.wantMsg, body)
			}
		})
	}

	if after := snapshot(); after != before {
		t.Errorf("bad files and forms changed data:\nbefore\n%s\nafter\n%s", before, after)
	}
}
