package simulator

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// DayConfig describes a day of generated traffic.
type DayConfig struct {
	Seed     uint64
	Messages int       // outbound messages
	Contacts int       // distinct contacts
	Start    time.Time // start of the day
	Business Business
}

// Day is a generated day of webhooks, in the order Meta would send them.
type Day struct {
	Bodies   [][]byte
	Outbound []string // wamids of the outbound messages
	Inbound  []string // wamids of the inbound messages
}

// InboundTypes are the inbound message types the generator produces.
var InboundTypes = []string{"text", "button", "interactive_button", "interactive_list", "image", "audio",
	"video", "document", "sticker", "location", "contacts", "reaction", "order", "unsupported", "ctwa"}

var pricingCategories = []string{"marketing", "utility", "authentication", "service"}

// GenerateDay builds a day of traffic: statuses of every kind and failure
// code for cfg.Messages outbound messages, replies of every inbound type,
// quick-reply clicks, Click-to-WhatsApp entries and opt-outs. The same
// config always yields the same bodies.
func GenerateDay(cfg DayConfig) *Day {
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	b := cfg.Business
	day := &Day{}
	type timed struct {
		at   int64
		body []byte
	}
	var events []timed
	add := func(at int64, body []byte) { events = append(events, timed{at, body}) }
	contact := func(i int) Contact {
		// A fifth of the Brazilian contacts arrive with a wa_id lacking the
		// ninth digit, as WhatsApp sends for some older numbers.
		if i%5 == 0 {
			return Contact{Name: fmt.Sprintf("Cliente %d", i), WAID: fmt.Sprintf("5511%08d", 80000000+i)}
		}
		return Contact{Name: fmt.Sprintf("Cliente %d", i), WAID: fmt.Sprintf("55119%08d", 80000000+i)}
	}
	start := cfg.Start.Unix()
	failIdx := 0
	for i := 0; i < cfg.Messages; i++ {
		c := contact(r.IntN(max(cfg.Contacts, 1)))
		wamid := fmt.Sprintf("wamid.SIM%016X", cfg.Seed*1_000_003+uint64(i))
		day.Outbound = append(day.Outbound, wamid)
		sent := start + r.Int64N(22*3600)
		cat := pricingCategories[r.IntN(len(pricingCategories))]
		pricing := &StatusPricing{Billable: cat != "service", PricingModel: "PMP", Type: "regular", Category: cat}
		if cat == "service" {
			pricing.Type = "free_customer_service"
		}
		st := func(status string, at int64) Status {
			s := Status{ID: wamid, Status: status, Timestamp: Unix(at), RecipientID: c.WAID}
			if status != "failed" && status != "read" {
				s.Pricing = pricing
			}
			return s
		}
		outcome := r.IntN(100)
		switch {
		case outcome < 15 || failIdx < len(FailureCodes) && outcome < 30:
			// Every failure code appears at least once, then failures are random.
			code := FailureCodes[failIdx%len(FailureCodes)]
			if failIdx >= len(FailureCodes) {
				code = FailureCodes[r.IntN(len(FailureCodes))]
			}
			failIdx++
			f := st("failed", sent+1+r.Int64N(30))
			f.Errors = []StatusError{NewStatusError(code)}
			if r.IntN(2) == 0 {
				add(sent, b.StatusWebhook(st("sent", sent)))
			}
			add(sent+2, b.StatusWebhook(f))
		case outcome < 25:
			add(sent, b.StatusWebhook(st("sent", sent)))
		case outcome < 50:
			add(sent, b.StatusWebhook(st("sent", sent)))
			add(sent+2+r.Int64N(60), b.StatusWebhook(st("delivered", sent+2)))
		default:
			read := sent + 5 + r.Int64N(3*3600)
			add(sent, b.StatusWebhook(st("sent", sent)))
			if r.IntN(10) > 0 { // sometimes delivered and read come together: no delivered webhook
				add(sent+2, b.StatusWebhook(st("delivered", sent+2)))
			}
			add(read, b.StatusWebhook(st("read", read)))
			if r.IntN(3) == 0 {
				at := read + 1 + r.Int64N(3600)
				in := inbound(r, len(day.Inbound), wamid, at, c)
				day.Inbound = append(day.Inbound, in["id"].(string))
				add(at, b.InboundWebhook(c, in))
			}
		}
	}
	// Contacts writing first, some from ads, and a few opting out and back in.
	for i := 0; i < cfg.Messages/10; i++ {
		c := contact(r.IntN(max(cfg.Contacts, 1)))
		at := start + r.Int64N(24*3600)
		in := inbound(r, len(day.Inbound), "", at, c)
		day.Inbound = append(day.Inbound, in["id"].(string))
		add(at, b.InboundWebhook(c, in))
	}
	for i := 0; i < cfg.Messages/50+1; i++ {
		c := contact(r.IntN(max(cfg.Contacts, 1)))
		at := start + r.Int64N(24*3600)
		add(at, b.PreferenceWebhook(c, "stop", at))
		if i%3 == 0 {
			add(at+600, b.PreferenceWebhook(c, "resume", at+600))
		}
	}
	// Meta sends roughly in time order; a stable sort keeps equal instants as generated.
	slices.SortStableFunc(events, func(x, y timed) int { return cmp.Compare(x.at, y.at) })
	for _, e := range events {
		day.Bodies = append(day.Bodies, e.body)
	}
	return day
}

// inbound builds an inbound message of a type drawn from InboundTypes,
// answering the outbound message context (if not empty).
func inbound(r *rand.Rand, n int, context string, at int64, c Contact) map[string]any {
	return inboundOf(r, InboundTypes[n%len(InboundTypes)], n, context, at, c)
}

// inboundOf builds an inbound message of kind (one of InboundTypes); kinds
// that only make sense as an answer become text without a context.
func inboundOf(r *rand.Rand, kind string, n int, context string, at int64, c Contact) map[string]any {
	if context == "" && (kind == "button" || kind == "interactive_button" || kind == "interactive_list" || kind == "reaction") {
		kind = "text"
	}
	m := map[string]any{
		"id":        fmt.Sprintf("wamid.IN%08X%08X", at, n),
		"from":      c.WAID,
		"timestamp": Unix(at),
	}
	if context != "" && kind != "reaction" {
		m["context"] = map[string]any{"from": "15550783881", "id": context}
	}
	media := func(mime string) map[string]any {
		return map[string]any{"id": fmt.Sprintf("%d", 1000000+n), "mime_type": mime, "sha256": "c2ltdWxhdGVk"}
	}
	switch kind {
	case "text":
		m["type"] = "text"
		m["text"] = map[string]any{"body": []string{"Olá, quero saber mais", "Qual o prazo de entrega?", "Obrigado!", "Não recebi meu pedido"}[r.IntN(4)]}
	case "ctwa":
		m["type"] = "text"
		m["text"] = map[string]any{"body": "Vi o anúncio, quero saber mais"}
		m["referral"] = map[string]any{"source_url": "https://fb.me/sim", "source_id": fmt.Sprintf("12022630585%04d", n%10000),
			"source_type": "ad", "headline": "Promoção", "body": "Fale conosco", "media_type": "image",
			"ctwa_clid": fmt.Sprintf("ARAsim%08d", n)}
	case "button":
		m["type"] = "button"
		choice := []string{"Sim", "Não", "Falar com atendente"}[r.IntN(3)]
		m["button"] = map[string]any{"payload": "QR_" + choice, "text": choice}
	case "interactive_button":
		m["type"] = "interactive"
		m["interactive"] = map[string]any{"type": "button_reply", "button_reply": map[string]any{"id": "confirm", "title": "Confirmar"}}
	case "interactive_list":
		m["type"] = "interactive"
		m["interactive"] = map[string]any{"type": "list_reply", "list_reply": map[string]any{"id": "opt_2", "title": "Segunda via", "description": "Boleto"}}
	case "image":
		m["type"] = "image"
		img := media("image/jpeg")
		img["caption"] = "Foto do produto"
		m["image"] = img
	case "audio":
		m["type"] = "audio"
		a := media("audio/ogg; codecs=opus")
		a["voice"] = true
		m["audio"] = a
	case "video":
		m["type"] = "video"
		m["video"] = media("video/mp4")
	case "document":
		m["type"] = "document"
		d := media("application/pdf")
		d["filename"] = "comprovante.pdf"
		d["caption"] = "Comprovante"
		m["document"] = d
	case "sticker":
		m["type"] = "sticker"
		s := media("image/webp")
		s["animated"] = false
		m["sticker"] = s
	case "location":
		m["type"] = "location"
		m["location"] = map[string]any{"latitude": -23.5505, "longitude": -46.6333, "name": "Loja Centro", "address": "Praça da Sé, São Paulo"}
	case "contacts":
		m["type"] = "contacts"
		m["contacts"] = []any{map[string]any{"name": map[string]any{"formatted_name": "Maria Souza", "first_name": "Maria"},
			"phones": []any{map[string]any{"phone": "+55 11 98888-7777", "type": "CELL", "wa_id": "5511988887777"}}}}
	case "reaction":
		m["type"] = "reaction"
		m["reaction"] = map[string]any{"message_id": context, "emoji": "👍"}
	case "order":
		m["type"] = "order"
		m["order"] = map[string]any{"catalog_id": "1234567890", "text": "Quero estes", "product_items": []any{
			map[string]any{"product_retailer_id": "SKU-1", "quantity": 2, "item_price": 49.9, "currency": "BRL"}}}
	case "unsupported":
		m["type"] = "unsupported"
		m["errors"] = []any{map[string]any{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
			"error_data": map[string]any{"details": "Message type is currently not supported."}}}
	}
	return m
}
