package billing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/cloudapi"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/ingest"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

const simSecret = "billing-test-secret"

var simPhone = simulator.Phone{PhoneNumberID: "106540352242922", DisplayPhone: "15550783881", WABAID: "102290129340398",
	AccessToken: "sim-token"}

// simEnv is ticks's store, ingestion and send pipeline around the
// simulator behind real HTTP: everything but Meta is real.
type simEnv struct {
	t        *testing.T
	st       *store.Store
	sim      *simulator.Server
	client   *cloudapi.Client
	pipeline *send.Pipeline
	ch       *domain.Channel
}

func newSimEnv(t *testing.T) *simEnv {
	t.Helper()
	st := storetest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	m := ingest.NewMetrics(prometheus.NewRegistry())
	inbox := ingest.NewInbox(st, m)
	proc := ingest.NewProcessor(st, m, inbox.Stored())
	proc.Poll = 20 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/whatsapp", (&ingest.Handler{Inbox: inbox, AppSecret: []byte(simSecret), MaxBytes: 1 << 20}).Receive)
	hooks := httptest.NewServer(mux)
	sim := simulator.NewServer(simulator.Config{Seed: 15, WebhookURL: hooks.URL + "/webhooks/whatsapp", AppSecret: []byte(simSecret),
		Phones: []simulator.Phone{simPhone}, Mix: simulator.Outcomes{Read: 1}, Delays: simulator.Delays{TimeScale: 0.01}})
	api := httptest.NewServer(sim.Handler())
	done := make(chan struct{}, 3)
	go func() { inbox.Run(ctx); done <- struct{}{} }()
	go func() { proc.Run(ctx); done <- struct{}{} }()
	go func() { sim.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		<-done
		api.Close()
		hooks.Close()
		sim.Close()
	})
	box, _ := secret.NewBox("billing-test-secret-key-0123456789")
	client := cloudapi.New(api.URL + "/v23.0")
	client.Backoff = func(int) time.Duration { return time.Millisecond }
	sa := &domain.Subaccount{Name: "Loja", TimeZone: "UTC"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	sealed, _ := box.Seal(simPhone.AccessToken)
	ch := &domain.Channel{SubaccountID: sa.ID, Name: "Loja", WABAID: simPhone.WABAID, PhoneNumberID: simPhone.PhoneNumberID,
		DisplayPhone: "+1 555-078-3881", AccessTokenEnc: sealed, Tier: "TIER_UNLIMITED"}
	if err := st.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	list, err := client.Templates(ctx, simPhone.WABAID, simPhone.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertTemplates(ctx, sa.ID, list); err != nil {
		t.Fatal(err)
	}
	return &simEnv{t: t, st: st, sim: sim, client: client, pipeline: send.New(st, client, box), ch: ch}
}

func (e *simEnv) send(req *send.Request) int64 {
	e.t.Helper()
	ch, err := e.st.Channel(context.Background(), e.ch.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := e.pipeline.Send(context.Background(), ch, req)
	if err != nil || out.Refused {
		e.t.Fatalf("send: %v %+v", err, out)
	}
	return out.Message.ID
}

// waitRead waits for the simulator's webhooks to take messages to read.
func (e *simEnv) waitRead(ids []int64) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, id := range ids {
		for {
			m, err := e.st.Message(context.Background(), id, nil)
			if err != nil {
				e.t.Fatal(err)
			}
			if m.State == domain.StateRead && m.PricingModel != "" {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("message %d stayed %s", id, m.State)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// service is the billing service asking the simulator through the Cloud
// API client.
func (e *simEnv) service() *billing.Service {
	svc := billing.New(e.st, time.UTC)
	svc.Meta = e.client
	svc.Token = func(*domain.Channel) (string, error) { return simPhone.AccessToken, nil }
	return svc
}

// TestReconciliationWithTheSimulator sends templates of every category
// and a free service reply through the simulator, asks it (as Meta) what
// it charged, and compares: equal, until Meta charges something ticks
// never saw, which shows on its day and category.
func TestReconciliationWithTheSimulator(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	var ids []int64
	for i, tpl := range []send.TemplateRef{
		{Name: "promocao_outono", Language: "pt_BR", Params: []string{"Maria", "OUTONO20"}},
		{Name: "promocao_outono", Language: "pt_BR", Params: []string{"Ana", "OUTONO20"}},
		{Name: "promocao_outono", Language: "pt_BR", Params: []string{"Rita", "OUTONO20"}},
		{Name: "lembrete_pagamento", Language: "pt_BR", Params: []string{"Maria", "R$ 10", "10/08"}},
		{Name: "lembrete_pagamento", Language: "pt_BR", Params: []string{"Ana", "R$ 20", "10/08"}},
		{Name: "codigo_verificacao", Language: "pt_BR", Params: []string{"123456"}},
		{Name: "codigo_verificacao", Language: "pt_BR", Params: []string{"654321"}},
	} {
		ids = append(ids, e.send(&send.Request{To: "+55119700000" + string(rune('0'+i)) + "1", Type: "template", Template: &tpl}))
	}
	// A free service reply inside the window a contact opened.
	in, err := e.sim.GenerateInbound(simulator.Inbound{From: "5511970000099", Type: "text", Text: "oi"})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := e.st.MessageByWAMID(ctx, in, nil); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("inbound message never applied")
		}
	}
	ids = append(ids, e.send(&send.Request{To: "+5511970000099", Type: "text", Text: "Olá!"}))
	e.waitRead(ids)

	svc := e.service()
	now := time.Now().UTC()
	if err := svc.FetchMeta(ctx, now, now); err != nil {
		t.Fatal(err)
	}
	q := billing.Query{Month: billing.MonthOf(now)}
	rep, err := svc.Consumption(ctx, access.System(), q)
	if err != nil {
		t.Fatal(err)
	}
	rc := rep.Reconciliation
	if rc == nil || rc.FetchedAt == nil || rc.Source != "pricing_analytics" || len(rc.Errors) != 0 {
		t.Fatalf("reconciliation %+v: want Meta's pricing_analytics fetched", rc)
	}
	if rc.Meta != 7 || rc.Ticks != 7 || len(rc.Differences) != 0 {
		t.Errorf("charged: Meta %d ticks %d differences %+v, want 7 and 7 and none", rc.Meta, rc.Ticks, rc.Differences)
	}
	if rc.MetaCost != "0.21" { // 3 × 0.0625 + 4 × 0.0068
		t.Errorf("Meta's cost %s, want 0.21", rc.MetaCost)
	}

	// Meta charges two marketing messages ticks has no trace of.
	e.sim.Charge(simulator.Charge{WABAID: simPhone.WABAID, Phone: simPhone.DisplayPhone, Day: now, Category: "MARKETING",
		PricingType: "REGULAR", Count: 2, Cost: 0.125})
	if err := svc.FetchMeta(ctx, now, now); err != nil {
		t.Fatal(err)
	}
	if rep, err = svc.Consumption(ctx, access.System(), q); err != nil {
		t.Fatal(err)
	}
	rc = rep.Reconciliation
	want := []billing.Difference{{Date: now.Format(time.DateOnly), Category: "marketing", Meta: 5, Ticks: 3, Difference: -2}}
	if rc.Meta != 9 || rc.Ticks != 7 || !reflect.DeepEqual(rc.Differences, want) {
		t.Errorf("after Meta's extra charge: Meta %d ticks %d differences %+v, want 9, 7, %+v", rc.Meta, rc.Ticks, rc.Differences, want)
	}

	// Another number's report compares nothing of this one's.
	other := billing.Query{Month: q.Month, PhoneNumberID: "no-such"}
	if _, err := svc.Consumption(ctx, access.System(), other); err == nil {
		t.Error("a number that is not ours was accepted")
	}
}

// TestConversationAnalyticsBeforeJuly2025 asks for a month of
// conversation-based pricing: Meta's conversation_analytics answer (what
// the simulator charged then) is compared with ticks's conversations, per
// day and category.
func TestConversationAnalyticsBeforeJuly2025(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	day := time.Date(2025, 5, 14, 0, 0, 0, 0, time.UTC)
	e.sim.Charge(simulator.Charge{WABAID: simPhone.WABAID, Phone: simPhone.DisplayPhone, Day: day, Category: "MARKETING",
		PricingType: "REGULAR", Direction: "BUSINESS_INITIATED", Count: 4, Cost: 0.25})
	e.sim.Charge(simulator.Charge{WABAID: simPhone.WABAID, Phone: simPhone.DisplayPhone, Day: day, Category: "SERVICE",
		PricingType: "FREE_TIER", Direction: "USER_INITIATED", Count: 3})
	// A message charge of the same day is not a conversation.
	e.sim.Charge(simulator.Charge{WABAID: simPhone.WABAID, Phone: simPhone.DisplayPhone, Day: day, Category: "UTILITY",
		PricingType: "REGULAR", Count: 9, Cost: 0.5})
	svc := e.service()
	if err := svc.FetchMeta(ctx, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	m, _ := billing.ParseMonth("2025-05")
	rep, err := svc.Consumption(ctx, access.System(), billing.Query{Month: m})
	if err != nil {
		t.Fatal(err)
	}
	rc := rep.Reconciliation
	if rc.Source != "conversation_analytics" || rc.Unit != "conversations" || rc.FetchedAt == nil {
		t.Fatalf("reconciliation %+v: want conversation_analytics fetched", rc)
	}
	want := []billing.Difference{{Date: "2025-05-14", Category: "marketing", Meta: 4, Difference: -4},
		{Date: "2025-05-14", Category: "service", Meta: 3, Difference: -3}}
	if rc.Meta != 7 || rc.Ticks != 0 || !reflect.DeepEqual(rc.Differences, want) || rc.MetaCost != "0.25" {
		t.Errorf("Meta %d ticks %d cost %s differences %+v, want 7, 0, 0.25, %+v", rc.Meta, rc.Ticks, rc.MetaCost, rc.Differences, want)
	}
	if rc.From != "2025-05-01" || rc.To != "2025-05-31" {
		t.Errorf("compared %s..%s, want the whole of May", rc.From, rc.To)
	}
	// Asking again for the month's last days keeps the whole month compared.
	if err := svc.FetchMeta(ctx, time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC), time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if rep, err = svc.Consumption(ctx, access.System(), billing.Query{Month: m}); err != nil {
		t.Fatal(err)
	}
	if rc := rep.Reconciliation; rc.From != "2025-05-01" || rc.To != "2025-05-31" || rc.Meta != 7 {
		t.Errorf("after asking for the last days: compared %s..%s, Meta %d; want the whole of May, 7", rc.From, rc.To, rc.Meta)
	}
}

// TestReconciliationRecordsMetaFailures: a WABA whose question fails keeps
// no comparison and says why.
func TestReconciliationRecordsMetaFailures(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	svc := e.service()
	svc.Token = func(*domain.Channel) (string, error) { return "wrong-token", nil }
	now := time.Now().UTC()
	if err := svc.FetchMeta(ctx, now, now); err == nil {
		t.Fatal("a refused question reported no error")
	}
	rep, err := svc.Consumption(ctx, access.System(), billing.Query{Month: billing.MonthOf(now)})
	if err != nil {
		t.Fatal(err)
	}
	rc := rep.Reconciliation
	if rc.FetchedAt != nil || len(rc.Errors) != 1 || !strings.Contains(rc.Errors[0], simPhone.WABAID) {
		t.Errorf("reconciliation %+v: want no comparison and the WABA's failure", rc)
	}
}
