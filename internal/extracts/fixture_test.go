package extracts_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// fixture is an account of two subaccounts whose notifications are known: in the shop's subaccount,
// on 20 November 2026 (São Paulo), a welcome template sent by the "Bot Loja" API token that was
// delivered, read and replied to, the same template failed by Meta, a promotion a user sent that was
// only sent, and a number ticks refused; a welcome sent on the 25th, outside the period the tests
// extract; and in the other subaccount, one welcome of its own.
type fixture struct {
	st          *store.Store
	svc         *extracts.Service
	loc         *time.Location
	now         time.Time
	shop, other int64 // subaccounts
	bot, user   int64 // the shop's API token and user
	queued      []int64
	channels    [2]*domain.Channel
	base        time.Time // 20 November 2026, 10:00 in São Paulo
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	fx := &fixture{st: st, loc: loc, now: time.Date(2026, 12, 1, 9, 0, 0, 0, loc), base: time.Date(2026, 11, 20, 10, 0, 0, 0, loc)}
	fx.svc = extracts.New(st, filepath.Join(t.TempDir(), "extractions"), loc)
	fx.svc.Now = func() time.Time { return fx.now }
	st.Now = fx.svc.Now
	fx.svc.Enqueue = func(_ context.Context, id int64) error { fx.queued = append(fx.queued, id); return nil }

	var channels [2]*domain.Channel
	for i, name := range []string{"Loja", "Outra"} {
		sa := &domain.Subaccount{Name: name}
		if err := st.CreateSubaccount(ctx, sa); err != nil {
			t.Fatal(err)
		}
		ch := &domain.Channel{SubaccountID: sa.ID, Name: name, WABAID: fmt.Sprintf("W%d", i), PhoneNumberID: fmt.Sprintf("10%d", i),
			DisplayPhone: fmt.Sprintf("551100000000%d", i)}
		if err := st.CreateChannel(ctx, ch); err != nil {
			t.Fatal(err)
		}
		channels[i] = ch
	}
	fx.shop, fx.other = channels[0].SubaccountID, channels[1].SubaccountID
	fx.channels = channels
	tok := &domain.APIToken{SubaccountID: fx.shop, Name: "Bot Loja", Role: domain.RoleSupervisor, Prefix: "tk_a", Hash: "h1"}
	if err := st.CreateAPIToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	fx.bot = tok.ID
	u := &domain.User{Email: "ana@loja.example", Name: "Ana", Role: domain.RoleSupervisor, Subaccounts: []int64{fx.shop}}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	fx.user = u.ID
	router := &domain.Bot{SubaccountID: fx.shop, Name: "Roteador Loja", Kind: "router", ChannelID: &channels[0].ID}
	if err := st.CreateBot(ctx, router, &domain.APIToken{SubaccountID: fx.shop, Name: "Roteador Loja", Role: domain.RoleAgent,
		Prefix: "tk_r", Hash: "h2"}); err != nil {
		t.Fatal(err)
	}

	var inbox int64
	apply := func(b *domain.WebhookBatch, at time.Time) {
		inbox++
		if _, err := st.ApplyWebhooks(ctx, []store.InboxBatch{{InboxID: inbox, ReceivedAt: at, Batch: b}}, inbox); err != nil {
			t.Fatalf("apply: %v", err)
		}
	}
	campaign := int64(7)
	send := func(ch *domain.Channel, phone, template string, at time.Time, bot, user *int64) (*domain.Message, domain.Recipient) {
		c, err := st.UpsertContact(ctx, ch.SubaccountID, store.ContactInput{Phone: phone})
		if err != nil {
			t.Fatal(err)
		}
		m := &domain.Message{SubaccountID: ch.SubaccountID, ChannelID: ch.ID, ContactID: c.ID, Phone: c.Phone, WAID: c.WAID,
			ContentType: "template", TemplateName: template, TemplateCategory: "marketing", Text: "Olá!", At: at,
			State: domain.StateSending, Status: domain.StatusSending, BotID: bot, SenderUserID: user}
		if bot != nil {
			m.CampaignID = &campaign
		}
		if err := st.InsertOutbound(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
		return m, domain.Recipient{WABAID: ch.WABAID, PhoneNumberID: ch.PhoneNumberID, DisplayPhone: ch.DisplayPhone}
	}
	accept := func(m *domain.Message, r domain.Recipient, wamid string) domain.StatusEvent {
		if err := st.MarkAccepted(ctx, m.ID, wamid, m.WAID); err != nil {
			t.Fatal(err)
		}
		ev := domain.StatusEvent{Recipient: r, WAMID: wamid, State: domain.StateSent, Timestamp: m.At.Add(time.Second), RecipientWAID: m.WAID}
		apply(&domain.WebhookBatch{Statuses: []domain.StatusEvent{ev}}, ev.Timestamp)
		return ev
	}
	shop := channels[0]
	// Delivered after 5 s, read after a minute, replied after two.
	m, r := send(shop, "+5511987650001", "boas_vindas", fx.base, &fx.bot, nil)
	ev := accept(m, r, "wamid.A1")
	ev.State, ev.Timestamp = domain.StateDelivered, fx.base.Add(5*time.Second)
	apply(&domain.WebhookBatch{Statuses: []domain.StatusEvent{ev}}, ev.Timestamp)
	ev.State, ev.Timestamp = domain.StateRead, fx.base.Add(time.Minute)
	apply(&domain.WebhookBatch{Statuses: []domain.StatusEvent{ev}}, ev.Timestamp)
	apply(&domain.WebhookBatch{Messages: []domain.InboundMessage{{Recipient: r, WAMID: "wamid.R1", FromWAID: m.WAID,
		Timestamp: fx.base.Add(2 * time.Minute), Type: "text", Text: "Quero!", ContextWAMID: "wamid.A1"}}}, fx.base.Add(2*time.Minute))
	// Failed by Meta.
	m, r = send(shop, "+5511987650002", "boas_vindas", fx.base.Add(time.Hour), &fx.bot, nil)
	ev = accept(m, r, "wamid.A2")
	ev.State, ev.Timestamp = domain.StateFailed, m.At.Add(3*time.Second)
	ev.Errors = []domain.MetaError{{Code: 131026, Title: "Message undeliverable"}}
	apply(&domain.WebhookBatch{Statuses: []domain.StatusEvent{ev}}, ev.Timestamp)
	// Sent by a user, only sent.
	m, r = send(shop, "+5511987650003", "promo", fx.base.Add(2*time.Hour), nil, &fx.user)
	accept(m, r, "wamid.A3")
	// Refused by ticks.
	c, _ := st.UpsertContact(ctx, shop.SubaccountID, store.ContactInput{Phone: "+5511987650004"})
	refused := &domain.Message{SubaccountID: shop.SubaccountID, ChannelID: shop.ID, ContactID: c.ID, Phone: c.Phone,
		ContentType: "template", TemplateName: "promo", At: fx.base.Add(3 * time.Hour), State: domain.StateFailed,
		Status: domain.StatusInvalidNumber, ErrorTitle: "invalid phone number", ErrorDetail: "+55 11 9876 is not a valid phone number",
		SenderUserID: &fx.user}
	if err := st.InsertOutbound(ctx, refused, ""); err != nil {
		t.Fatal(err)
	}
	// Outside the period, and in the other subaccount.
	m, r = send(shop, "+5511987650005", "boas_vindas", fx.base.AddDate(0, 0, 5), &fx.bot, nil)
	accept(m, r, "wamid.A5")
	m, r = send(channels[1], "+5511987650006", "boas_vindas", fx.base.Add(30*time.Minute), nil, nil)
	accept(m, r, "wamid.B1")
	// Event tracks: two of the shop's bot on the 20th, one of the other subaccount.
	for i, ev := range []domain.TrackEvent{
		{SubaccountID: fx.shop, BotID: fx.bot, Category: "Menu", Action: "Comprar", At: fx.base.Add(3 * time.Minute), Extras: `=HYPERLINK("http://x.example")`},
		{SubaccountID: fx.shop, BotID: fx.bot, Category: "Menu", Action: "Falar com atendente", At: fx.base.Add(4 * time.Minute)},
		{SubaccountID: fx.other, Category: "Menu", Action: "Comprar", At: fx.base.Add(5 * time.Minute)},
	} {
		ev.Day = int64(ev.At.Unix() / 86400)
		phone := []string{"+5511987650001", "+5511987650001", "+5511987650006"}[i]
		if _, err := st.RecordEvents(ctx, ev.SubaccountID, []domain.TrackEvent{ev}, []store.EventContact{{Key: phone}}); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

// shopUser is the principal of the shop's supervisor.
func (fx *fixture) shopUser() *access.Principal {
	return &access.Principal{Role: domain.RoleSupervisor, UserID: fx.user, Scope: []int64{fx.shop}}
}

// extract asks for an extraction as p and runs it.
func (fx *fixture) extract(t *testing.T, p *access.Principal, in extracts.Input) *domain.Extraction {
	t.Helper()
	ctx := context.Background()
	e, err := fx.svc.Request(ctx, p, in)
	if err != nil {
		t.Fatalf("request %+v: %v", in, err)
	}
	if err := fx.svc.Run(ctx, e.ID); err != nil {
		t.Fatalf("run %d: %v", e.ID, err)
	}
	e, err = fx.svc.Get(ctx, p, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != domain.ExtractionReady {
		t.Fatalf("extraction %d is %s (%s), want ready", e.ID, e.Status, e.Error)
	}
	return e
}
