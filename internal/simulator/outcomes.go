package simulator

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// Outcomes is the mix of what happens to accepted messages and what users
// do. Probabilities are in [0, 1].
type Outcomes struct {
	// Failed, Read and Delivered split the messages that are not refused
	// for a reason of their own (free-form outside the 24 h window: 131047;
	// marketing to an opted-out user: 131050): a message fails with
	// probability Failed, is read with probability Read, is delivered and
	// never read with probability Delivered, and the rest stay "sent"
	// (the phone is off). Their sum should not exceed 1.
	Failed, Read, Delivered float64
	// FailureCodes are the codes failed messages get, drawn uniformly
	// (repeat a code to make it likelier). DefaultFailureCodes when empty.
	// A code that cannot apply to the message (a template code on a
	// free-form message, a marketing code on a utility template, 131047 on
	// a template) becomes 131026.
	FailureCodes []int
	// ReadSkipsDelivered is the share of read messages whose delivery and
	// read happen together: Meta then sends no delivered webhook.
	ReadSkipsDelivered float64
	// QuickReply is the probability that the user taps a quick-reply button
	// of a template that has them (a "button" message), or a reply button or
	// list row of an interactive message, once delivered.
	QuickReply float64
	// Reply is the probability that a delivered or read message (not
	// answered by a tap) gets an answer, of a kind drawn from InboundMix.
	Reply float64
	// InboundMix weighs the kinds (InboundTypes) of answers and of messages
	// users write first. DefaultInboundMix when empty.
	InboundMix map[string]float64
	// OptOut is the probability that a delivered marketing template makes
	// its user stop marketing messages (a user_preferences "stop" webhook);
	// later marketing templates to that user fail with 131050.
	OptOut float64
	// CTWA is the share of the messages users write first (Tick,
	// GenerateInbound without a type) that come from a Click-to-WhatsApp
	// ad: they carry a referral and open a 72 h free entry point.
	CTWA float64
	// Duplicate is the probability that a webhook is posted twice (Meta
	// delivers at least once).
	Duplicate float64
}

// DefaultFailureCodes are the failure codes that can end a message's
// delivery asynchronously, in a failed status webhook (the others of
// FailureCodes are refused synchronously or concern the account). 131026
// and 131049, the commonest in practice, weigh more.
var DefaultFailureCodes = []int{
	131026, 131026, 131026, 131049, 131049, 131050, 131047, 130472, 131048, 131053, 131000, 131016,
	131042, 131056, 132000, 132012, 132015, 132016, 135000,
}

// DefaultInboundMix is the default mix of inbound kinds: mostly text.
var DefaultInboundMix = map[string]float64{
	"text": 60, "image": 6, "audio": 8, "video": 2, "document": 3, "sticker": 4, "location": 2,
	"contacts": 1, "reaction": 8, "order": 1, "unsupported": 1,
}

// DefaultOutcomes is the mix a zero Config.Mix stands for.
func DefaultOutcomes() Outcomes {
	return Outcomes{Failed: 0.10, Read: 0.62, Delivered: 0.22, FailureCodes: DefaultFailureCodes,
		ReadSkipsDelivered: 0.05, QuickReply: 0.3, Reply: 0.25, InboundMix: DefaultInboundMix,
		OptOut: 0.02, CTWA: 0.2, Duplicate: 0.01}
}

func (o *Outcomes) isZero() bool {
	return o.Failed == 0 && o.Read == 0 && o.Delivered == 0 && len(o.FailureCodes) == 0 &&
		o.ReadSkipsDelivered == 0 && o.QuickReply == 0 && o.Reply == 0 && len(o.InboundMix) == 0 &&
		o.OptOut == 0 && o.CTWA == 0 && o.Duplicate == 0
}

// Range is a span of durations; delays are drawn uniformly in it.
type Range struct{ Min, Max time.Duration }

func (rg Range) draw(r *rand.Rand) time.Duration {
	if rg.Max <= rg.Min {
		return rg.Min
	}
	return rg.Min + time.Duration(r.Int64N(int64(rg.Max-rg.Min)))
}

// Delays are the times between the events of a message. Each zero Range
// takes its default.
type Delays struct {
	Sent      Range // accepted send → sent (50–300 ms)
	Delivered Range // sent → delivered, or → failed for failures after sent (0.2–2 s)
	Read      Range // delivered → read (1–10 s)
	Reply     Range // read (or delivered) → the user's answer, tap or opt-out (2–20 s)
	// Retry is the webhook redelivery backoff: the first retry after Min,
	// doubling up to Max (1 s–1 min).
	Retry Range
	// TimeScale multiplies every delay above (not the 24 h and 72 h
	// windows): 0.01 runs 100× faster. 0 means 1.
	TimeScale float64
}

func (d Delays) withDefaults() Delays {
	def := func(rg *Range, lo, hi time.Duration) {
		if rg.Min == 0 && rg.Max == 0 {
			rg.Min, rg.Max = lo, hi
		}
	}
	def(&d.Sent, 50*time.Millisecond, 300*time.Millisecond)
	def(&d.Delivered, 200*time.Millisecond, 2*time.Second)
	def(&d.Read, time.Second, 10*time.Second)
	def(&d.Reply, 2*time.Second, 20*time.Second)
	def(&d.Retry, time.Second, time.Minute)
	if d.TimeScale <= 0 {
		d.TimeScale = 1
	}
	return d
}

func (d Delays) scale(x time.Duration) time.Duration { return time.Duration(float64(x) * d.TimeScale) }

// Customer-service window and free-entry-point window.
const (
	serviceWindow = 24 * time.Hour
	entryWindow   = 72 * time.Hour
)

type userKey struct{ phone, waID string }

// user is what the simulated WhatsApp knows of one contact of one number.
// Times may be in the future: an answer scheduled for later opens the
// window only from then on.
type user struct {
	wrote   []time.Time // the user's messages
	entries []time.Time // Click-to-WhatsApp entries
	stopAt  time.Time   // opted out of marketing from then (zero: never)
	// conversations are when the user's open conversation of each
	// category started (CBP), for the ledger.
	conversations map[string]time.Time
}

// last returns the latest time in ts not after t, if any is within window.
func last(ts []time.Time, t time.Time, window time.Duration) (time.Time, bool) {
	var best time.Time
	for _, x := range ts {
		if !x.After(t) && t.Sub(x) < window && x.After(best) {
			best = x
		}
	}
	return best, !best.IsZero()
}

// note records t, dropping times that can no longer open a window.
func note(ts []time.Time, t time.Time, window time.Duration) []time.Time {
	ts = slices.DeleteFunc(ts, func(x time.Time) bool { return t.Sub(x) > 2*window })
	return append(ts, t)
}

func (u *user) optedOut(t time.Time) bool { return !u.stopAt.IsZero() && !u.stopAt.After(t) }

func (s *Server) user(phone, waID string) *user {
	k := userKey{phone, waID}
	u := s.users[k]
	if u == nil {
		u = &user{}
		s.users[k] = u
	}
	return u
}

var firstNames = []string{"Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Henrique", "Isabela",
	"João", "Larissa", "Marcos", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Thiago", "Vanessa", "Wagner"}
var lastNames = []string{"Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Ferreira", "Almeida", "Ribeiro"}

// contactOf is the contact behind a wa_id, with a profile name derived from it.
func contactOf(waID string) Contact {
	h := fnv.New32a()
	h.Write([]byte(waID))
	x := h.Sum32()
	return Contact{Name: firstNames[x%uint32(len(firstNames))] + " " + lastNames[x/97%uint32(len(lastNames))], WAID: waID}
}

// Sentences users write.
var sentences = []string{
	"Olá, quero saber mais", "Qual o prazo de entrega?", "Obrigado!", "Não recebi meu pedido",
	"Bom dia! Vocês têm esse produto em estoque?", "Pode me enviar a segunda via do boleto?",
	"Quero falar com um atendente", "Já paguei, segue o comprovante", "Qual o horário de funcionamento da loja?",
	"Consigo trocar o tamanho?", "Vocês entregam no meu bairro?", "Não reconheço essa compra",
	"Perfeito, obrigada pela atenção!", "Tem desconto à vista?", "Meu código não chegou", "Pode cancelar, por favor",
	"Ok 👍", "Quanto custa o frete para São Paulo?", "Esse cupom ainda vale?", "Boa tarde, preciso de ajuda com meu cadastro",
}

// accepted is a send the simulator took.
type accepted struct {
	wamid, waID string
}

// accept checks a valid send against the number's templates, throughput and
// the user's state, assigns its wamid and schedules its webhooks.
func (s *Server) accept(ph *phoneState, req *sendRequest, obj json.RawMessage) (*accepted, *graphError) {
	waID, _ := normalizeTo(req.To)
	var tmpl *templateShape
	var st sendTemplate
	var choices []choice
	if req.Type == "template" {
		json.Unmarshal(obj, &st) // validated already
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Type == "template" {
		var gerr *graphError
		if tmpl, gerr = s.findTemplate(ph.WABAID, &st); gerr != nil {
			return nil, gerr
		}
		if d := tmpl.checkParams(&st); d != "" {
			e := sendError(132000, "Number of parameters does not match the expected number of params", d)
			return nil, &e
		}
		choices = tmpl.buttons(&st)
	} else if req.Type == "interactive" {
		choices = interactiveChoices(obj)
	}
	now := s.cfg.Now()
	// Throughput: a token bucket of one second's worth of messages.
	rate := float64(s.cfg.Throughput)
	if elapsed := now.Sub(ph.tokensAt); elapsed > 0 {
		ph.tokens = min(rate, ph.tokens+elapsed.Seconds()*rate)
		ph.tokensAt = now
	}
	if ph.tokens < 1 {
		e := sendError(130429, "Rate limit hit", "Cloud API message throughput has been reached.")
		return nil, &e
	}
	ph.tokens--

	n := s.msgSeq
	s.msgSeq++
	m := &accepted{waID: waID, wamid: wamid(waID, false, mix64(s.cfg.Seed, 0x01, n), byte(s.cfg.Seed))}
	if _, seen := s.users[userKey{ph.PhoneNumberID, waID}]; !seen {
		ph.recipients = append(ph.recipients, waID)
	}
	r := rand.New(rand.NewPCG(mix64(s.cfg.Seed, 0x02, n), mix64(s.cfg.Seed, 0x03, n)))
	s.plan(ph, m, req, tmpl, choices, now, r)
	return m, nil
}

func (s *Server) findTemplate(waba string, st *sendTemplate) (*templateShape, *graphError) {
	for _, t := range s.templates[waba] {
		if t.Name != st.Name || t.Language != st.Language.Code {
			continue
		}
		switch t.Status {
		case "APPROVED":
			return t, nil
		case "PAUSED":
			e := sendError(132015, "Template is Paused", fmt.Sprintf("Template %s is paused due to low quality", st.Name))
			return nil, &e
		case "DISABLED":
			e := sendError(132016, "Template is Disabled", fmt.Sprintf("Template %s has been disabled due to low quality", st.Name))
			return nil, &e
		}
		// PENDING, REJECTED, …: as if it did not exist.
	}
	e := sendError(132001, "Template name does not exist in the translation",
		fmt.Sprintf("template name (%s) does not exist in %s", st.Name, st.Language.Code))
	return nil, &e
}

// interactiveChoices returns the reply buttons or list rows of an
// interactive message.
func interactiveChoices(obj json.RawMessage) []choice {
	var in struct {
		Type   string `json:"type"`
		Action struct {
			Buttons []struct {
				Reply struct{ ID, Title string } `json:"reply"`
			} `json:"buttons"`
			Sections []struct {
				Rows []struct{ ID, Title, Description string } `json:"rows"`
			} `json:"sections"`
		} `json:"action"`
	}
	if json.Unmarshal(obj, &in) != nil {
		return nil
	}
	var out []choice
	for _, b := range in.Action.Buttons {
		if b.Reply.ID != "" {
			out = append(out, choice{Kind: "button_reply", ID: b.Reply.ID, Title: b.Reply.Title})
		}
	}
	for _, sec := range in.Action.Sections {
		for _, row := range sec.Rows {
			out = append(out, choice{Kind: "list_reply", ID: row.ID, Title: row.Title, Description: row.Description})
		}
	}
	return out
}

// Codes that only apply to some messages, for fitCode.
var (
	templateOnlyCodes  = []int{132000, 132001, 132005, 132007, 132008, 132012, 132015, 132016, 132068, 132069}
	marketingOnlyCodes = []int{130472, 131049, 131050, 131063}
	// directCodes fail before anything is sent: no "sent" webhook first.
	directCodes = []int{130472, 131047, 131049, 131050, 131063, 132000, 132001, 132005, 132007, 132008,
		132012, 132015, 132016, 135000}
)

func fitCode(code int, isTemplate bool, category string) int {
	switch {
	case slices.Contains(templateOnlyCodes, code) && !isTemplate,
		slices.Contains(marketingOnlyCodes, code) && category != "marketing",
		code == 131047 && isTemplate:
		return 131026
	}
	return code
}

func metaError(code int) domain.MetaError {
	for _, e := range FailureCodes {
		if e.Code == code {
			if code == 131047 {
				e.Details = "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
			}
			return e
		}
	}
	return domain.MetaError{Code: code, Title: "Something went wrong", Details: "Message failed to send"}
}

// timeline collects the webhooks of one plan, at offsets from the send.
type timeline struct {
	s     *Server
	biz   Business
	start time.Time // real time of the send, for firing
	t0    time.Time // clock time of the send, for timestamps
	r     *rand.Rand
}

func (tl *timeline) add(at time.Time, body []byte) {
	fire := tl.start.Add(at.Sub(tl.t0))
	tl.s.scheduleLocked(fire, body)
	if tl.s.mix.Duplicate > 0 && tl.r.Float64() < tl.s.mix.Duplicate {
		tl.s.scheduleLocked(fire.Add(tl.s.delays.scale(tl.s.delays.Retry.Min)), body)
	}
}

// plan draws the fate of an accepted message and schedules its webhooks:
// statuses with pricing, and the user's answer, tap or opt-out.
func (s *Server) plan(ph *phoneState, m *accepted, req *sendRequest, tmpl *templateShape, choices []choice, t0 time.Time, r *rand.Rand) {
	d, mix := s.delays, s.mix
	if tmpl != nil {
		if o, ok := s.cfg.TemplateMix[tmpl.Name]; ok {
			mix = o
		}
	}
	tl := &timeline{s: s, biz: ph.biz, start: time.Now(), t0: t0, r: r}
	u := s.user(ph.PhoneNumberID, m.waID)
	c := contactOf(m.waID)
	isTemplate := tmpl != nil
	category := "service"
	if isTemplate {
		category = strings.ToLower(tmpl.Category)
	}
	_, inWindow := last(u.wrote, t0, serviceWindow)
	entry, fromAd := last(u.entries, t0, entryWindow)

	pricing := &StatusPricing{Billable: true, PricingModel: "PMP", Type: "regular", Category: category}
	var conv *StatusConversation
	switch {
	case fromAd:
		pricing.Billable, pricing.Type, pricing.Category = false, "free_entry_point", "referral_conversion"
		conv = &StatusConversation{ID: fmt.Sprintf("%016x%016x", mix64(s.cfg.Seed, 0x04, uint64(entry.Unix())),
			mix64(s.cfg.Seed, 0x05, fnvHash(ph.PhoneNumberID+"/"+m.waID))),
			Expiration: Unix(entry.Add(entryWindow).Unix())}
		conv.Origin.Type = "referral_conversion"
	case category == "service" || category == "utility" && inWindow:
		pricing.Billable, pricing.Type = false, "free_customer_service"
	}
	status := func(name string, at time.Time) []byte {
		st := Status{ID: m.wamid, Status: name, Timestamp: Unix(at.Unix()), RecipientID: m.waID, BizOpaque: req.BizOpaque}
		if name == "sent" || name == "delivered" {
			st.Pricing, st.Conversation = pricing, conv
		}
		return statusBody(ph.biz, c, st, name != "failed")
	}
	failed := func(code int, at time.Time) []byte {
		st := Status{ID: m.wamid, Status: "failed", Timestamp: Unix(at.Unix()), RecipientID: m.waID, BizOpaque: req.BizOpaque,
			Errors: []StatusError{NewStatusError(metaError(code))}}
		return statusBody(ph.biz, c, st, false)
	}

	sentAt := t0.Add(d.scale(d.Sent.draw(r)))
	code := 0
	switch {
	case !isTemplate && !inWindow:
		code = 131047 // Meta accepts, then fails: outside the customer-service window
	case category == "marketing" && u.optedOut(t0):
		code = 131050
	default:
		x := r.Float64()
		switch {
		case x < mix.Failed:
			code = fitCode(mix.FailureCodes[r.IntN(len(mix.FailureCodes))], isTemplate, category)
		case x < mix.Failed+mix.Read:
			code = -2 // read
		case x < mix.Failed+mix.Read+mix.Delivered:
			code = -1 // delivered
		}
	}
	if code > 0 {
		if slices.Contains(directCodes, code) || r.IntN(2) == 0 {
			tl.add(sentAt, failed(code, sentAt))
		} else {
			tl.add(sentAt, status("sent", sentAt))
			s.charge(ph, u, pricing, t0)
			at := sentAt.Add(d.scale(d.Delivered.draw(r)))
			tl.add(at, failed(code, at))
		}
		return
	}
	tl.add(sentAt, status("sent", sentAt))
	s.charge(ph, u, pricing, t0)
	if code == 0 {
		return // stays sent
	}
	seen := sentAt.Add(d.scale(d.Delivered.draw(r)))
	if code == -2 {
		readAt := seen.Add(d.scale(d.Read.draw(r)))
		if r.Float64() >= mix.ReadSkipsDelivered {
			tl.add(seen, status("delivered", seen))
		}
		tl.add(readAt, status("read", readAt))
		seen = readAt
	} else {
		tl.add(seen, status("delivered", seen))
	}

	// The user's reaction.
	at := seen.Add(d.scale(d.Reply.draw(r)))
	switch x := r.Float64(); {
	case category == "marketing" && x < mix.OptOut:
		if u.stopAt.IsZero() || at.Before(u.stopAt) {
			u.stopAt = at
		}
		tl.add(at, ph.biz.PreferenceWebhook(c, "stop", at.Unix()))
	case len(choices) > 0 && r.Float64() < mix.QuickReply:
		pick := choices[r.IntN(len(choices))]
		msg := s.inboundMessage(r, "", m.wamid, at, c, ph)
		delete(msg, "text")
		if isTemplate {
			msg["type"] = "button"
			msg["button"] = map[string]any{"payload": pick.ID, "text": pick.Title}
		} else {
			msg["type"] = "interactive"
			if pick.Kind == "button_reply" {
				msg["interactive"] = map[string]any{"type": "button_reply", "button_reply": map[string]any{"id": pick.ID, "title": pick.Title}}
			} else {
				row := map[string]any{"id": pick.ID, "title": pick.Title}
				if pick.Description != "" {
					row["description"] = pick.Description
				}
				msg["interactive"] = map[string]any{"type": "list_reply", "list_reply": row}
			}
		}
		u.wrote = note(u.wrote, at, serviceWindow)
		tl.add(at, ph.biz.InboundWebhook(c, msg))
	case r.Float64() < mix.Reply:
		kind := s.drawKind(r, false)
		msg := s.inboundMessage(r, kind, m.wamid, at, c, ph)
		u.wrote = note(u.wrote, at, serviceWindow)
		tl.add(at, ph.biz.InboundWebhook(c, msg))
	}
}

func fnvHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// statusBody is a statuses webhook; with contact, it carries the
// recipient's profile as Meta's v24 status webhooks do.
func statusBody(b Business, c Contact, st Status, withContact bool) []byte {
	type profile struct {
		Name string `json:"name"`
	}
	type contact struct {
		Profile profile `json:"profile"`
		WAID    string  `json:"wa_id"`
	}
	var contacts []contact
	if withContact {
		contacts = []contact{{profile{c.Name}, c.WAID}}
	}
	return b.Webhook("messages", struct {
		Product  string    `json:"messaging_product"`
		Metadata metadata  `json:"metadata"`
		Contacts []contact `json:"contacts,omitempty"`
		Statuses []Status  `json:"statuses"`
	}{"whatsapp", b.metadata(), contacts, []Status{st}})
}

// drawKind draws an inbound kind from the mix; unsolicited messages may be
// Click-to-WhatsApp entries.
func (s *Server) drawKind(r *rand.Rand, unsolicited bool) string {
	if unsolicited && s.mix.CTWA > 0 && r.Float64() < s.mix.CTWA {
		return "ctwa"
	}
	mix := s.mix.InboundMix
	if len(mix) == 0 {
		mix = DefaultInboundMix
	}
	kinds := make([]string, 0, len(mix))
	total := 0.0
	for k, w := range mix {
		if w > 0 && slices.Contains(InboundTypes, k) {
			kinds = append(kinds, k)
			total += w
		}
	}
	if total == 0 {
		return "text"
	}
	slices.Sort(kinds) // map order is random; the draw must not be
	x := r.Float64() * total
	for _, k := range kinds {
		if x < mix[k] {
			return k
		}
		x -= mix[k]
	}
	return kinds[len(kinds)-1]
}

// inboundMessage builds an inbound message of kind ("" for text) with the
// simulator's ids: the inbound builder of the day generator, with a
// Meta-shaped wamid, the business number in the context and a drawn
// Portuguese sentence for text.
func (s *Server) inboundMessage(r *rand.Rand, kind, context string, at time.Time, c Contact, ph *phoneState) map[string]any {
	if kind == "" {
		kind = "text"
	}
	n := s.inSeq
	s.inSeq++
	s.inbound.Add(1)
	msg := inboundOf(r, kind, int(n), context, at.Unix(), c)
	msg["id"] = wamid(c.WAID, true, mix64(s.cfg.Seed, 0x06, n), byte(s.cfg.Seed))
	if ctx, ok := msg["context"].(map[string]any); ok {
		ctx["from"] = ph.DisplayPhone
	}
	if msg["type"] == "text" && kind != "ctwa" {
		msg["text"] = map[string]any{"body": sentences[r.IntN(len(sentences))]}
	}
	return msg
}

// Inbound describes a message a contact writes first to a business number.
// Empty fields are drawn.
type Inbound struct {
	PhoneNumberID string // the business number; drawn among the configured ones
	From          string // the contact's wa_id; a contact already messaged or one of the synthetic pool
	// Type is one of InboundTypes ("ctwa": a text from a Click-to-WhatsApp
	// ad, with its referral); drawn from Outcomes.InboundMix and CTWA.
	Type string
	Text string // the body of a text; a drawn Portuguese sentence
}

// GenerateInbound makes a contact write to a business number now: its
// webhook is scheduled at once, and the contact's 24 h customer-service
// window opens (and a 72 h free entry point for Click-to-WhatsApp). It
// returns the inbound message's wamid.
func (s *Server) GenerateInbound(in Inbound) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.inSeq
	r := rand.New(rand.NewPCG(mix64(s.cfg.Seed, 0x08, n), mix64(s.cfg.Seed, 0x09, n)))
	ph := s.phoneList[r.IntN(len(s.phoneList))]
	if in.PhoneNumberID != "" {
		if ph = s.phones[in.PhoneNumberID]; ph == nil {
			return "", fmt.Errorf("simulator: unknown phone number id %q", in.PhoneNumberID)
		}
	}
	waID := in.From
	if waID != "" {
		var ok bool
		if waID, ok = normalizeTo(waID); !ok {
			return "", fmt.Errorf("simulator: invalid wa_id %q", in.From)
		}
	} else if len(ph.recipients) > 0 && r.IntN(2) == 0 {
		waID = ph.recipients[r.IntN(len(ph.recipients))]
	} else {
		waID = fmt.Sprintf("55119%08d", 80000000+r.IntN(s.cfg.Contacts))
	}
	kind := in.Type
	if kind == "" {
		kind = s.drawKind(r, true)
	} else if !slices.Contains(InboundTypes, kind) {
		return "", fmt.Errorf("simulator: unknown inbound type %q; want one of %v", kind, InboundTypes)
	}
	now := s.cfg.Now()
	c := contactOf(waID)
	msg := s.inboundMessage(r, kind, "", now, c, ph)
	if in.Text != "" && msg["type"] == "text" {
		msg["text"] = map[string]any{"body": in.Text}
	}
	u := s.user(ph.PhoneNumberID, waID)
	u.wrote = note(u.wrote, now, serviceWindow)
	if kind == "ctwa" {
		u.entries = note(u.entries, now, entryWindow)
	}
	s.scheduleLocked(time.Now(), ph.biz.InboundWebhook(c, msg))
	return msg["id"].(string), nil
}

// Tick makes n contacts write first (GenerateInbound with everything
// drawn): the demo's unsolicited traffic, Outcomes.CTWA of it from ads.
// It returns the wamids of the inbound messages.
func (s *Server) Tick(n int) []string {
	ids := make([]string, 0, n)
	for range n {
		id, err := s.GenerateInbound(Inbound{})
		if err != nil {
			panic(err) // nothing given, nothing invalid
		}
		ids = append(ids, id)
	}
	return ids
}
