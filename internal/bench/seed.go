package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
	"github.com/ticksapp/ticks/internal/store"
)

// SeedOptions configure a generated data set for the report benchmarks.
type SeedOptions struct {
	DatabaseURL string    // a SQLite file path or a postgres:// URL; created and migrated
	Messages    int       // in the main subaccount; the small one gets 1% more
	Days        int       // spread over this many days before End
	End         time.Time // the newest instant (default: now, to the hour)
	Seed        uint64    // of the random generator: same seed, same data
	Progress    io.Writer // a line per million rows when not nil
}

// SeedResult is what a seed wrote and how fast.
type SeedResult struct {
	Dialect           store.Dialect
	Subaccount, Small int64 // the main subaccount and the small one
	Messages          int   // rows written, both subaccounts
	Contacts          int
	Campaigns, Users  int
	From, To          time.Time
	Load              time.Duration // rows in, without secondary indexes or triggers
	Index             time.Duration // secondary indexes built
	Rollup            time.Duration // the rollup rebuilt
	Analyze           time.Duration // planner statistics (and PostgreSQL's visibility map)
	Total             time.Duration
}

// Print writes a result as a table.
func (r *SeedResult) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%s\n", r.Dialect)
	fmt.Fprintf(tw, "data\t%d messages (%d in subaccount %d, the rest in %d), %d contacts, %d campaigns, %d users, %s to %s\n",
		r.Messages, r.Messages-r.Messages/101, r.Subaccount, r.Small, r.Contacts, r.Campaigns, r.Users,
		r.From.Format(time.DateOnly), r.To.Format(time.DateOnly))
	fmt.Fprintf(tw, "load\t%v\t%.0f rows/s\n", r.Load.Round(time.Millisecond), float64(r.Messages)/r.Load.Seconds())
	fmt.Fprintf(tw, "indexes\t%v\n", r.Index.Round(time.Millisecond))
	fmt.Fprintf(tw, "rollup\t%v\n", r.Rollup.Round(time.Millisecond))
	fmt.Fprintf(tw, "analyze\t%v\n", r.Analyze.Round(time.Millisecond))
	fmt.Fprintf(tw, "total\t%v\t%.0f rows/s overall\n", r.Total.Round(time.Millisecond), float64(r.Messages)/r.Total.Seconds())
	tw.Flush()
}

// Seed writes a realistic data set into a fresh database: about 85% MT
// and 15% MO, every report status in realistic shares, campaigns sent in
// bursts, bots and help-desk agents, sessions, conversations, correlation
// ids and Zipf-distributed contacts. It loads without secondary indexes and
// triggers, then builds the indexes, rebuilds the rollup exactly and
// collects planner statistics.
func Seed(ctx context.Context, o SeedOptions) (*SeedResult, error) {
	if o.Messages < 1 || o.Days < 1 {
		return nil, errors.New("seed: messages and days must be positive")
	}
	if o.End.IsZero() {
		o.End = time.Now().UTC().Truncate(time.Hour)
	}
	start := time.Now()
	st, err := store.Open(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	res := &SeedResult{Dialect: st.Dialect(), From: o.End.AddDate(0, 0, -o.Days), To: o.End}
	g, err := newGenerator(ctx, st, o, res)
	if err != nil {
		return nil, err
	}
	l, err := newLoader(ctx, st.Dialect(), o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer l.close()
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&n); err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, fmt.Errorf("seed: the database already has %d messages; seed an empty one", n)
	}

	t0 := time.Now()
	saved, err := l.dropIndexes(ctx)
	if err != nil {
		return nil, err
	}
	if err := l.contacts(ctx, g.contactRows()); err != nil {
		return nil, err
	}
	if err := l.messages(ctx, g, o.Progress); err != nil {
		return nil, err
	}
	res.Messages, res.Contacts = g.count, len(g.contacts)
	res.Load = time.Since(t0)

	t0 = time.Now()
	if err := l.restore(ctx, saved, false); err != nil {
		return nil, err
	}
	res.Index = time.Since(t0)
	t0 = time.Now()
	if err := st.RebuildRollup(ctx); err != nil {
		return nil, err
	}
	if err := l.restore(ctx, saved, true); err != nil {
		return nil, err
	}
	res.Rollup = time.Since(t0)
	t0 = time.Now()
	if err := l.analyze(ctx); err != nil {
		return nil, err
	}
	res.Analyze = time.Since(t0)
	res.Total = time.Since(start)
	return res, nil
}

// The generator's vocabulary.
var (
	firstNames = []string{"Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Heitor", "Isabela", "João",
		"Larissa", "Marcos", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Thiago", "Vitória", "Wagner"}
	templates = []struct{ name, category, text string }{
		{"promo_black_friday", "marketing", "Olá! A Black Friday começou: até 50% de desconto em toda a loja."},
		{"pedido_enviado", "utility", "Seu pedido #%d saiu para entrega e chega amanhã."},
		{"pedido_confirmado", "utility", "Recebemos seu pedido #%d. Obrigado pela compra!"},
		{"boleto_vencendo", "utility", "Seu boleto de R$ %d,90 vence amanhã. Evite juros."},
		{"codigo_acesso", "authentication", "Seu código de acesso é %d. Não compartilhe."},
		{"carrinho_abandonado", "marketing", "Você esqueceu itens no carrinho! Finalize com frete grátis."},
		{"pesquisa_satisfacao", "marketing", "Como foi seu atendimento? Responda de 1 a 5."},
		{"lembrete_consulta", "utility", "Lembrete: sua consulta é amanhã às %d:00."},
	}
	botTexts   = []string{"Olá! Sou o assistente virtual. Como posso ajudar?", "Certo, vou verificar seu pedido.", "Seu pedido #%d está em separação.", "Posso ajudar em algo mais?", "Escolha uma opção abaixo:"}
	agentTexts = []string{"Oi, aqui é da equipe de atendimento, tudo bem?", "Já verifiquei, o reembolso sai em até 5 dias úteis.", "Pode me mandar uma foto do produto?", "Obrigado pelo contato, tenha um ótimo dia!"}
	moTexts    = []string{"oi", "Quero saber do meu pedido", "obrigado!", "Qual o prazo de entrega?", "Quero falar com um atendente", "sim", "não", "SAIR", "Bom dia", "ok"}
	buttons    = []string{"Quero", "Não tenho interesse", "Falar com atendente", "Ver ofertas"}
)

// failure is how a failed MT message is stored for one report status.
type failure struct {
	status   domain.Status
	share    float64 // of all MT messages
	platform float64 // share of these refused by ticks before sending (no wamid)
	code     int     // Meta's code when Meta refused it
	title    string
}

// mtOutcomes are the MT final statuses and their shares; the rest of the
// MT messages are read (about 49%) or delivered.
var mtFailures = []failure{
	{domain.StatusTTLExpired, 0.020, 0, 0, ""},
	{domain.StatusUndelivered, 0.025, 0, 131026, "Message undeliverable"},
	{domain.StatusRejected, 0.015, 0, 131049, "This message was not delivered to maintain healthy ecosystem engagement."},
	{domain.StatusInvalidNumber, 0.012, 0.7, 131030, "Recipient phone number not in allowed list"},
	{domain.StatusOptedOut, 0.010, 0.6, 131050, "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business"},
	{domain.StatusInvalidSession, 0.008, 0.8, 131047, "Re-engagement message"},
	{domain.StatusInternalError, 0.003, 0.2, 131000, "Something went wrong"},
	{domain.StatusInvalidContent, 0.007, 0.5, 132001, "Template does not exist"},
	{domain.StatusWarmupBlocked, 0.002, 1, 0, ""},
	{domain.StatusTierLimit, 0.008, 1, 0, ""},
	{domain.StatusInvalidParameter, 0.005, 0.3, 131008, "Required parameter is missing"},
	{domain.StatusSent, 0.040, 0, 0, ""},
}

type contactRow struct {
	id, subaccount        int64
	e164, key, waID, name string
	correlation           string
	createdAt             int64
}

type campaignRun struct {
	id, owner  int64
	template   int
	start, end int64 // ms
	audience   int   // messages left
}

// generator makes the messages, in time order.
type generator struct {
	o          SeedOptions
	r          *rand.Rand
	contacts   []contactRow
	small      []contactRow
	sa, small2 int64
	channels   []int64 // main subaccount's channels
	smallCh    int64
	agents     []int64 // help-desk users
	marketers  []int64 // campaign owners
	bots       []int64
	campaigns  []campaignRun
	nextCamp   int
	count      int
	// recent campaign messages, for quick-reply clicks to answer
	recent []recentMT
	// where next is
	from, lastMS, counter int64
	weights               []float64
	wsum, acc             float64
	total, hour, pos      int
	offsets               []int64
}

type recentMT struct {
	wamid          string
	contact        int
	campaign, user int64
}

func newGenerator(ctx context.Context, st *store.Store, o SeedOptions, res *SeedResult) (*generator, error) {
	g := &generator{o: o, r: rand.New(rand.NewPCG(o.Seed, 0x7469636b73))}
	main := &domain.Subaccount{Name: "bench"}
	small := &domain.Subaccount{Name: "bench-small"}
	for _, sa := range []*domain.Subaccount{main, small} {
		if err := st.CreateSubaccount(ctx, sa); err != nil {
			return nil, err
		}
	}
	g.sa, g.small2 = main.ID, small.ID
	res.Subaccount, res.Small = main.ID, small.ID
	for i, sa := range []int64{main.ID, main.ID, small.ID} {
		ch := &domain.Channel{SubaccountID: sa, Name: fmt.Sprintf("Número %d", i+1), WABAID: fmt.Sprintf("10229012934%04d", i),
			PhoneNumberID: fmt.Sprintf("10654035224%04d", i), DisplayPhone: fmt.Sprintf("551140040%03d", i), Tier: "TIER_100K"}
		if err := st.CreateChannel(ctx, ch); err != nil {
			return nil, err
		}
		if sa == main.ID {
			g.channels = append(g.channels, ch.ID)
		} else {
			g.smallCh = ch.ID
		}
	}
	for i := 0; i < 24; i++ {
		u := &domain.User{Email: fmt.Sprintf("agente%02d@bench.example", i), Name: firstNames[i%len(firstNames)],
			Role: domain.RoleAgent, Subaccounts: []int64{main.ID}}
		if i < 4 {
			u.Email, u.Role = fmt.Sprintf("marketing%02d@bench.example", i), domain.RoleSupervisor
		}
		if err := st.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		if i < 4 {
			g.marketers = append(g.marketers, u.ID)
		} else {
			g.agents = append(g.agents, u.ID)
		}
	}
	res.Users = 24
	g.bots = []int64{1, 2, 3}
	// Contacts: one per 20 messages, numbers of São Paulo mobiles.
	nc := max(o.Messages/20, 100)
	g.contacts = g.makeContacts(main.ID, nc, 1)
	g.small = g.makeContacts(small.ID, max(nc/100, 20), int64(nc)+1)
	// Campaigns: about three a day, each to an audience of 0.1% to 1.5% of
	// the messages, sent over one to three hours in business hours.
	from := ms(o.End.AddDate(0, 0, -o.Days))
	for d := 0; d < o.Days; d++ {
		for k := 0; k < 1+g.r.IntN(5); k++ {
			dayStart := from + int64(d)*86_400_000
			startHour := 12 + g.r.IntN(9) // 09:00 to 17:00 in São Paulo
			c := campaignRun{id: int64(len(g.campaigns) + 1), owner: g.marketers[g.r.IntN(len(g.marketers))],
				template: []int{0, 5, 6, 1, 3, 7}[g.r.IntN(6)],
				start:    dayStart + int64(startHour)*3_600_000 + int64(g.r.IntN(60))*60_000}
			c.end = c.start + int64(1+g.r.IntN(3))*3_600_000
			c.audience = int(float64(o.Messages) * (0.001 + 0.014*g.r.Float64()) * 90 / float64(o.Days) / 3)
			g.campaigns = append(g.campaigns, c)
		}
	}
	sortCampaigns(g.campaigns)
	res.Campaigns = len(g.campaigns)
	return g, nil
}

func sortCampaigns(c []campaignRun) {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j].start < c[j-1].start; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	for i := range c {
		c[i].id = int64(i + 1)
	}
}

func (g *generator) makeContacts(sa int64, n int, firstID int64) []contactRow {
	out := make([]contactRow, n)
	created := ms(g.o.End.AddDate(0, 0, -g.o.Days-30))
	for i := range out {
		e164 := fmt.Sprintf("+55119%08d", 10000000+int(firstID)+i)
		c := contactRow{id: firstID + int64(i), subaccount: sa, e164: e164, key: phone.Canonical(e164), waID: e164[1:],
			name: firstNames[i%len(firstNames)] + " " + strconv.Itoa(i), createdAt: created}
		if g.r.Float64() < 0.6 {
			c.correlation = fmt.Sprintf("CLI-%07d", firstID+int64(i))
		}
		out[i] = c
	}
	return out
}

func (g *generator) contactRows() []contactRow {
	return append(append([]contactRow{}, g.contacts...), g.small...)
}

// hourWeight is the relative traffic of an hour: business hours in São
// Paulo (UTC-3) weigh most, nights and Sundays least.
func hourWeight(t time.Time) float64 {
	local := t.Add(-3 * time.Hour)
	h := local.Hour()
	w := 0.15
	switch {
	case h >= 9 && h < 12, h >= 14 && h < 18:
		w = 1
	case h >= 8 && h < 21:
		w = 0.7
	case h >= 7 && h < 23:
		w = 0.35
	}
	switch local.Weekday() {
	case time.Saturday:
		w *= 0.6
	case time.Sunday:
		w *= 0.3
	}
	return w
}

const seedColumns = `id, subaccount_id, channel_id, direction, wamid, origin, contact_id, phone, wa_id, user_id,
	sender_user_id, bot_id, campaign_id, content_type, text, template_name, template_language, template_category,
	correlation_id, state, state_rank, status, error_code, error_title, error_detail, with_session, conversation_id,
	conversation_type, conversation_category, conversation_expires_at, pricing_model, pricing_category, pricing_type,
	billable, pricing_rank, at, sent_at, delivered_at, read_at, failed_at, context_wamid, button_payload, created_at`

var seedColumnCount = strings.Count(seedColumns, ",") + 1

// start prepares the hours: each gets a share of the messages by its
// weight, with the small subaccount's 1% on top.
func (g *generator) start() {
	from := g.o.End.AddDate(0, 0, -g.o.Days)
	g.from = ms(from)
	g.weights = make([]float64, g.o.Days*24)
	g.wsum = 0
	for h := range g.weights {
		g.weights[h] = hourWeight(from.Add(time.Duration(h) * time.Hour))
		g.wsum += g.weights[h]
	}
	g.total = g.o.Messages + g.o.Messages/100
	g.hour = -1
}

// next writes the next message, oldest first, into row; false at the end.
func (g *generator) next(row []any) bool {
	for g.pos >= len(g.offsets) {
		g.hour++
		if g.hour >= len(g.weights) {
			return false
		}
		g.acc += g.weights[g.hour] / g.wsum * float64(g.total)
		n := int(g.acc) - g.count
		g.offsets = g.offsets[:0]
		for i := 0; i < n; i++ {
			g.offsets = append(g.offsets, g.r.Int64N(3_600_000))
		}
		slices.Sort(g.offsets)
		g.pos = 0
	}
	at := g.from + int64(g.hour)*3_600_000 + g.offsets[g.pos]
	g.pos++
	if at == g.lastMS {
		g.counter++
	} else {
		g.lastMS, g.counter = at, 0
	}
	g.fill(row, at<<20|g.counter, at, g.count)
	g.count++
	return true
}

// zipf picks an index in [0, n) with a skew: a few contacts get many
// messages (the busiest of 500,000 about 1,600 in 10 million), most a few.
func (g *generator) zipf(n int) int {
	u := g.r.Float64()
	return min(int(float64(n)*u*math.Sqrt(u)), n-1)
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// fill writes message number i at instant at into row.
func (g *generator) fill(row []any, id, at int64, i int) {
	r := g.r
	small := i%101 == 100
	sa, contacts := g.sa, g.contacts
	ch := g.channels[0]
	if small {
		sa, contacts, ch = g.small2, g.small, g.smallCh
	} else if r.IntN(4) == 0 {
		ch = g.channels[1]
	}
	ci := g.zipf(len(contacts))
	c := &contacts[ci]
	var (
		direction, origin, wamid              = "mt", "api", any(nil)
		sender, bot, campaign                 int64
		ctype, text, tplName, tplLang, tplCat = "text", "", "", "", ""
		corr, state, status                   = "", "read", domain.StatusRead
		errCode                               int
		errTitle, errDetail                   string
		session                               bool
		convType, convCat                     = "", ""
		pricingModel, pricingCat, pricingTyp  = "", "", ""
		billable                              any
		pricingRank                           = -1
		sentAt, deliveredAt, readAt, failed   any
		contextWAMID, button                  string
	)
	// Campaign traffic, when a campaign is running, takes most of its hour.
	camp := g.runningCampaign(at)
	kind := r.Float64()
	switch {
	case kind < 0.15: // MO
		direction, origin, state, status = "mo", "webhook", "received", "received"
		wamid = fmt.Sprintf("wamid.HBgMNTUxMTk%015X", id)
		k := r.Float64()
		switch {
		case k < 0.14 && len(g.recent) > 0 && !small:
			rc := g.recent[r.IntN(len(g.recent))]
			c = &contacts[rc.contact]
			ctype, text, button = "button", buttons[r.IntN(len(buttons))], "PAYLOAD_"+strconv.Itoa(r.IntN(4))
			campaign, sender, contextWAMID = rc.campaign, rc.user, rc.wamid
		case k < 0.84:
			ctype, text = "text", moTexts[r.IntN(len(moTexts))]
		case k < 0.90:
			ctype, text = "image", "foto do produto"
		case k < 0.95:
			ctype = "audio"
		case k < 0.97:
			ctype, text = "interactive", "Ver ofertas"
		case k < 0.98:
			ctype = "document"
		case k < 0.99:
			ctype = "sticker"
		case k < 0.995:
			ctype = "location"
		default:
			ctype, text = "reaction", "👍"
		}
		session = true
	case camp != nil && kind < 0.70 && !small: // a campaign's template
		origin, ctype, campaign, sender = "campaign", "template", camp.id, camp.owner
		t := templates[camp.template]
		tplName, tplLang, tplCat, text = t.name, "pt_BR", t.category, fillText(t.text, r)
		session = r.Float64() < 0.08
		if c.correlation != "" && r.Float64() < 0.8 {
			corr = c.correlation
		}
		camp.audience--
	case r.Float64() < 0.25: // help-desk agents
		sender = g.agents[g.zipf(len(g.agents))]
		k := r.Float64()
		switch {
		case k < 0.85:
			ctype, text = "text", agentTexts[r.IntN(len(agentTexts))]
		case k < 0.93:
			ctype, text = "image", "comprovante"
		case k < 0.98:
			ctype, text = "document", "nota-fiscal.pdf"
		default:
			ctype = "audio"
		}
		session = r.Float64() < 0.92
	default: // bots and API integrations
		bot = g.bots[r.IntN(len(g.bots))]
		k := r.Float64()
		switch {
		case k < 0.5:
			ctype, text = "text", fillText(botTexts[r.IntN(len(botTexts))], r)
		case k < 0.8:
			t := templates[1+r.IntN(4)]
			ctype, tplName, tplLang, tplCat, text = "template", t.name, "pt_BR", t.category, fillText(t.text, r)
		case k < 0.9:
			ctype, text = "image", "catálogo"
		case k < 0.95:
			ctype, text = "document", "boleto.pdf"
		case k < 0.99:
			ctype, text = "interactive", "Escolha uma opção"
		default:
			ctype = "video"
		}
		session = ctype != "template" && r.Float64() < 0.85
		if c.correlation != "" && r.Float64() < 0.25 {
			corr = c.correlation
		}
	}
	if direction == "mt" {
		// Conversation: a free entry point for 3% of the sessions (ads),
		// user initiated inside a session, business initiated outside.
		switch {
		case session && r.Float64() < 0.03:
			convType, convCat = string(domain.ConversationFreeEntryPoint), "service"
		case session:
			convType, convCat = string(domain.ConversationUserInitiated), "service"
		default:
			convType, convCat = string(domain.ConversationBusinessInitiated), orDefault(tplCat, "utility")
		}
		pricingModel, pricingCat, pricingTyp, billable, pricingRank = "PMP", orDefault(tplCat, "service"), "regular", true, 1
		if session && tplCat == "" {
			pricingTyp, billable = "free_customer_service", false
		}
		// The outcome.
		u := r.Float64()
		status, state = domain.StatusDelivered, "delivered"
		for _, f := range mtFailures {
			if u < f.share {
				status = f.status
				switch {
				case f.status == domain.StatusSent:
					state = "sent"
				case f.status == domain.StatusTTLExpired:
					state = "expired"
				default:
					state = "failed"
					if r.Float64() < f.platform {
						errTitle, errDetail = "refused by ticks", string(f.status)
						wamid = "refused"
					} else {
						errCode, errTitle, errDetail = f.code, f.title, f.title
					}
				}
				break
			}
			u -= f.share
		}
		if status == domain.StatusDelivered && r.Float64() < 0.62 {
			status, state = domain.StatusRead, "read"
		}
		// The newest minutes are still in flight.
		if ms(g.o.End)-at < 120_000 && state != "failed" {
			status, state = domain.StatusSending, "sending"
		}
		if wamid == "refused" {
			wamid, convType, convCat, pricingModel, pricingCat, pricingTyp, billable, pricingRank = nil, "", "", "", "", "", nil, -1
			session = false
			failed = at
		} else if state != "sending" {
			wamid = fmt.Sprintf("wamid.HBgMNTUxMTk%015X", id)
			sentAt = at + 1000 + r.Int64N(2000)
			switch state {
			case "delivered", "read":
				deliveredAt = at + 3000 + r.Int64N(60_000)
				if state == "read" {
					readAt = deliveredAt.(int64) + r.Int64N(3_600_000)
				}
			case "failed":
				failed = at + 2000 + r.Int64N(10_000)
			}
		}
		if origin == "campaign" && wamid != nil && len(g.recent) < 20000 {
			g.recent = append(g.recent, recentMT{wamid: wamid.(string), contact: ci, campaign: campaign, user: sender})
		} else if origin == "campaign" && wamid != nil {
			g.recent[r.IntN(len(g.recent))] = recentMT{wamid: wamid.(string), contact: ci, campaign: campaign, user: sender}
		}
	} else {
		convType, convCat = string(domain.ConversationUserInitiated), "service"
	}
	var convID, convExp any
	if convType != "" {
		// One conversation per contact and channel per 24-hour window.
		window := at / 86_400_000
		convID = fmt.Sprintf("%016x", uint64(c.id)*0x9E3779B97F4A7C15^uint64(window)*0xC2B2AE3D27D4EB4F^uint64(ch))
		convExp = (window + 1) * 86_400_000
	}
	rank := domain.State(state).Rank()
	if direction == "mo" {
		rank = -1
	}
	row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9] =
		id, sa, ch, direction, wamid, origin, c.id, c.e164, c.waID, ""
	row[10], row[11], row[12], row[13], row[14], row[15], row[16], row[17] =
		nullInt(sender), nullInt(bot), nullInt(campaign), ctype, text, tplName, tplLang, tplCat
	row[18], row[19], row[20], row[21], row[22], row[23], row[24], row[25] =
		corr, state, int64(rank), string(status), int64(errCode), errTitle, errDetail, session
	row[26], row[27], row[28], row[29], row[30], row[31], row[32] =
		convID, convType, convCat, convExp, pricingModel, pricingCat, pricingTyp
	row[33], row[34], row[35], row[36], row[37], row[38], row[39], row[40], row[41], row[42] =
		billable, int64(pricingRank), at, sentAt, deliveredAt, readAt, failed, contextWAMID, button, at
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func fillText(t string, r *rand.Rand) string {
	if strings.Contains(t, "%d") {
		return fmt.Sprintf(t, 10000+r.IntN(90000))
	}
	return t
}

// runningCampaign returns the campaign sending at at, if any.
func (g *generator) runningCampaign(at int64) *campaignRun {
	for g.nextCamp < len(g.campaigns) && (g.campaigns[g.nextCamp].end <= at || g.campaigns[g.nextCamp].audience <= 0) {
		g.nextCamp++
	}
	for i := g.nextCamp; i < len(g.campaigns) && g.campaigns[i].start <= at; i++ {
		c := &g.campaigns[i]
		if at < c.end && c.audience > 0 {
			return c
		}
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// loader writes rows fast: its own connection, secondary indexes and
// triggers off during the load.
type loader struct {
	dialect store.Dialect
	db      *sql.DB
}

func newLoader(ctx context.Context, d store.Dialect, dsn string) (*loader, error) {
	l := &loader{dialect: d}
	var err error
	if d == store.Postgres {
		l.db, err = sql.Open("pgx", dsn)
		if err == nil {
			l.db.SetMaxOpenConns(1)
			_, err = l.db.ExecContext(ctx, `SET synchronous_commit = off`)
		}
		if err == nil {
			_, err = l.db.ExecContext(ctx, `SET maintenance_work_mem = '1GB'`)
		}
		return l, err
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
	// No syncs: a seed that fails is started again. A big page cache for
	// the index builds.
	l.db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(OFF)&_pragma=cache_size(-1000000)")
	if err != nil {
		return nil, err
	}
	l.db.SetMaxOpenConns(1)
	return l, nil
}

func (l *loader) close() { l.db.Close() }

// savedDDL is what dropIndexes removed, to put back.
type savedDDL struct {
	indexes, triggers []string
}

// dropIndexes removes the secondary indexes of messages (not the ones that
// enforce uniqueness) and turns its triggers off.
func (l *loader) dropIndexes(ctx context.Context) (*savedDDL, error) {
	s := &savedDDL{}
	var query string
	if l.dialect == store.Postgres {
		query = `SELECT indexname, indexdef, 'index' FROM pg_indexes
			WHERE tablename = 'messages' AND schemaname = current_schema() AND indexdef NOT LIKE 'CREATE UNIQUE%'`
	} else {
		query = `SELECT name, sql, type FROM sqlite_master WHERE tbl_name = 'messages' AND type IN ('index', 'trigger')
			AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'`
	}
	rows, err := l.db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var name, def, typ string
		if err := rows.Scan(&name, &def, &typ); err != nil {
			rows.Close()
			return nil, err
		}
		if typ == "trigger" {
			s.triggers = append(s.triggers, def)
			names = append(names, "DROP TRIGGER "+name)
		} else {
			s.indexes = append(s.indexes, def)
			names = append(names, "DROP INDEX "+name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, stmt := range names {
		if _, err := l.db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	if l.dialect == store.Postgres {
		if _, err := l.db.ExecContext(ctx, `ALTER TABLE messages DISABLE TRIGGER USER`); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// restore builds the saved indexes, or turns the triggers back on.
func (l *loader) restore(ctx context.Context, s *savedDDL, triggers bool) error {
	list := s.indexes
	if triggers {
		list = s.triggers
		if l.dialect == store.Postgres {
			_, err := l.db.ExecContext(ctx, `ALTER TABLE messages ENABLE TRIGGER USER`)
			return err
		}
	}
	for _, stmt := range list {
		if _, err := l.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

func (l *loader) analyze(ctx context.Context) error {
	if l.dialect == store.Postgres {
		// The contacts were loaded with their ids: move the identity past them.
		_, err := l.db.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('contacts', 'id'), (SELECT MAX(id) FROM contacts))`)
		// VACUUM sets the visibility map the index-only scans need.
		for _, table := range []string{"messages", "contacts", "message_rollup_status", "message_rollup",
			"message_rollup_attributed", "message_rollup_delta"} {
			if err == nil {
				_, err = l.db.ExecContext(ctx, `VACUUM ANALYZE `+table)
			}
		}
		return err
	}
	_, err := l.db.ExecContext(ctx, `ANALYZE`)
	return err
}

func (l *loader) contacts(ctx context.Context, list []contactRow) error {
	const cols = `id, subaccount_id, phone, phone_key, wa_id, name, correlation_id, created_at`
	return l.bulk(ctx, "contacts", cols, len(list), func(i int, row []any) bool {
		c := &list[i]
		row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = c.id, c.subaccount, c.e164, c.key, c.waID, c.name, c.correlation, c.createdAt
		return true
	})
}

// messages loads every generated message, 100,000 per transaction.
func (l *loader) messages(ctx context.Context, g *generator, progress io.Writer) error {
	const chunk = 100_000
	g.start()
	t0 := time.Now()
	for more := true; more; {
		n := 0
		err := l.bulk(ctx, "messages", seedColumns, chunk, func(i int, row []any) bool {
			if !g.next(row) {
				more = false
				return false
			}
			n++
			return true
		})
		if err != nil {
			return err
		}
		if progress != nil && g.count/1_000_000 != (g.count-n)/1_000_000 {
			fmt.Fprintf(progress, "%d rows, %.0f rows/s\n", g.count, float64(g.count)/time.Since(t0).Seconds())
		}
	}
	return nil
}

// bulk writes up to n rows into table in one transaction, asking fill
// for each until it says there are no more: COPY on PostgreSQL, prepared
// multi-row inserts on SQLite.
func (l *loader) bulk(ctx context.Context, table, cols string, n int, fill func(i int, row []any) bool) error {
	ncol := strings.Count(cols, ",") + 1
	if l.dialect == store.Postgres {
		conn, err := l.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			names := strings.Split(cols, ",")
			for i := range names {
				names[i] = strings.TrimSpace(names[i])
			}
			row := make([]any, ncol)
			i := 0
			_, err := pc.CopyFrom(ctx, pgx.Identifier{table}, names, pgx.CopyFromFunc(func() ([]any, error) {
				if i == n || !fill(i, row) {
					return nil, nil
				}
				i++
				return row, nil
			}))
			return err
		})
	}
	const per = 100 // rows per statement
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", ncol), ",") + ")"
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+table+` (`+cols+`) VALUES `+strings.TrimSuffix(strings.Repeat(one+",", per), ","))
	if err != nil {
		return err
	}
	defer stmt.Close()
	args := make([]any, ncol*per)
	k := 0 // rows in args
	for i := 0; i < n; i++ {
		if !fill(i, args[k*ncol:(k+1)*ncol]) {
			break
		}
		if k++; k == per {
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert %s: %w", table, err)
			}
			k = 0
		}
	}
	for r := 0; r < k; r++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+cols+`) VALUES `+one, args[r*ncol:(r+1)*ncol]...); err != nil {
			return fmt.Errorf("insert %s: %w", table, err)
		}
	}
	return tx.Commit()
}
