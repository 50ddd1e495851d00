package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/campaigns"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/simulator"
)

// The A/B pair's templates: one offer written two ways.
const (
	TemplateA = "oferta_natal_a"
	TemplateB = "oferta_natal_b"
)

// TemplateLink is the demo's offer with a link button whose clicks ticks
// counts: its address is the demo's own redirect.
const TemplateLink = "oferta_link"

// LinkTarget is where the demo's link campaign sends a contact who taps.
const LinkTarget = "https://loja.example.com/natal?utm_source=whatsapp&utm_campaign=natal"

// Templates are the simulator's templates in the demo: its defaults, the
// A/B pair, and an offer whose URL button opens base's redirect /r/ (base:
// where the demo's web app listens, http://host:port).
func Templates(base string) []simulator.Template {
	offer := func(id, name, body, button string) simulator.Template {
		return simulator.Template{ID: id, Name: name, Language: "pt_BR", Category: "MARKETING", Status: "APPROVED",
			Components: json.RawMessage(`[{"type":"BODY","text":` + quote(body) + `,"example":{"body_text":[["Maria"]]}},` +
				`{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":` + quote(button) + `},{"type":"QUICK_REPLY","text":"Parar promoções"}]}]`)}
	}
	return append(simulator.DefaultTemplates(),
		offer("1000000000000101", TemplateA, "Olá {{1}}, o Natal chegou: 15% de desconto em toda a loja.", "Ver ofertas"),
		offer("1000000000000102", TemplateB, "{{1}}, separamos um presente para você: frete grátis e 15% off só hoje 🎁", "Quero meu presente"),
		simulator.Template{ID: "1000000000000103", Name: TemplateLink, Language: "pt_BR", Category: "MARKETING", Status: "APPROVED",
			Components: json.RawMessage(`[{"type":"BODY","text":"{{1}}, a vitrine de Natal está no ar: escolha seu presente com 10% off.",` +
				`"example":{"body_text":[["Maria"]]}},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Parar promoções"},` +
				`{"type":"URL","text":"Ver vitrine","url":` + quote(base+campaigns.RedirectPath+"{{1}}") + `}]}]`)})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TemplateMix is how contacts answer the A/B pair: the second version is
// read and answered more, so the comparison finds a real difference.
func TemplateMix() map[string]simulator.Outcomes {
	a, b := Outcomes(), Outcomes()
	a.Failed, a.Read, a.Delivered, a.QuickReply, a.Reply = 0.05, 0.45, 0.40, 0.10, 0.08
	b.Failed, b.Read, b.Delivered, b.QuickReply, b.Reply = 0.05, 0.75, 0.15, 0.30, 0.20
	a.OptOut, b.OptOut = 0.02, 0.02
	return map[string]simulator.Outcomes{TemplateA: a, TemplateB: b}
}

// RunningRows is the audience of the demo's running campaign: at the
// channel's pace (80 messages/s, shared with the demo's other traffic) it
// sends for two to three minutes after the demo starts, within the
// number's tier of 10,000 contacts a day.
const RunningRows = 9_500

// SeedCampaigns creates the demo's campaigns once, through the campaigns
// service as a supervisor would: a finished one (every contact of Varejo
// Centro, sent at once), a running one (a large list, still sending for
// minutes), one scheduled for tomorrow morning, and an A/B pair of two
// versions of an offer, each to half the contacts. Their dispatch runs as
// River jobs once the server runs.
func SeedCampaigns(ctx context.Context, svc server.Services, loc *time.Location) error {
	p := access.System()
	chans, err := svc.Channels.List(ctx, p)
	if err != nil {
		return err
	}
	var centro *domain.Channel
	for i := range chans {
		if chans[i].PhoneNumberID == Phones[0].PhoneNumberID {
			centro = &chans[i]
		}
	}
	if centro == nil {
		return fmt.Errorf("the demo's channel Varejo Centro is missing")
	}
	audience := func(rows int, keep func(i int) bool, vars func(i int) string) *strings.Reader {
		var b strings.Builder
		b.WriteString("telefone;nome;correlation_id;var1;var2\n")
		for i := range rows {
			if keep(i) {
				fmt.Fprintf(&b, "%s;%s;CLI-%05d;%s\n", Phone(i), Name(i), i, vars(i))
			}
		}
		return strings.NewReader(b.String())
	}
	all := func(int) bool { return true }
	promo := func(i int) string { return firstNames[i%len(firstNames)] + ";OUTONO20" }
	first := func(i int) string { return firstNames[i%len(firstNames)] + ";" }
	now := time.Now().In(loc)
	tomorrow := time.Date(now.Year(), now.Month(), now.Day()+1, 9, 30, 0, 0, loc)
	list := []struct {
		in    campaigns.CreateInput
		start bool
	}{
		{campaigns.CreateInput{Name: "Promoção de outono — todos os clientes", Template: "promocao_outono",
			Audience: audience(Contacts, all, promo)}, true},
		{campaigns.CreateInput{Name: "Oferta de Natal — versão A", Template: TemplateA,
			Audience: audience(Contacts, func(i int) bool { return i%2 == 0 }, first)}, true},
		{campaigns.CreateInput{Name: "Oferta de Natal — versão B", Template: TemplateB,
			Audience: audience(Contacts, func(i int) bool { return i%2 == 1 }, first)}, true},
		{campaigns.CreateInput{Name: "Reativação da base antiga", Template: "promocao_outono",
			Audience: bigAudience(RunningRows)}, true},
		{campaigns.CreateInput{Name: "Vitrine de Natal — cliques no link", Template: TemplateLink, LinkURLs: []string{LinkTarget},
			Audience: audience(Contacts, func(i int) bool { return i%4 == 1 }, first)}, true},
		{campaigns.CreateInput{Name: "Lembrete de amanhã cedo", Template: "promocao_outono", ScheduledAt: &tomorrow,
			Audience: audience(Contacts, func(i int) bool { return i%3 == 0 }, promo)}, false},
	}
	for _, c := range list {
		c.in.ChannelID, c.in.Language = centro.ID, "pt_BR"
		created, err := svc.Campaigns.Create(ctx, p, c.in)
		if err != nil {
			return fmt.Errorf("campaign %q: %w", c.in.Name, err)
		}
		if c.start {
			if _, err := svc.Campaigns.Start(ctx, p, created.Campaign.ID); err != nil {
				return fmt.Errorf("start campaign %q: %w", c.in.Name, err)
			}
		}
	}
	return nil
}

// bigAudience is n made-up customers of an old list, beyond the demo's
// contacts.
func bigAudience(n int) *strings.Reader {
	var b strings.Builder
	b.WriteString("telefone;nome;var1;var2\n")
	for i := range n {
		name := firstNames[i%len(firstNames)]
		fmt.Fprintf(&b, "+55219%08d;%s %s;%s;VOLTA15\n", 70000000+i, name, lastNames[(i/7)%len(lastNames)], name)
	}
	return strings.NewReader(b.String())
}
