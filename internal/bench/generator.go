package bench

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
	"github.com/ticksapp/ticks/internal/simulator"
)

// The generator writes a world's history oldest first, as the app would
// have stored it. It replays what happened instead of drawing rows: hour
// by hour the contacts write, integrations send templates and codes,
// agents answer, campaigns burst; every send goes through the send
// pipeline's checks in their order (number, session or fallback, template,
// opt-out, tier, warm-up) with its state (contacts' last messages and
// opt-outs, each number's unique contacts in 24 h); what WhatsApp does with
// an accepted message follows the simulator's rules (131047 outside its
// window, pricing per message, free entry points from ads); answers, taps
// and opt-outs come after delivery; and each message's session and
// conversation are what domain.DeriveConversations gives over its contact's
// timeline on its number, as the store derives them.

// Times in the generator are unix milliseconds.
const (
	second = int64(1000)
	minute = 60 * second
	hour   = 60 * minute
	day    = 24 * hour
)

// What people and systems do, as probabilities. One mix for every world:
// the world says who and how much, the mix says how they behave.
var mix = struct {
	// What starts an exchange, by weight: a contact writes first, an
	// integration sends a transactional template or a code, an agent sends
	// an active message, a bot follows up free-form (or with media) on a
	// recent contact, an agent writes to an older contact, someone makes a
	// mistake.
	writes, transactional, code, active, followUp, media, agentOld, mistake float64
	ctwa                                                                    float64 // of contacts writing first: from a Click-to-WhatsApp ad
	optOutWord                                                              float64 // of texts: an opt-out keyword
	botAnswer, agentAnswer, agentSecond, agentLate                          float64 // after a contact writes
	tap, reply, chatReply, marketingStop                                    float64 // after a delivery
	syncFail, failed, read, delivered                                       float64 // WhatsApp's answer
	readSkipsDelivered                                                      float64
}{
	writes: 0.28, transactional: 0.28, code: 0.11, active: 0.13, followUp: 0.08, media: 0.04, agentOld: 0.01, mistake: 0.04,
	ctwa: 0.12, optOutWord: 0.004,
	botAnswer: 0.55, agentAnswer: 0.45, agentSecond: 0.4, agentLate: 0.03,
	tap: 0.22, reply: 0.08, chatReply: 0.25, marketingStop: 0.0025,
	syncFail: 0.006, failed: 0.07, read: 0.55, delivered: 0.33,
	readSkipsDelivered: 0.05,
}

// metaFailures are the codes WhatsApp fails accepted messages with, by
// weight; fitCode turns one that cannot apply into 131026, as the
// simulator does.
var metaFailures = []struct {
	code   int
	weight float64
}{
	{131026, 6}, {131049, 3}, {130472, 1}, {131048, 1}, {131000, 1}, {131016, 1}, {135000, 1},
	{132000, 1}, {132012, 1}, {131053, 1}, {132015, 0.5},
}

// syncFailures are the codes the Cloud API refuses a send with at once
// (no wamid).
var syncFailures = []int{131009, 100, 131000}

var (
	templateOnlyCodes  = []int{132000, 132001, 132005, 132007, 132008, 132012, 132015, 132016}
	marketingOnlyCodes = []int{130472, 131049, 131050, 131063}
	mediaOnlyCodes     = []int{131053}
	// directCodes fail before anything is sent: no "sent" status first.
	directCodes = []int{130472, 131047, 131049, 131050, 131063, 132000, 132001, 132005, 132007, 132008,
		132012, 132015, 132016, 135000}
)

// Vocabulary.
var (
	sentences = []string{"Olá, quero saber mais", "Qual o prazo de entrega?", "Obrigado!", "Não recebi meu pedido",
		"Bom dia! Vocês têm esse produto em estoque?", "Pode me enviar a segunda via do boleto?",
		"Quero falar com um atendente", "Já paguei, segue o comprovante", "Qual o horário de funcionamento da loja?",
		"Consigo trocar o tamanho?", "Vocês entregam no meu bairro?", "Não reconheço essa compra",
		"Perfeito, obrigada pela atenção!", "Tem desconto à vista?", "Meu código não chegou", "Pode cancelar, por favor",
		"Ok 👍", "Quanto custa o frete para São Paulo?", "Esse cupom ainda vale?", "Boa tarde, preciso de ajuda com meu cadastro"}
	optOutWords = []string{"SAIR", "PARAR", "Parar"}
	botTexts    = []string{"Olá, %s! Sou o assistente virtual. Como posso ajudar?", "Certo, %s, vou verificar seu pedido.",
		"%s, seu pedido está em separação e sai hoje.", "Posso ajudar em algo mais, %s?",
		"%s, um atendente vai falar com você em instantes."}
	agentTexts = []string{"Oi %s, aqui é da equipe de atendimento, tudo bem?", "Já verifiquei, %s: o reembolso sai em até 5 dias úteis.",
		"%s, pode me mandar uma foto do produto?", "Obrigado pelo contato, %s, tenha um ótimo dia!",
		"%s, seu pedido foi reenviado e chega amanhã."}
	mediaKinds = []struct{ kind, text string }{{"image", "Catálogo da semana"}, {"document", "Segunda via do boleto"},
		{"image", ""}, {"document", "Nota fiscal"}, {"video", "Como usar"}}
	inboundKinds = []struct {
		kind   string
		weight float64
	}{{"text", 60}, {"image", 6}, {"audio", 8}, {"video", 2}, {"document", 3}, {"sticker", 4}, {"location", 2},
		{"contacts", 1}, {"reaction", 8}, {"order", 1}, {"unsupported", 1}}
	interactiveReplies = []string{"Rastrear pedido", "Segunda via", "Falar com atendente"}
	unknownTemplates   = []string{"black_friday", "promo_natal", "boas_vindas_v2"}
)

type eventKind uint8

const (
	evHour     eventKind = iota // an hour starts: its traffic is scheduled
	evSlot                      // something starts an exchange
	evCampaign                  // a campaign's next send
	evWarmup                    // a warm-up program's send
	evWrite                     // a contact writes (first, or answering ref)
	evTap                       // a contact taps a quick reply of ref
	evAnswer                    // the business answers a contact (n: 0 bot, 1 agent, 2 agent's second)
	evStop                      // a contact stops marketing messages (no message)
)

// event is something that happens at at; seq orders events of one instant
// as they were scheduled.
type event struct {
	at      int64
	seq     uint64
	kind    eventKind
	camp    bool // part of a campaign's traffic
	depth   int8 // how deep in an exchange
	sub     int32
	ch      int32
	contact int32
	n       int32
	ref     *sentRef
}

// sentRef is a sent message that can be answered.
type sentRef struct {
	wamid                 string
	campaign, sender, bot int64
	replies               []string // quick replies a contact can tap
}

// eventQueue is a binary heap of events by (at, seq).
type eventQueue []event

func (q eventQueue) less(i, j int) bool {
	return q[i].at < q[j].at || q[i].at == q[j].at && q[i].seq < q[j].seq
}

func (q *eventQueue) push(e event) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *eventQueue) pop() event {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// contactGen is a contact and what ticks knows of it.
type contactGen struct {
	id                     int64
	phone, key, waID, name string
	first                  string // first name, for templates and greetings
	correlation            string
	lastInbound            int64 // its last message on any number: the pipeline's session
	optedOut               bool
	optAt                  int64 // when it last changed; 0: before the history
	wrote                  bool
}

// timeline is one contact on one number: the state conversation derivation
// and WhatsApp's windows carry from message to message.
type timeline struct {
	lastAt int64 // its last message, so that no two share an instant
	lastMO int64 // the contact's last message on this number (WhatsApp's window)
	ref    bool  // that message came from an ad
	entry  int64 // its last Click-to-WhatsApp entry (WhatsApp's free entry point)
	conv   *domain.Conversation
}

// chanGen is a number and its tier window: the unique contacts reached
// outside a session in the last 24 h, as the pipeline keeps them.
type chanGen struct {
	WorldChannel
	idx         int
	since       int64
	warmupUntil int64
	limit       int
	fallback    *tplGen
	warmupTpl   *tplGen
	tierLast    map[int32]int64
	tierQ       []tierRecord
}

type tierRecord struct {
	at      int64
	contact int32
}

// inWarmup reports whether the number is in its warm-up program at at.
func (c *chanGen) inWarmup(at int64) bool {
	return c.warmupUntil > 0 && at >= c.since && at < c.warmupUntil
}

// tierAllows is the pipeline's tier check: a contact already reached in
// the window is allowed, else one more fits under the limit.
func (c *chanGen) tierAllows(contact int32, at int64) bool {
	if c.limit == 0 {
		return true
	}
	if t, ok := c.tierLast[contact]; ok && at-t < day {
		return true
	}
	for len(c.tierQ) > 0 && at-c.tierQ[0].at >= day {
		r := c.tierQ[0]
		c.tierQ = c.tierQ[1:]
		if c.tierLast[r.contact] == r.at {
			delete(c.tierLast, r.contact)
		}
	}
	return len(c.tierLast) < c.limit
}

func (c *chanGen) tierRecord(contact int32, at int64) {
	if c.limit == 0 {
		return
	}
	c.tierLast[contact] = at
	c.tierQ = append(c.tierQ, tierRecord{at, contact})
}

type recentWriter struct {
	contact, ch int32
	at          int64
}

type subGen struct {
	WorldSubaccount
	idx      int
	contacts []contactGen
	chans    []*chanGen
	tl       []timeline
	recent   []recentWriter // a ring of contacts who wrote lately
	nrecent  int
	// Hourly volume of the traffic outside campaigns, and how many rows
	// each start of an exchange has made so far (to schedule as many
	// starts as the volume asks).
	share, acc         float64
	starts, baseRows   float64
	campSent, campRows float64 // campaign sends, and the rows they and their answers made
	planned            float64 // campaign sends planned
	campaignPlan       []campaignRun
	nextCampaign       int
	campaignChanWeight float64
}

func (s *subGen) timeline(contact int32, ch *chanGen) *timeline {
	return &s.tl[int(contact)*len(s.chans)+ch.idx]
}

type campaignRun struct {
	Campaign
	sub      *subGen
	ch       *chanGen
	tpl      *tplGen
	start    int64
	interval int64
	first    int // the audience walks the contacts from first by stride
	stride   int
}

// tplGen is a template, its body split around its placeholders.
type tplGen struct {
	WorldTemplate
	cat     string // as messages store it (domain.TemplateCategoryOf)
	parts   []string
	slots   []int // parameter number (from 1) after parts[i]
	params  int
	buttons []string
}

var bodyPlaceholder = regexp.MustCompile(`\{\{\s*(\d+)\s*\}\}`)

func newTplGen(t WorldTemplate) *tplGen {
	g := &tplGen{WorldTemplate: t, cat: domain.TemplateCategoryOf(t.Category), buttons: t.QuickReplies}
	last := 0
	for _, m := range bodyPlaceholder.FindAllStringSubmatchIndex(t.Body, -1) {
		n, _ := strconv.Atoi(t.Body[m[2]:m[3]])
		g.parts = append(g.parts, t.Body[last:m[0]])
		g.slots = append(g.slots, n)
		g.params = max(g.params, n)
		last = m[1]
	}
	g.parts = append(g.parts, t.Body[last:])
	return g
}

// render fills the body for a contact, as domain.RenderBody would with the
// parameters drawn from the template's examples.
func (t *tplGen) render(r *rand.Rand, first string, b *strings.Builder) string {
	if t.params == 0 {
		return t.Body
	}
	var vals [8]string
	for i := 1; i <= t.params && i <= len(vals); i++ {
		ex := ""
		if i <= len(t.Examples) {
			ex = t.Examples[i-1]
		}
		vals[i-1] = paramLike(r, ex, first)
	}
	b.Reset()
	for i, p := range t.parts {
		b.WriteString(p)
		if i < len(t.slots) {
			if n := t.slots[i]; n >= 1 && n <= t.params && n <= len(vals) {
				b.WriteString(vals[n-1])
			} else {
				fmt.Fprintf(b, "{{%d}}", n)
			}
		}
	}
	return b.String()
}

// paramLike draws a value like a template's example: a name becomes the
// contact's first name, digits other digits of the same length, a missing
// example a six-digit code; anything else stays as the template shows it.
func paramLike(r *rand.Rand, example, first string) string {
	switch {
	case example == "":
		return fmt.Sprintf("%06d", r.IntN(1_000_000))
	case isDigits(example):
		lo := int(math.Pow10(len(example) - 1))
		return strconv.Itoa(lo + r.IntN(9*lo))
	case isName(example):
		return first
	}
	return example
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func isName(s string) bool {
	for i, c := range s {
		if i == 0 && (c < 'A' || c > 'Z') || c == ' ' || c >= '0' && c <= '9' {
			return false
		}
	}
	return s != ""
}

// typo is a number someone typed wrong, and why the pipeline refuses it.
type typo struct{ raw, err string }

// generator makes a world's messages, in time order.
type generator struct {
	w        *World
	r        *rand.Rand
	subs     []*subGen
	tpls     []*tplGen
	campTpls []*tplGen // campaign templates: marketing, and utility with quick replies
	trans    []*tplGen // transactional: utility with parameters
	codes    []*tplGen // authentication
	active   []*tplGen // active messages of the desk: utility and marketing with parameters
	q        eventQueue
	seq      uint64
	start    int64
	end      int64 // no message at or after
	stop     int64 // no event at or after
	hours    int
	hourW    []float64 // weight of each hour of the history
	wsum     float64
	typos    []typo
	sb       strings.Builder
	one      [1]domain.TimelineMessage

	instant, counter int64 // of the last id
	count            int   // rows made
	mt, mo           int
	campaigns        []Campaign
}

// newGenerator prepares w's history; ids are the contacts' ids, by
// subaccount and contact (zeros for a dry run).
func newGenerator(w *World, ids [][]int64) *generator {
	g := &generator{w: w, r: rand.New(rand.NewPCG(w.Seed, 0x7469636b73)), start: ms(w.start()), end: ms(w.End)}
	g.stop = g.end - second
	for _, t := range w.Templates {
		tg := newTplGen(t)
		g.tpls = append(g.tpls, tg)
		switch {
		case tg.cat == "marketing":
			g.campTpls = append(g.campTpls, tg)
			if tg.params > 0 {
				g.active = append(g.active, tg)
			}
		case tg.cat == "utility" && tg.params > 0:
			g.trans = append(g.trans, tg)
			g.active = append(g.active, tg)
			if len(tg.buttons) > 0 {
				g.campTpls = append(g.campTpls, tg)
			}
		case tg.cat == "authentication":
			g.codes = append(g.codes, tg)
		}
	}
	total := 0.0
	for _, sa := range w.Subaccounts {
		total += sa.Share
	}
	for i, sa := range w.Subaccounts {
		s := &subGen{WorldSubaccount: sa, idx: i, recent: make([]recentWriter, 256)}
		for j, ch := range sa.Channels {
			c := &chanGen{WorldChannel: ch, idx: j, limit: tierLimit(ch.Tier), tierLast: map[int32]int64{}}
			if !ch.Since.IsZero() {
				c.since = ms(ch.Since)
			}
			if !ch.WarmupUntil.IsZero() {
				c.warmupUntil = ms(ch.WarmupUntil)
				c.warmupTpl = g.tpls[w.template(ch.WarmupTemplate, "")]
			}
			if ch.Fallback != "" {
				c.fallback = g.tpls[w.template(ch.Fallback, ch.FallbackLanguage)]
			}
			s.chans = append(s.chans, c)
		}
		s.contacts = make([]contactGen, len(sa.Contacts))
		for j, c := range sa.Contacts {
			key := phone.Canonical(c.Phone)
			cg := contactGen{phone: c.Phone, key: key, waID: strings.TrimPrefix(c.Phone, "+"), name: c.Name,
				first: strings.Fields(c.Name + " x")[0], correlation: c.CorrelationID, optedOut: c.OptedOut}
			if ids != nil {
				cg.id = ids[i][j]
			}
			s.contacts[j] = cg
		}
		s.tl = make([]timeline, len(s.contacts)*len(s.chans))
		s.share = float64(w.PerDay) * float64(w.Days) * sa.Share / total
		g.planCampaigns(s)
		for _, c := range s.campaignPlan {
			s.planned += float64(c.Audience)
		}
		s.starts, s.baseRows = 1, 2 // a first guess of rows per start
		g.subs = append(g.subs, s)
	}
	// Campaigns are numbered by when they start, all before the history is
	// made: their list is whole from the start (a campaigns table can be
	// written before their messages), and their sends tell their end.
	var runs []*campaignRun
	for _, s := range g.subs {
		for i := range s.campaignPlan {
			if c := &s.campaignPlan[i]; c.start < g.stop {
				runs = append(runs, c)
			}
		}
	}
	slices.SortStableFunc(runs, func(a, b *campaignRun) int { return cmp.Compare(a.start, b.start) })
	for i, c := range runs {
		c.ID, c.Name = int64(i+1), campaignName(c.tpl.Name, c.start)
		c.Start = time.UnixMilli(c.start).UTC()
		c.End = c.Start
		g.campaigns = append(g.campaigns, c.Campaign)
	}
	// Hours weigh by São Paulo business hours, weekdays and holidays, and
	// each day by a factor of its own.
	g.hours = w.Days * 24
	g.hourW = make([]float64, g.hours)
	factor := 1.0
	for h := range g.hours {
		t := time.UnixMilli(g.start + int64(h)*hour).UTC()
		if h%24 == 0 {
			factor = 0.85 + 0.3*g.r.Float64()
		}
		g.hourW[h] = hourWeight(t) * factor
		g.wsum += g.hourW[h]
	}
	for _, raw := range []string{"+55 11 %d", "11 9%d", "(11) 9 8765-%d", "+55 11 98765-43%dA"} {
		s := fmt.Sprintf(raw, g.r.IntN(9999))
		if _, err := phone.Normalize(s, "BR"); err != nil {
			g.typos = append(g.typos, typo{s, err.Error()})
		}
	}
	g.schedule(event{at: g.start, kind: evHour})
	return g
}

// hourWeight is the relative traffic of an hour: business hours in São
// Paulo (UTC-3, no daylight saving since 2019) weigh most, nights least,
// Saturdays less and Sundays and national holidays least.
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
	switch {
	case local.Weekday() == time.Sunday || holiday(local):
		w *= 0.3
	case local.Weekday() == time.Saturday:
		w *= 0.6
	}
	return w
}

// holiday reports whether a local day is one of Brazil's fixed national
// holidays.
func holiday(t time.Time) bool {
	switch t.Month()*100 + time.Month(t.Day()) {
	case 101, 421, 501, 907, 1012, 1102, 1115, 1120, 1225:
		return true
	}
	return false
}

// businessHours reports whether agents work at t (São Paulo): weekdays
// 8:00 to 19:00, Saturdays 9:00 to 13:00.
func businessHours(t int64) bool {
	local := time.UnixMilli(t).UTC().Add(-3 * time.Hour)
	h := local.Hour()
	switch {
	case local.Weekday() == time.Sunday || holiday(local):
		return false
	case local.Weekday() == time.Saturday:
		return h >= 9 && h < 13
	}
	return h >= 8 && h < 19
}

// nextBusinessHour returns the next instant agents work at or after t.
func nextBusinessHour(t int64) int64 {
	for i := 0; i < 24*7 && !businessHours(t); i++ {
		t = t/hour*hour + hour
	}
	return t
}

// planCampaigns draws a subaccount's campaigns: on business days, in
// business hours, each to a share of the contacts.
func (g *generator) planCampaigns(s *subGen) {
	if len(s.Marketers) == 0 || s.Campaigns <= 0 || len(g.campTpls) == 0 {
		return
	}
	for d := 0; d < g.w.Days; d++ {
		dayStart := g.start + int64(d)*day
		local := time.UnixMilli(dayStart + 15*hour).UTC().Add(-3 * time.Hour)
		if local.Weekday() == time.Sunday || local.Weekday() == time.Saturday || holiday(local) {
			continue
		}
		n := int(s.Campaigns)
		if g.r.Float64() < s.Campaigns-float64(n) {
			n++
		}
		for range n {
			ch := g.pickChannel(s, dayStart+12*hour, true)
			if ch == nil {
				continue
			}
			tpl := g.campTpls[g.r.IntN(len(g.campTpls))]
			lo, hi := s.CampaignAudience[0], s.CampaignAudience[1]
			audience := max(1, int(float64(len(s.contacts))*(lo+(hi-lo)*g.r.Float64())))
			audience = min(audience, len(s.contacts))
			// Local 9:00 to 17:00: UTC 12:00 to 20:00.
			start := dayStart + 12*hour + int64(g.r.IntN(8*60))*minute
			// A small business sends over minutes, a big list over hours.
			dur := min(max(int64(audience)*int64(1+g.r.IntN(4))*second, 5*minute), 3*hour)
			c := campaignRun{Campaign: Campaign{SubaccountID: s.ID, ChannelID: ch.ID, OwnerID: s.Marketers[g.r.IntN(len(s.Marketers))],
				Template: tpl.Name, Language: tpl.Language, Audience: audience},
				sub: s, ch: ch, tpl: tpl, start: start, interval: max(dur/int64(audience), 50),
				first: g.r.IntN(len(s.contacts)), stride: coprimeStride(g.r, len(s.contacts))}
			s.campaignPlan = append(s.campaignPlan, c)
		}
	}
	slices.SortStableFunc(s.campaignPlan, func(a, b campaignRun) int { return cmp.Compare(a.start, b.start) })
}

// coprimeStride returns a step that walks every index of [0, n) once.
func coprimeStride(r *rand.Rand, n int) int {
	if n < 3 {
		return 1
	}
	for {
		s := 1 + r.IntN(n-1)
		if gcd(s, n) == 1 {
			return s
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// pickChannel draws a number of s by share among those working at at;
// campaigns skip numbers in warm-up.
func (g *generator) pickChannel(s *subGen, at int64, campaign bool) *chanGen {
	total := 0.0
	for _, c := range s.chans {
		if at >= c.since && !(campaign && c.inWarmup(at)) {
			total += c.Share
		}
	}
	x := g.r.Float64() * total
	var last *chanGen
	for _, c := range s.chans {
		if at >= c.since && !(campaign && c.inWarmup(at)) {
			last = c
			if x < c.Share {
				return c
			}
			x -= c.Share
		}
	}
	return last
}

func (g *generator) schedule(e event) {
	if e.at >= g.stop {
		return
	}
	g.seq++
	e.seq = g.seq
	g.q.push(e)
}

// zipf picks an index in [0, n) with a skew: a few contacts get many
// messages, most a few.
func (g *generator) zipf(n int) int32 {
	u := g.r.Float64()
	return int32(min(int(float64(n)*u*math.Sqrt(u)), n-1))
}

// next makes the next message, oldest first, into m; false at the end.
func (g *generator) next(m *msg) bool {
	for len(g.q) > 0 {
		e := g.q.pop()
		*m = msg{}
		if g.handle(&e, m) {
			if e.at == g.instant {
				g.counter++
			} else {
				g.instant, g.counter = e.at, 0
			}
			m.id = g.instant<<20 | g.counter
			m.created = e.at
			g.count++
			if m.direction == "mo" {
				g.mo++
			} else {
				g.mt++
			}
			if s := g.subs[e.sub]; e.camp {
				s.campRows++
				if e.kind == evCampaign {
					s.campSent++
				}
			} else {
				s.baseRows++
			}
			return true
		}
	}
	return false
}

// handle plays an event; true when it made a message.
func (g *generator) handle(e *event, m *msg) bool {
	switch e.kind {
	case evHour:
		g.hour(e.at)
		return false
	case evSlot:
		return g.slot(e, m)
	case evCampaign:
		return g.campaignSend(e, m)
	case evWarmup:
		s := g.subs[e.sub]
		ch := s.chans[e.ch]
		e.contact = g.zipf(len(s.contacts))
		return g.send(e, m, &request{sub: s, ch: ch, contact: e.contact, origin: "warmup", kind: "template", tpl: ch.warmupTpl})
	case evWrite, evTap:
		return g.receive(e, m)
	case evAnswer:
		return g.answer(e, m)
	case evStop:
		c := &g.subs[e.sub].contacts[e.contact]
		if !c.optedOut {
			c.optedOut, c.optAt = true, e.at
		}
		return false
	}
	return false
}

// hour schedules an hour's starts of exchanges, warm-up sends and
// campaigns, then the next hour.
func (g *generator) hour(at int64) {
	h := int((at - g.start) / hour)
	if h >= g.hours {
		return
	}
	for _, s := range g.subs {
		// The campaigns' share of the volume is their sends and what
		// answers them (taps, replies, the business's answers to those):
		// measured as it goes, a guess until then.
		perSend := 1.5
		if s.campSent > 100 {
			perSend = s.campRows / s.campSent
		}
		base := max(s.share-s.planned*perSend, s.share*0.2)
		rowsPerStart := max(s.baseRows/s.starts, 1)
		s.acc += base * g.hourW[h] / g.wsum / rowsPerStart
		n := int(s.acc)
		s.acc -= float64(n)
		s.starts += float64(n)
		for range n {
			g.schedule(event{at: at + g.r.Int64N(hour), kind: evSlot, sub: int32(s.idx)})
		}
		for _, ch := range s.chans {
			if ch.inWarmup(at) && businessHours(at) {
				for range g.r.IntN(4) {
					g.schedule(event{at: at + g.r.Int64N(hour), kind: evWarmup, sub: int32(s.idx), ch: int32(ch.idx)})
				}
			}
		}
		for s.nextCampaign < len(s.campaignPlan) && s.campaignPlan[s.nextCampaign].start < at+hour {
			if c := &s.campaignPlan[s.nextCampaign]; c.ID != 0 {
				g.schedule(event{at: c.start, kind: evCampaign, camp: true, sub: int32(s.idx), n: int32(s.nextCampaign)})
			}
			s.nextCampaign++
		}
	}
	g.schedule(event{at: at + hour, kind: evHour})
}

// campaignName names a campaign as a marketer would: its template and day.
func campaignName(tpl string, start int64) string {
	local := time.UnixMilli(start).UTC().Add(-3 * time.Hour)
	return strings.ReplaceAll(tpl, "_", " ") + " " + local.Format("02/01")
}

// slot starts an exchange.
func (g *generator) slot(e *event, m *msg) bool {
	s := g.subs[e.sub]
	r := g.r
	x := r.Float64() * (mix.writes + mix.transactional + mix.code + mix.active + mix.followUp + mix.media + mix.agentOld + mix.mistake)
	ch := g.pickChannel(s, e.at, false)
	if ch == nil {
		return false
	}
	req := &request{sub: s, ch: ch, contact: g.zipf(len(s.contacts)), origin: "api"}
	switch {
	case x < mix.writes:
		e.contact, e.ch, e.kind = req.contact, int32(ch.idx), evWrite
		return g.receive(e, m)
	case x < mix.writes+mix.transactional && len(g.trans) > 0:
		req.kind, req.tpl, req.bot = "template", g.trans[r.IntN(len(g.trans))], pick(r, s.Bots)
	case x < mix.writes+mix.transactional+mix.code && len(g.codes) > 0:
		req.kind, req.tpl, req.bot = "template", g.codes[r.IntN(len(g.codes))], pick(r, s.Bots)
	case x < mix.writes+mix.transactional+mix.code+mix.active && len(g.active) > 0 && len(s.Agents) > 0:
		req.kind, req.tpl, req.sender = "template", g.active[r.IntN(len(g.active))], pick(r, s.Agents)
	case x < mix.writes+mix.transactional+mix.code+mix.active+mix.followUp+mix.media:
		// A bot follows up on someone who wrote lately: still in the window,
		// or not any more.
		if s.nrecent > 0 {
			w := s.recent[r.IntN(min(s.nrecent, len(s.recent)))]
			req.contact, req.ch = w.contact, s.chans[w.ch]
		}
		req.bot = pick(r, s.Bots)
		if x < mix.writes+mix.transactional+mix.code+mix.active+mix.followUp {
			req.kind, req.text = "text", fmt.Sprintf(botTexts[r.IntN(len(botTexts))], s.contacts[req.contact].first)
		} else {
			mk := mediaKinds[r.IntN(len(mediaKinds))]
			req.kind, req.text = mk.kind, mk.text
		}
	case x < mix.writes+mix.transactional+mix.code+mix.active+mix.followUp+mix.media+mix.agentOld && len(s.Agents) > 0:
		req.kind, req.sender = "text", pick(r, s.Agents)
		req.text = fmt.Sprintf(agentTexts[r.IntN(len(agentTexts))], s.contacts[req.contact].first)
	default: // mistakes: a number typed wrong, a template that does not exist, parameters missing
		req.bot = pick(r, s.Bots)
		req.kind = "template"
		switch y := r.Float64(); {
		case y < 0.45 && len(g.typos) > 0:
			req.contact, req.typo = -1, r.IntN(len(g.typos))
			req.kind, req.text = "text", "Oi!"
		case y < 0.7 || len(g.trans) == 0:
			req.unknown = unknownTemplates[r.IntN(len(unknownTemplates))]
		default:
			req.tpl, req.wrongParams = g.trans[r.IntN(len(g.trans))], true
		}
	}
	e.contact, e.ch = req.contact, int32(req.ch.idx)
	if req.kind == "" { // a kind the world has nothing for: a contact writes instead
		e.kind = evWrite
		return g.receive(e, m)
	}
	return g.send(e, m, req)
}

func pick(r *rand.Rand, ids []int64) int64 {
	if len(ids) == 0 {
		return 0
	}
	return ids[r.IntN(len(ids))]
}

// campaignSend sends a campaign's template to the next of its audience.
func (g *generator) campaignSend(e *event, m *msg) bool {
	s := g.subs[e.sub]
	c := &s.campaignPlan[e.n]
	k := int(e.at-c.start) / int(c.interval) // how many were sent before
	if k >= c.Audience {
		return false
	}
	contact := int32((c.first + k*c.stride) % len(s.contacts))
	next := c.start + int64(k+1)*c.interval + g.r.Int64N(c.interval/2+1)
	if k+1 < c.Audience {
		ev := *e
		ev.at = max(next, e.at+1)
		g.schedule(ev)
	}
	g.campaigns[c.ID-1].End = time.UnixMilli(e.at).UTC()
	e.contact, e.ch = contact, int32(c.ch.idx)
	return g.send(e, m, &request{sub: s, ch: c.ch, contact: contact, origin: "campaign", kind: "template", tpl: c.tpl,
		sender: c.OwnerID, campaign: c.ID})
}

// request is a message handed to the send pipeline.
type request struct {
	sub                   *subGen
	ch                    *chanGen
	contact               int32 // -1: typo
	typo                  int
	origin                string
	sender, bot, campaign int64
	kind                  string // text, template, image, document, video, interactive
	text                  string
	tpl                   *tplGen
	unknown               string // a template name that does not exist
	wrongParams           bool
}

// msg is a message as the generator made it.
type msg struct {
	id, created             int64
	sub                     int64
	ch                      int64
	direction, origin       string
	wamid                   string
	contact                 int64
	phone, waID             string
	sender, bot, campaign   int64
	contentType, text       string
	tplName, tplLang        string
	tplCat, correlation     string
	state                   domain.State
	status                  domain.Status
	errCode                 int
	errTitle, errDetail     string
	withSession             bool
	conv                    *domain.Conversation
	metaConvID, metaConvTyp string
	metaConvExp             int64
	pricingModel, pricingC  string
	pricingType             string
	billable                int8 // -1 null
	pricingRank             int
	at                      int64
	sentAt, deliveredAt     int64
	readAt, failedAt        int64
	context, button         string
	referral                string
}

func (g *generator) wamid(at int64) string {
	// The id this message gets: the instant, and a counter at one instant.
	n := g.counter + 1
	if at != g.instant {
		n = 0
	}
	return wamidOf(at<<20 | n)
}

// wamidOf is the wamid of the message with id: a Meta-like prefix and the
// id in hexadecimal, so that wamids are unique as ids are.
func wamidOf(id int64) string {
	const prefix = "wamid.HBgMNTUxMTk"
	var b [len(prefix) + 16]byte
	copy(b[:], prefix)
	hex := strconv.AppendUint(b[len(prefix):len(prefix)], uint64(id), 16)
	return string(b[:len(prefix)+len(hex)])
}

// send runs req through the send pipeline's checks, in its order, then
// through WhatsApp.
func (g *generator) send(e *event, m *msg, req *request) bool {
	r := g.r
	s, ch := req.sub, req.ch
	at := e.at
	m.sub, m.ch, m.direction, m.origin = s.ID, ch.ID, "mt", req.origin
	m.sender, m.bot, m.campaign = req.sender, req.bot, req.campaign
	m.contentType, m.text = req.kind, req.text
	m.billable, m.pricingRank = -1, -1
	m.pricingModel = "PMP"
	m.at = at
	refuse := func(st domain.Status, title, detail string) bool {
		m.state, m.status, m.errTitle, m.errDetail = domain.StateFailed, st, title, detail
		m.pricingModel = ""
		return true
	}
	// 1. Number validity.
	if req.contact < 0 {
		t := g.typos[req.typo]
		m.phone = t.raw
		return refuse(domain.StatusInvalidNumber, "invalid destination number", t.err)
	}
	c := &s.contacts[req.contact]
	tl := s.timeline(req.contact, ch)
	at = max(at, tl.lastAt+1)
	m.at = at
	m.contact, m.phone, m.waID, m.correlation = c.id, c.phone, c.waID, c.correlation
	session := c.lastInbound > 0 && at < c.lastInbound+day

	// 2. Session window: free-form only inside it, else the fallback.
	tpl, unknown := req.tpl, req.unknown
	if req.kind != "template" && !session {
		if ch.fallback == nil {
			return refuse(domain.StatusInvalidSession, "session closed and no fallback template",
				"free-form messages can only be sent within 24 hours of the contact's last message")
		}
		tpl, m.contentType, req.wrongParams = ch.fallback, "template", false
	}
	// 3. Template and content.
	if unknown != "" {
		m.tplName, m.tplLang = unknown, "pt_BR"
		return refuse(domain.StatusInvalidContent, "template not found",
			fmt.Sprintf("template %q (%s) does not exist on this WhatsApp account", unknown, "pt_BR"))
	}
	if tpl != nil {
		m.tplName, m.tplLang, m.tplCat = tpl.Name, tpl.Language, tpl.cat
		if req.wrongParams {
			return refuse(domain.StatusInvalidContent, "wrong parameter count",
				fmt.Sprintf("template %q takes %d body parameters, %d given", tpl.Name, tpl.params, tpl.params-1))
		}
		m.text = tpl.render(r, c.first, &g.sb)
	}
	// 4. Opt-out.
	if c.optedOut && tpl != nil && m.tplCat != "authentication" {
		return refuse(domain.StatusOptedOut, "contact opted out", "the contact asked to stop receiving messages")
	}
	// 5. Tier limit.
	if !session && !ch.tierAllows(req.contact, at) {
		return refuse(domain.StatusTierLimit, "messaging limit reached",
			fmt.Sprintf("%s allows %d unique contacts outside a session in 24 hours", ch.Tier, ch.limit))
	}
	// 6. Warm-up.
	if ch.inWarmup(at) && req.origin != "warmup" {
		return refuse(domain.StatusWarmupBlocked, "number in warm-up",
			"the number is in a warm-up program until "+time.UnixMilli(ch.warmupUntil).UTC().Format(time.RFC3339)+"; only its scheduled sends go")
	}
	// The pipeline's estimate of the pricing.
	m.pricingC, m.pricingType = "service", "free_customer_service"
	if tpl != nil {
		m.pricingC, m.pricingType = m.tplCat, "regular"
		if session && m.tplCat == "utility" {
			m.pricingType = "free_customer_service"
		}
	}
	if !session {
		ch.tierRecord(req.contact, at)
	}
	if r.Float64() < mix.syncFail {
		code := syncFailures[r.IntN(len(syncFailures))]
		me := metaError(code)
		m.state, m.status = domain.StateFailed, domain.StatusFromMetaError(code)
		m.errCode, m.errTitle, m.errDetail = code, me.Title, me.Details
		m.failedAt = at + 200 + r.Int64N(800)
		return true
	}
	if g.w.InFlight > 0 && g.end-at < g.w.InFlight.Milliseconds() {
		m.state, m.status = domain.StateSending, domain.StatusSending
		tl.lastAt = at
		m.withSession, m.conv = g.derive(s, ch, req.contact, domain.DirectionMT, at, m.tplCat, false)
		return true
	}
	m.wamid = g.wamid(e.at)
	g.whatsapp(e, m, req, c, tl, tpl, at)
	tl.lastAt = at
	m.withSession, m.conv = g.derive(s, ch, req.contact, domain.DirectionMT, at, m.tplCat, false)
	return true
}

// whatsapp plays what WhatsApp does with an accepted message (the
// simulator's rules): its statuses with their pricing, then the contact's
// tap, answer or opt-out.
func (g *generator) whatsapp(e *event, m *msg, req *request, c *contactGen, tl *timeline, tpl *tplGen, at int64) {
	r := g.r
	category := "service"
	if tpl != nil {
		category = tpl.Category
	}
	inWindow := tl.lastMO > 0 && at-tl.lastMO < day
	fromAd := tl.entry > 0 && at-tl.entry < 3*day
	// Meta's pricing, on the sent and delivered statuses.
	pc, pt, billable := category, "regular", true
	var metaConv string
	switch {
	case fromAd:
		pc, pt, billable = "referral_conversion", "free_entry_point", false
		h := fnv.New64a()
		h.Write([]byte(req.ch.PhoneNumberID + "/" + c.waID))
		metaConv = fmt.Sprintf("%016x%016x", uint64(tl.entry)*0x9E3779B97F4A7C15, h.Sum64())
	case category == "service" || category == "utility" && inWindow:
		pt, billable = "free_customer_service", false
	}
	withPricing := func(rank int) {
		m.pricingModel, m.pricingC, m.pricingType, m.pricingRank = "PMP", pc, pt, rank
		m.billable = 0
		if billable {
			m.billable = 1
		}
		if metaConv != "" {
			m.metaConvID, m.metaConvTyp, m.metaConvExp = metaConv, "referral_conversion", tl.entry+3*day
		}
	}
	sentAt := (at + 300 + r.Int64N(2500)) / second * second // webhooks carry seconds
	code := 0
	switch x := r.Float64(); {
	case tpl == nil && !inWindow:
		code = 131047 // ticks saw a window on another number; WhatsApp has none on this one
	case category == "marketing" && c.optedOut:
		code = 131050
	case x < mix.failed:
		code = fitCode(metaFailures[weighted(r)].code, tpl != nil, category, m.contentType)
	case x < mix.failed+mix.read:
		code = -2
	case x < mix.failed+mix.read+mix.delivered:
		code = -1
	}
	if code > 0 {
		me := metaError(code)
		m.state, m.status = domain.StateFailed, domain.StatusFromMetaError(code)
		m.errCode, m.errTitle, m.errDetail = code, me.Title, me.Details
		if slices.Contains(directCodes, code) || r.IntN(2) == 0 {
			m.failedAt = sentAt
		} else {
			m.sentAt = sentAt
			m.failedAt = (sentAt + 1000 + r.Int64N(60_000)) / second * second
			withPricing(domain.StateSent.Rank())
		}
		return
	}
	m.sentAt = sentAt
	withPricing(domain.StateSent.Rank())
	if code == 0 {
		m.state, m.status = domain.StateSent, domain.StatusSent
		if g.w.TTL > 0 && at+g.w.TTL.Milliseconds() < g.end {
			m.state, m.status = domain.StateExpired, domain.StatusTTLExpired
		}
		return
	}
	// Delivered within seconds, or when the phone comes back on.
	seen := sentAt + 1000 + r.Int64N(30_000)
	if r.Float64() < 0.1 {
		seen += r.Int64N(8 * hour)
	}
	seen = seen / second * second
	if code == -2 {
		readAt := (seen + int64(float64(3*hour)*math.Pow(r.Float64(), 4))) / second * second
		m.state, m.status, m.readAt = domain.StateRead, domain.StatusRead, readAt
		if r.Float64() < mix.readSkipsDelivered {
			m.deliveredAt = readAt // read without a delivered status implies delivery
		} else {
			m.deliveredAt = seen
			withPricing(domain.StateDelivered.Rank())
		}
		seen = readAt
	} else {
		m.state, m.status, m.deliveredAt = domain.StateDelivered, domain.StatusDelivered, seen
		withPricing(domain.StateDelivered.Rank())
	}
	// The contact's reaction.
	after := seen + 5*second + int64(float64(40*minute)*math.Pow(r.Float64(), 2))
	ref := &sentRef{wamid: m.wamid, campaign: m.campaign, sender: m.sender, bot: m.bot}
	base := event{at: after, camp: e.camp, depth: e.depth + 1, sub: e.sub, ch: e.ch, contact: e.contact, ref: ref}
	switch x := r.Float64(); {
	case category == "marketing" && x < mix.marketingStop:
		base.kind = evStop
		g.schedule(base)
	case tpl != nil && len(tpl.buttons) > 0 && r.Float64() < mix.tap:
		ref.replies = tpl.buttons
		base.kind = evTap
		g.schedule(base)
	case r.Float64() < mix.reply || (tpl == nil && r.Float64() < mix.chatReply && e.depth < 4):
		base.kind = evWrite
		g.schedule(base)
	}
}

func weighted(r *rand.Rand) int {
	total := 0.0
	for _, f := range metaFailures {
		total += f.weight
	}
	x := r.Float64() * total
	for i, f := range metaFailures {
		if x < f.weight {
			return i
		}
		x -= f.weight
	}
	return 0
}

// fitCode turns a code that cannot apply to a message into 131026, as
// the simulator does.
func fitCode(code int, isTemplate bool, category, contentType string) int {
	switch {
	case slices.Contains(templateOnlyCodes, code) && !isTemplate,
		slices.Contains(marketingOnlyCodes, code) && category != "marketing",
		slices.Contains(mediaOnlyCodes, code) && !mediaTypes[contentType],
		code == 131047 && isTemplate:
		return 131026
	}
	return code
}

var mediaTypes = map[string]bool{"image": true, "video": true, "document": true, "audio": true}

// metaError is Meta's title and details for a code, as the simulator
// sends them.
func metaError(code int) domain.MetaError {
	for _, e := range simulator.FailureCodes {
		if e.Code == code {
			if code == 131047 {
				e.Details = "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
			}
			return e
		}
	}
	return domain.MetaError{Code: code, Title: "Something went wrong", Details: "Message failed to send"}
}

// derive assigns an included message its session and conversation, one
// step of domain.DeriveConversations over the contact's timeline on the
// number.
func (g *generator) derive(s *subGen, ch *chanGen, contact int32, dir domain.Direction, at int64, cat string, referral bool) (bool, *domain.Conversation) {
	c := &s.contacts[contact]
	tl := s.timeline(contact, ch)
	st := domain.ConversationState{LastInboundReferral: tl.ref, Current: tl.conv}
	if tl.lastMO != 0 {
		st.LastInboundAt = time.UnixMilli(tl.lastMO).UTC()
	}
	g.one[0] = domain.TimelineMessage{Direction: dir, At: time.UnixMilli(at).UTC(), TemplateCategory: cat, Referral: referral}
	as := domain.DeriveConversations(ch.PhoneNumberID+":"+c.key, st, g.one[:])[0]
	tl.conv = as.Conversation
	if dir == domain.DirectionMO {
		tl.lastMO, tl.ref = at, referral
	}
	return as.WithSession, as.Conversation
}

// receive stores what a contact writes: first, in answer to a message
// (with its context, campaign and sender), or a tap on a quick reply.
func (g *generator) receive(e *event, m *msg) bool {
	r := g.r
	s := g.subs[e.sub]
	ch := s.chans[e.ch]
	c := &s.contacts[e.contact]
	tl := s.timeline(e.contact, ch)
	at := max(e.at, tl.lastAt+1)
	tl.lastAt = at
	m.sub, m.ch, m.direction, m.origin = s.ID, ch.ID, "mo", "webhook"
	m.contact, m.phone, m.waID, m.at = c.id, c.phone, c.waID, at
	m.state, m.status = "received", "received"
	m.billable, m.pricingRank = -1, -1
	m.wamid = g.wamid(e.at)
	if ref := e.ref; ref != nil {
		m.context, m.campaign, m.sender, m.bot = ref.wamid, ref.campaign, ref.sender, ref.bot
	}
	referral := false
	switch {
	case e.kind == evTap:
		b := e.ref.replies[r.IntN(len(e.ref.replies))]
		m.contentType, m.text, m.button = "button", b, b
	case e.ref == nil && r.Float64() < mix.ctwa:
		m.contentType, m.text, referral = "text", "Vi o anúncio, quero saber mais", true
		m.referral = fmt.Sprintf(`{"source_url":"https://fb.me/ticks","source_id":"12022630585%04d","source_type":"ad",`+
			`"headline":"Promoção","body":"Fale conosco","media_type":"image","ctwa_clid":"ARAhist%08d"}`, r.IntN(10000), r.IntN(1e8))
		tl.entry = at
	default:
		m.contentType = inboundKind(r)
		switch m.contentType {
		case "text":
			m.text = sentences[r.IntN(len(sentences))]
			if r.Float64() < mix.optOutWord {
				m.text = optOutWords[r.IntN(len(optOutWords))]
			}
		case "image":
			if r.IntN(2) == 0 {
				m.text = "Foto do produto"
			}
		case "location":
			m.text = "Av. Paulista, 1578, São Paulo"
		case "contacts":
			m.text = "Maria Souza"
		case "reaction":
			if e.ref == nil {
				m.contentType, m.text = "text", sentences[r.IntN(len(sentences))]
			} else {
				m.text = []string{"👍", "❤️", "😂", "🙏"}[r.IntN(4)]
			}
		case "order":
			m.text = "Pedido pelo catálogo"
		case "unsupported":
			m.errCode, m.errTitle, m.errDetail = 131051, "Message type unknown", "Message type is currently not supported."
		}
		if e.ref != nil && r.Float64() < 0.15 && m.contentType == "text" {
			m.contentType, m.text = "interactive", interactiveReplies[r.IntN(len(interactiveReplies))]
		}
	}
	m.withSession, m.conv = g.derive(s, ch, e.contact, domain.DirectionMO, at, "", referral)
	c.lastInbound, c.wrote = max(c.lastInbound, at), true
	// The store's opt-out keywords, in any kind of message.
	if slices.Contains([]string{"SAIR", "PARAR", "STOP"}, strings.ToUpper(strings.TrimSpace(m.text))) && !c.optedOut {
		c.optedOut, c.optAt = true, at
	}
	s.recent[s.nrecent%len(s.recent)] = recentWriter{contact: e.contact, ch: e.ch, at: at}
	s.nrecent++
	// The business answers: a bot at once, an agent when at work.
	if e.depth < 6 {
		base := event{camp: e.camp, depth: e.depth + 1, sub: e.sub, ch: e.ch, contact: e.contact, kind: evAnswer}
		if len(s.Bots) > 0 && r.Float64() < mix.botAnswer {
			base.at, base.n = at+2*second+r.Int64N(20*second), 0
			g.schedule(base)
		}
		if len(s.Agents) > 0 && (r.Float64() < mix.agentAnswer || m.button == "Falar com atendente" || m.text == "Quero falar com um atendente") {
			t := at + minute + r.Int64N(25*minute)
			if r.Float64() < mix.agentLate {
				t = at + 25*hour + r.Int64N(15*hour)
			}
			if !businessHours(t) {
				t = nextBusinessHour(t) + r.Int64N(90*minute)
			}
			base.at, base.n = t, 1
			g.schedule(base)
		}
	}
	return true
}

func inboundKind(r *rand.Rand) string {
	total := 0.0
	for _, k := range inboundKinds {
		total += k.weight
	}
	x := r.Float64() * total
	for _, k := range inboundKinds {
		if x < k.weight {
			return k.kind
		}
		x -= k.weight
	}
	return "text"
}

// answer sends the business's answer to a contact who wrote: a bot's text
// or menu, an agent's text or media.
func (g *generator) answer(e *event, m *msg) bool {
	r := g.r
	s := g.subs[e.sub]
	c := &s.contacts[e.contact]
	req := &request{sub: s, ch: s.chans[e.ch], contact: e.contact, origin: "api"}
	switch e.n {
	case 0:
		req.bot = pick(r, s.Bots)
		if r.Float64() < 0.25 {
			req.kind, req.text = "interactive", "Escolha uma opção: "+strings.Join(interactiveReplies, ", ")
		} else {
			req.kind, req.text = "text", fmt.Sprintf(botTexts[r.IntN(len(botTexts))], c.first)
		}
	default:
		req.sender = pick(r, s.Agents)
		// The desk shows the window closed: most agents then send an
		// active message (a template); some still type.
		if c.lastInbound+day <= e.at && len(g.active) > 0 && r.Float64() < 0.8 {
			req.kind, req.tpl = "template", g.active[r.IntN(len(g.active))]
			return g.send(e, m, req)
		}
		if r.Float64() < 0.1 {
			mk := mediaKinds[r.IntN(len(mediaKinds))]
			req.kind, req.text = mk.kind, mk.text
		} else {
			req.kind, req.text = "text", fmt.Sprintf(agentTexts[r.IntN(len(agentTexts))], c.first)
		}
		if e.n == 1 && r.Float64() < mix.agentSecond {
			next := *e
			next.at, next.n = e.at+minute+r.Int64N(4*minute), 2
			g.schedule(next)
		}
	}
	return g.send(e, m, req)
}
