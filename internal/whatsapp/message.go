package whatsapp

import (
	"encoding/json"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
)

// rawMessage is one element of messages[]. The known content keys are read
// as raw JSON: each becomes InboundMessage.Content, and a malformed one only
// costs its Text, never the whole webhook.
type rawMessage struct {
	ID         string           `json:"id"`
	From       string           `json:"from"`
	FromUserID string           `json:"from_user_id"`
	Timestamp  unixTime         `json:"timestamp"`
	Type       string           `json:"type"`
	Context    *messageContext  `json:"context"`
	Referral   *domain.Referral `json:"referral"`
	Errors     []rawError       `json:"errors"`

	Text        json.RawMessage `json:"text"`
	Image       json.RawMessage `json:"image"`
	Video       json.RawMessage `json:"video"`
	Document    json.RawMessage `json:"document"`
	Audio       json.RawMessage `json:"audio"`
	Sticker     json.RawMessage `json:"sticker"`
	Button      json.RawMessage `json:"button"`
	Interactive json.RawMessage `json:"interactive"`
	Reaction    json.RawMessage `json:"reaction"`
	Location    json.RawMessage `json:"location"`
	Contacts    json.RawMessage `json:"contacts"`
	Order       json.RawMessage `json:"order"`
	System      json.RawMessage `json:"system"`
}

type messageContext struct {
	ID   string `json:"id"`
	From string `json:"from"`
}

func (p *changeParser) inboundMessage(rcpt domain.Recipient, v *messagesValue, i int) (domain.InboundMessage, error) {
	m := &v.Messages[i]
	switch {
	case m.ID == "":
		return domain.InboundMessage{}, p.errorf("messages[%d] has no \"id\"", i)
	case m.Type == "":
		return domain.InboundMessage{}, p.errorf("messages[%d] (%s) has no \"type\"", i, truncate(m.ID))
	case m.Timestamp.bad != "":
		return domain.InboundMessage{}, p.errorf("messages[%d] (%s): timestamp %s is not unix seconds", i, truncate(m.ID), m.Timestamp.bad)
	}
	msg := domain.InboundMessage{
		Recipient:  rcpt,
		WAMID:      m.ID,
		FromWAID:   m.From,
		FromUserID: m.FromUserID,
		Timestamp:  m.Timestamp.Time(),
		Type:       m.Type,
		Referral:   m.Referral,
		Errors:     metaErrors(m.Errors),
	}
	if c := senderContact(v.Contacts, m.From, m.FromUserID, len(v.Messages)); c != nil {
		msg.ProfileName = c.Profile.Name
		if msg.FromUserID == "" {
			msg.FromUserID = c.UserID
		}
	}
	if m.Context != nil {
		msg.ContextWAMID, msg.ContextFrom = m.Context.ID, m.Context.From
	}
	p.readContent(&msg, m, i)
	return msg, nil
}

// senderContact finds the contacts[] element describing the sender. When
// nothing matches exactly but the value holds one message and one contact,
// that contact is the sender: Meta sometimes writes a Brazilian number
// without its ninth digit in one place and with it in the other, and
// business-scoped senders may come without "from" at all.
func senderContact(contacts []contact, from, fromUserID string, messages int) *contact {
	for i := range contacts {
		c := &contacts[i]
		if (from != "" && c.WAID == from) || (fromUserID != "" && c.UserID == fromUserID) {
			return c
		}
	}
	if len(contacts) == 1 && messages == 1 {
		return &contacts[0]
	}
	return nil
}

// readContent sets Content to the type-specific object and derives the
// one line of Text a help desk shows for it.
func (p *changeParser) readContent(msg *domain.InboundMessage, m *rawMessage, i int) {
	switch m.Type {
	case "text":
		var t struct {
			Body string `json:"body"`
		}
		msg.Content = lenient(m.Text, &t)
		msg.Text = t.Body
	case "image", "video", "document", "audio", "sticker":
		var media struct {
			Caption string `json:"caption"`
		}
		msg.Content = lenient(m.media(), &media)
		msg.Text = media.Caption
	case "button":
		var b struct {
			Text    string `json:"text"`
			Payload string `json:"payload"`
		}
		msg.Content = lenient(m.Button, &b)
		msg.Text, msg.ButtonPayload = b.Text, b.Payload
	case "interactive":
		readInteractive(msg, m.Interactive)
	case "reaction":
		var r struct {
			MessageID string `json:"message_id"`
			Emoji     string `json:"emoji"`
		}
		msg.Content = lenient(m.Reaction, &r)
		msg.Text = r.Emoji // empty when a reaction is removed
		if msg.ContextWAMID == "" {
			msg.ContextWAMID = r.MessageID
		}
	case "location":
		var l struct {
			Name      string          `json:"name"`
			Address   string          `json:"address"`
			Latitude  json.RawMessage `json:"latitude"`
			Longitude json.RawMessage `json:"longitude"`
		}
		msg.Content = lenient(m.Location, &l)
		msg.Text = joinNonEmpty(", ", l.Name, l.Address)
		if msg.Text == "" && len(l.Latitude) > 0 && len(l.Longitude) > 0 {
			msg.Text = strings.Trim(string(l.Latitude), `"`) + "," + strings.Trim(string(l.Longitude), `"`)
		}
	case "contacts":
		var cs []struct {
			Name struct {
				FormattedName string `json:"formatted_name"`
				FirstName     string `json:"first_name"`
				LastName      string `json:"last_name"`
			} `json:"name"`
		}
		msg.Content = lenient(m.Contacts, &cs)
		if len(cs) > 0 {
			n := cs[0].Name
			msg.Text = n.FormattedName
			if msg.Text == "" {
				msg.Text = joinNonEmpty(" ", n.FirstName, n.LastName)
			}
		}
	case "order":
		var o struct {
			CatalogID flexString `json:"catalog_id"`
			Text      string     `json:"text"`
		}
		msg.Content = lenient(m.Order, &o)
		msg.Text = o.Text
		if msg.Text == "" {
			msg.Text = string(o.CatalogID)
		}
	case "system":
		var s struct {
			Body string `json:"body"`
		}
		msg.Content = lenient(m.System, &s)
		msg.Text = s.Body
	default:
		// unsupported, unknown and types newer than this parser: keep
		// whatever object the type names, if any; Errors already holds
		// Meta's explanation for unsupported ones.
		msg.Content = p.contentByKey(i, m.Type)
	}
}

func (m *rawMessage) media() json.RawMessage {
	switch m.Type {
	case "image":
		return m.Image
	case "video":
		return m.Video
	case "document":
		return m.Document
	case "audio":
		return m.Audio
	}
	return m.Sticker
}

func readInteractive(msg *domain.InboundMessage, raw json.RawMessage) {
	type reply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	var in struct {
		ButtonReply *reply `json:"button_reply"`
		ListReply   *reply `json:"list_reply"`
		NFMReply    *struct {
			Body string `json:"body"`
			Name string `json:"name"`
		} `json:"nfm_reply"`
	}
	msg.Content = lenient(raw, &in)
	switch {
	case in.ButtonReply != nil:
		msg.Text, msg.ButtonPayload = in.ButtonReply.Title, in.ButtonReply.ID
	case in.ListReply != nil:
		msg.Text, msg.ButtonPayload = in.ListReply.Title, in.ListReply.ID
	case in.NFMReply != nil:
		msg.Text = in.NFMReply.Body
		if msg.Text == "" {
			msg.Text = in.NFMReply.Name
		}
	}
}

// lenient decodes what it can of raw into v and returns raw as the
// message's Content (nil when absent). Errors are ignored on purpose: an
// odd content object must not make Meta re-deliver the whole webhook for
// seven days.
func lenient(raw json.RawMessage, v any) json.RawMessage {
	if isNull(raw) {
		return nil
	}
	_ = json.Unmarshal(raw, v)
	return raw
}

// contentByKey digs the object named key out of the i-th message as sent;
// only types this parser does not know take this slower road.
func (p *changeParser) contentByKey(i int, key string) json.RawMessage {
	var v struct {
		Messages []map[string]json.RawMessage `json:"messages"`
	}
	if json.Unmarshal(p.rawValue(), &v) != nil || i >= len(v.Messages) {
		return nil
	}
	c := v.Messages[i][key]
	if isNull(c) {
		return nil
	}
	return c
}

func joinNonEmpty(sep string, parts ...string) string {
	var b strings.Builder
	for _, s := range parts {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	return b.String()
}
