package simulator

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Template is a message template the simulator knows, in the shape of an
// element of GET /{waba-id}/message_templates.
type Template struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Language string `json:"language"` // pt_BR, en_US, …
	Category string `json:"category"` // MARKETING, UTILITY or AUTHENTICATION
	// Status is APPROVED, PENDING, REJECTED, PAUSED or DISABLED. Sends of
	// anything but APPROVED are refused: PAUSED with 132015, DISABLED with
	// 132016, the others with 132001, as the Cloud API does.
	Status string `json:"status"`
	// ParameterFormat is POSITIONAL ({{1}}) or NAMED ({{first_name}}).
	ParameterFormat string `json:"parameter_format,omitempty"`
	// Components is Meta's components array: HEADER, BODY, FOOTER, BUTTONS.
	Components json.RawMessage `json:"components"`
}

// templateShape is what a send is checked against.
type templateShape struct {
	Template
	headerMedia  bool // HEADER of format IMAGE, VIDEO, DOCUMENT or LOCATION: one parameter
	headerParams int
	bodyParams   int
	quickReplies []string // texts of the QUICK_REPLY buttons, in order
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// countParams counts the distinct {{…}} placeholders of a component text.
func countParams(text string) int {
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		seen[m[1]] = true
	}
	return len(seen)
}

func parseTemplate(t Template) (*templateShape, error) {
	var comps []struct {
		Type                      string `json:"type"`
		Format                    string `json:"format"`
		Text                      string `json:"text"`
		AddSecurityRecommendation *bool  `json:"add_security_recommendation"`
		Buttons                   []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"buttons"`
	}
	if len(t.Components) > 0 {
		if err := json.Unmarshal(t.Components, &comps); err != nil {
			return nil, fmt.Errorf("template %s: components: %w", t.Name, err)
		}
	}
	sh := &templateShape{Template: t}
	for _, c := range comps {
		switch strings.ToUpper(c.Type) {
		case "HEADER":
			switch strings.ToUpper(c.Format) {
			case "IMAGE", "VIDEO", "DOCUMENT", "LOCATION":
				sh.headerMedia = true
			default:
				sh.headerParams = countParams(c.Text)
			}
		case "BODY":
			sh.bodyParams = countParams(c.Text)
			if c.Text == "" && strings.EqualFold(t.Category, "AUTHENTICATION") {
				sh.bodyParams = 1 // the one-time code of a preset authentication body
			}
		case "BUTTONS":
			for _, b := range c.Buttons {
				if strings.EqualFold(b.Type, "QUICK_REPLY") {
					sh.quickReplies = append(sh.quickReplies, b.Text)
				}
			}
		}
	}
	return sh, nil
}

// DefaultTemplates are the templates the simulator knows when Config.Templates
// is nil: Brazilian Portuguese marketing (with quick replies and with an image
// header), utility (one without parameters, fit for a fallback) and
// authentication templates, and Meta's hello_world.
func DefaultTemplates() []Template {
	return []Template{
		{ID: "1000000000000001", Name: "promocao_outono", Language: "pt_BR", Category: "MARKETING", Status: "APPROVED",
			Components: json.RawMessage(`[{"type":"HEADER","format":"TEXT","text":"Promoção de outono"},` +
				`{"type":"BODY","text":"Olá {{1}}, use o cupom {{2}} e ganhe 20% de desconto em todo o site até domingo!",` +
				`"example":{"body_text":[["Maria","OUTONO20"]]}},` +
				`{"type":"FOOTER","text":"Não quer receber promoções? Toque em Parar promoções"},` +
				`{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Quero aproveitar"},{"type":"QUICK_REPLY","text":"Parar promoções"}]}]`)},
		{ID: "1000000000000002", Name: "lancamento_colecao", Language: "pt_BR", Category: "MARKETING", Status: "APPROVED",
			Components: json.RawMessage(`[{"type":"HEADER","format":"IMAGE","example":{"header_handle":["4::aW1hZ2U="]}},` +
				`{"type":"BODY","text":"{{1}}, chegou a nova coleção! Confira antes de todo mundo.","example":{"body_text":[["Maria"]]}},` +
				`{"type":"BUTTONS","buttons":[{"type":"URL","text":"Ver coleção","url":"https://loja.example.com/colecao"}]}]`)},
		{ID: "1000000000000003", Name: "pedido_enviado", Language: "pt_BR", Category: "UTILITY", Status: "APPROVED",
			Components: json.RawMessage(`[{"type":"BODY","text":"Olá {{1}}, seu pedido {{2}} foi enviado e chega em até {{3}} dias úteis.",` +
				`"example":{"body_text":[["Maria","12345","5"]]}},` +
				`{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Rastrear pedido"},{"type":"QUICK_REPLY","text":"Falar com atendente"}]}]`)},
		{ID: "1000000000000004", Name: "lembrete_pagamento", Language: "pt_BR", Category: "UTILITY", Status: "APPROVED",
			Components: json.RawMessage(`[{"type":"BODY","text":"{{1}}, sua fatura de {{2}} vence em {{3}}.",` +
				`"example":{"body_text":[["Maria","R$ 129,90","10/08"]]}}]`)},
		{ID: "1000000000000005", Name: "codigo_verificacao", Language: "pt_BR", Category: "AUTHENTICATION", Status: "APPROVED",
			Components: json.RawMessage(`[{"type":"BODY","text":"*{{1}}* é seu código de verificação. Para sua segurança, não o compartilhe.",` +
				`"add_security_recommendation":true},{"type":"FOOTER","text":"Este código expira em 10 minutos.","code_expiration_minutes":10},` +
				`{"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"COPY_CODE","text":"Copiar código"}]}]`)},
		{ID: "1000000000000006", Name: "hello_world", Language: "en_US", Category: "UTILITY", Status: "APPROVED",
			Components: json.RawMessage(`[{"type":"HEADER","format":"TEXT","text":"Hello World"},` +
				`{"type":"BODY","text":"Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us."},` +
				`{"type":"FOOTER","text":"WhatsApp Business Platform sample message"}]`)},
		// A template with no parameters: what a channel's fallback for
		// free-form messages outside the window must be.
		{ID: "1000000000000007", Name: "retomar_atendimento", Language: "pt_BR", Category: "UTILITY", Status: "APPROVED",
			Components: json.RawMessage(`[{"type":"BODY","text":"Olá! Recebemos sua mensagem e queremos continuar o atendimento. Responda aqui para falarmos com você."},` +
				`{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Continuar atendimento"}]}]`)},
	}
}

// sendComponent is an element of a template send's components.
type sendComponent struct {
	Type       string            `json:"type"`
	SubType    string            `json:"sub_type"`
	Index      json.RawMessage   `json:"index"` // a number or a string
	Parameters []json.RawMessage `json:"parameters"`
}

type sendTemplate struct {
	Name     string `json:"name"`
	Language struct {
		Code   string `json:"code"`
		Policy string `json:"policy"`
	} `json:"language"`
	Components []sendComponent `json:"components"`
}

func (c *sendComponent) index() int {
	var n int
	if json.Unmarshal(c.Index, &n) == nil {
		return n
	}
	var s string
	if json.Unmarshal(c.Index, &s) == nil {
		if _, err := fmt.Sscan(s, &n); err == nil {
			return n
		}
	}
	return -1
}

// checkParams compares a send's parameters with the template's
// placeholders; the answer is empty when they match, else Meta's details.
func (sh *templateShape) checkParams(st *sendTemplate) string {
	var header, body int
	for _, c := range st.Components {
		switch strings.ToLower(c.Type) {
		case "header":
			header += len(c.Parameters)
		case "body":
			body += len(c.Parameters)
		}
	}
	wantHeader := sh.headerParams
	if sh.headerMedia {
		wantHeader = 1
	}
	if header != wantHeader {
		return fmt.Sprintf("header: number of localizable_params (%d) does not match the expected number of params (%d)", header, wantHeader)
	}
	if body != sh.bodyParams {
		return fmt.Sprintf("body: number of localizable_params (%d) does not match the expected number of params (%d)", body, sh.bodyParams)
	}
	return ""
}

// buttons returns the quick-reply buttons a user can tap on this send: each
// button's text and the payload the send set for it (the text when none),
// which is what the "button" inbound message carries.
func (sh *templateShape) buttons(st *sendTemplate) []choice {
	if len(sh.quickReplies) == 0 {
		return nil
	}
	out := make([]choice, len(sh.quickReplies))
	for i, text := range sh.quickReplies {
		out[i] = choice{Kind: "button", ID: text, Title: text}
	}
	for _, c := range st.Components {
		if !strings.EqualFold(c.Type, "button") || !strings.EqualFold(c.SubType, "quick_reply") {
			continue
		}
		i := c.index()
		if i < 0 || i >= len(out) {
			continue
		}
		for _, raw := range c.Parameters {
			var p struct {
				Type    string `json:"type"`
				Payload string `json:"payload"`
			}
			if json.Unmarshal(raw, &p) == nil && p.Payload != "" {
				out[i].ID = p.Payload
			}
		}
	}
	return out
}

// choice is a button or list row a user can pick: its kind (button for a
// template's quick reply, button_reply or list_reply for an interactive
// message), its id (or payload) and its title (or text).
type choice struct {
	Kind, ID, Title, Description string
}
