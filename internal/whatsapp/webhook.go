package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// BusinessAccountObject is the only "object" a WhatsApp Business webhook
// carries; anything else was sent to the wrong endpoint.
const BusinessAccountObject = "whatsapp_business_account"

// Fields of a change that ParseWebhook models; every other field is kept as
// a domain.UnknownChange.
const (
	FieldMessages                     = "messages"
	FieldUserPreferences              = "user_preferences"
	FieldMessageTemplateStatusUpdate  = "message_template_status_update"
	FieldMessageTemplateQualityUpdate = "message_template_quality_update"
	FieldTemplateCategoryUpdate       = "template_category_update"
	FieldAccountUpdate                = "account_update"
	FieldPhoneNumberQualityUpdate     = "phone_number_quality_update"
	FieldBusinessCapabilityUpdate     = "business_capability_update"
	FieldPhoneNumberNameUpdate        = "phone_number_name_update"
	FieldAccountAlerts                = "account_alerts"
	FieldAccountReviewUpdate          = "account_review_update"
)

// ParseWebhook flattens the body of one webhook POST into a batch of
// events. Every failure is a *domain.Error with code EINVALID whose message
// names the offending part, so the ingest log says what Meta (or an
// impostor) got wrong. Changes whose field ticks does not model are kept in
// Unknown rather than rejected: Meta adds fields without notice.
func ParseWebhook(body []byte) (*domain.WebhookBatch, error) {
	if !startsWithObject(body) {
		if !json.Valid(body) {
			var v any
			return nil, decodeError(topLevel, json.Unmarshal(body, &v))
		}
		return nil, domain.Errorf(domain.EINVALID, "webhook body is not a JSON object")
	}
	// Status webhooks are the hot path, so the first attempt decodes every
	// value as a "messages" value in one pass over the body: by decodeFast
	// when the body is of the shapes it knows, else by encoding/json. Only
	// when that fails (a malformed webhook, or a field ticks does not model
	// whose value does not fit) is the body decoded again change by change,
	// which is slower but tells which change is at fault and tolerates
	// unknown ones.
	var env envelope
	fast := decodeFast(body, &env)
	if !fast {
		env = envelope{}
		fast = json.Unmarshal(body, &env) == nil
	}
	if !fast {
		if err := env.decodeByChange(body); err != nil {
			return nil, err
		}
	}
	switch {
	case env.Object == "":
		return nil, domain.Errorf(domain.EINVALID, "webhook has no \"object\"; want %q", BusinessAccountObject)
	case env.Object != BusinessAccountObject:
		return nil, domain.Errorf(domain.EINVALID, "webhook object is %q; want %q", truncate(env.Object), BusinessAccountObject)
	case env.Entry == nil:
		return nil, domain.Errorf(domain.EINVALID, "webhook has no \"entry\" array")
	}
	batch := new(domain.WebhookBatch)
	for ei := range env.Entry {
		e := &env.Entry[ei]
		if e.Changes == nil {
			return nil, domain.Errorf(domain.EINVALID, "entry[%d] has no \"changes\" array", ei)
		}
		if e.Time.bad != "" {
			return nil, domain.Errorf(domain.EINVALID, "entry[%d]: time %s is not unix seconds", ei, e.Time.bad)
		}
		for ci := range e.Changes {
			c := &e.Changes[ci]
			switch {
			case c.Field == "":
				return nil, domain.Errorf(domain.EINVALID, "entry[%d].changes[%d] has no \"field\"", ei, ci)
			case !c.hasValue():
				return nil, domain.Errorf(domain.EINVALID, "entry[%d].changes[%d] (%s) has no \"value\"", ei, ci, truncate(c.Field))
			case c.err != nil:
				return nil, c.err
			}
			p := changeParser{batch: batch, env: &env, body: body, entry: e, change: c, ei: ei, ci: ci}
			if err := p.parse(); err != nil {
				return nil, err
			}
		}
	}
	return batch, nil
}

type envelope struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`

	rawLoaded bool // every change's raw is set
}

type entry struct {
	ID      flexString `json:"id"`
	Time    unixTime   `json:"time"`
	Changes []change   `json:"changes"`
}

// change is one entry[].changes[] element. Its value is read twice over:
// as a "messages" value, which is all the hot path needs, and, on demand, as
// raw JSON for the other fields and for keeping it whole.
type change struct {
	Field string         `json:"field"`
	Value *messagesValue `json:"value"`

	raw json.RawMessage
	err error // the value is not what its field needs
}

func (c *change) hasValue() bool {
	if c.raw != nil {
		return !isNull(c.raw)
	}
	return c.Value != nil
}

// rawEnvelope is the envelope with every value kept as raw JSON.
type rawEnvelope struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      flexString `json:"id"`
		Time    unixTime   `json:"time"`
		Changes []struct {
			Field string          `json:"field"`
			Value json.RawMessage `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// decodeByChange fills env from body one change at a time. An error in the
// envelope is returned; an error in a value is kept on its change and
// reported only if the change is reached and its field is "messages".
func (env *envelope) decodeByChange(body []byte) error {
	var r rawEnvelope
	if err := json.Unmarshal(body, &r); err != nil {
		return decodeError(topLevel, err)
	}
	*env = envelope{Object: r.Object, rawLoaded: true}
	if r.Entry == nil {
		return nil
	}
	env.Entry = make([]entry, len(r.Entry))
	for ei, re := range r.Entry {
		e := &env.Entry[ei]
		e.ID, e.Time = re.ID, re.Time
		if re.Changes == nil {
			continue
		}
		e.Changes = make([]change, len(re.Changes))
		for ci, rc := range re.Changes {
			c := &e.Changes[ci]
			c.Field, c.raw = rc.Field, rc.Value
			if rc.Field != FieldMessages || isNull(rc.Value) {
				continue
			}
			c.Value = new(messagesValue)
			if err := json.Unmarshal(rc.Value, c.Value); err != nil {
				c.err = decodeError(fmt.Sprintf("entry[%d].changes[%d].value", ei, ci), err)
			}
		}
	}
	return nil
}

// loadRaw sets every change's raw value after a fast decode, for the rare
// changes that need it.
func (env *envelope) loadRaw(body []byte) {
	if env.rawLoaded {
		return
	}
	env.rawLoaded = true
	var r rawEnvelope
	if json.Unmarshal(body, &r) != nil || len(r.Entry) != len(env.Entry) {
		return // cannot happen: the fast decode of the same body succeeded
	}
	for ei, re := range r.Entry {
		changes := env.Entry[ei].Changes
		for ci := range re.Changes {
			if ci < len(changes) {
				changes[ci].raw = re.Changes[ci].Value
			}
		}
	}
}

type metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

type contact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WAID   string `json:"wa_id"`
	UserID string `json:"user_id"`
}

type rawError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	Details   string `json:"details"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

// changeParser turns one entry[].changes[] element into events; it carries
// the indexes so errors can say where they are.
type changeParser struct {
	batch  *domain.WebhookBatch
	env    *envelope
	body   []byte
	entry  *entry
	change *change
	ei, ci int
}

func (p *changeParser) parse() error {
	switch p.change.Field {
	case FieldMessages:
		return p.messages()
	case FieldUserPreferences:
		return p.userPreferences()
	case FieldMessageTemplateStatusUpdate, FieldMessageTemplateQualityUpdate, FieldTemplateCategoryUpdate:
		return p.template()
	case FieldAccountUpdate, FieldPhoneNumberQualityUpdate, FieldBusinessCapabilityUpdate,
		FieldPhoneNumberNameUpdate, FieldAccountAlerts, FieldAccountReviewUpdate:
		return p.account()
	}
	p.unknown()
	return nil
}

// where names the change in error messages.
func (p *changeParser) where() string {
	return fmt.Sprintf("entry[%d].changes[%d] (%s)", p.ei, p.ci, truncate(p.change.Field))
}

func (p *changeParser) errorf(format string, args ...any) error {
	return domain.Errorf(domain.EINVALID, "%s: %s", p.where(), fmt.Sprintf(format, args...))
}

// rawValue is the change's value exactly as Meta sent it.
func (p *changeParser) rawValue() json.RawMessage {
	if p.change.raw == nil {
		p.env.loadRaw(p.body)
	}
	return p.change.raw
}

// decodeValue decodes the value for a field other than "messages".
func (p *changeParser) decodeValue(v any) error {
	if err := json.Unmarshal(p.rawValue(), v); err != nil {
		return decodeError(fmt.Sprintf("entry[%d].changes[%d].value", p.ei, p.ci), err)
	}
	return nil
}

func (p *changeParser) recipient(md metadata) domain.Recipient {
	return domain.Recipient{
		WABAID:        string(p.entry.ID),
		PhoneNumberID: md.PhoneNumberID,
		DisplayPhone:  md.DisplayPhoneNumber,
	}
}

// unknown keeps the change as it came, so nothing Meta sent is dropped.
func (p *changeParser) unknown() {
	// Unknown fields usually carry metadata too, and its phone number id
	// tells the processor which tenant the change belongs to.
	var v struct {
		Metadata metadata `json:"metadata"`
	}
	_ = json.Unmarshal(p.rawValue(), &v)
	p.batch.Unknown = append(p.batch.Unknown, domain.UnknownChange{
		Recipient: p.recipient(v.Metadata),
		Field:     p.change.Field,
		Value:     p.rawValue(),
	})
}

// messagesValue is the value of a "messages" change.
type messagesValue struct {
	Metadata  metadata     `json:"metadata"`
	Contacts  []contact    `json:"contacts"`
	Statuses  []rawStatus  `json:"statuses"`
	Messages  []rawMessage `json:"messages"`
	Errors    []rawError   `json:"errors"`
	Timestamp unixTime     `json:"timestamp"`
}

type rawStatus struct {
	ID              string           `json:"id"`
	Status          string           `json:"status"`
	Timestamp       unixTime         `json:"timestamp"`
	RecipientID     string           `json:"recipient_id"`
	RecipientUserID string           `json:"recipient_user_id"`
	Errors          []rawError       `json:"errors"`
	Conversation    *rawConversation `json:"conversation"`
	Pricing         *rawPricing      `json:"pricing"`
	BizOpaque       string           `json:"biz_opaque_callback_data"`
}

type rawConversation struct {
	ID        string   `json:"id"`
	ExpiresAt unixTime `json:"expiration_timestamp"`
	Origin    struct {
		Type string `json:"type"`
	} `json:"origin"`
}

type rawPricing struct {
	Model    string `json:"pricing_model"`
	Category string `json:"category"`
	Type     string `json:"type"`
	Billable *bool  `json:"billable"`
}

func (p *changeParser) messages() error {
	v := p.change.Value
	if len(v.Statuses) == 0 && len(v.Messages) == 0 && len(v.Errors) == 0 {
		// A "messages" change with none of the arrays ticks reads (group
		// events have been seen here) is kept whole rather than dropped.
		p.unknown()
		return nil
	}
	rcpt := p.recipient(v.Metadata)
	if len(v.Statuses) > 0 && p.batch.Statuses == nil {
		p.batch.Statuses = make([]domain.StatusEvent, 0, len(v.Statuses))
	}
	for i := range v.Statuses {
		s, err := p.status(rcpt, v.Contacts, &v.Statuses[i], i)
		if err != nil {
			return err
		}
		p.batch.Statuses = append(p.batch.Statuses, s)
	}
	for i := range v.Messages {
		m, err := p.inboundMessage(rcpt, v, i)
		if err != nil {
			return err
		}
		p.batch.Messages = append(p.batch.Messages, m)
	}
	if len(v.Errors) > 0 {
		if v.Timestamp.bad != "" {
			return p.errorf("timestamp %s is not unix seconds", v.Timestamp.bad)
		}
		p.batch.Errors = append(p.batch.Errors, domain.ErrorEvent{
			Recipient: rcpt,
			Errors:    metaErrors(v.Errors),
			Timestamp: v.Timestamp.Time(),
		})
	}
	return nil
}

func (p *changeParser) status(rcpt domain.Recipient, contacts []contact, s *rawStatus, i int) (domain.StatusEvent, error) {
	if s.ID == "" {
		return domain.StatusEvent{}, p.errorf("statuses[%d] has no \"id\"", i)
	}
	state, ok := statusState(s.Status)
	if !ok {
		if s.Status == "" {
			return domain.StatusEvent{}, p.errorf("statuses[%d] (%s) has no \"status\"", i, truncate(s.ID))
		}
		return domain.StatusEvent{}, p.errorf("statuses[%d] (%s): unknown status %q; want sent, delivered, read, played or failed",
			i, truncate(s.ID), truncate(s.Status))
	}
	if s.Timestamp.bad != "" {
		return domain.StatusEvent{}, p.errorf("statuses[%d] (%s): timestamp %s is not unix seconds", i, truncate(s.ID), s.Timestamp.bad)
	}
	if c := s.Conversation; c != nil && c.ExpiresAt.bad != "" {
		return domain.StatusEvent{}, p.errorf("statuses[%d] (%s): conversation expiration_timestamp %s is not unix seconds",
			i, truncate(s.ID), c.ExpiresAt.bad)
	}
	ev := domain.StatusEvent{
		Recipient:       rcpt,
		WAMID:           s.ID,
		State:           state,
		Timestamp:       s.Timestamp.Time(),
		RecipientWAID:   s.RecipientID,
		RecipientUserID: s.RecipientUserID,
		Errors:          metaErrors(s.Errors),
		BizOpaque:       s.BizOpaque,
	}
	for j := range contacts {
		c := &contacts[j]
		if (c.WAID != "" && c.WAID == s.RecipientID) || (c.UserID != "" && c.UserID == s.RecipientUserID) {
			ev.ProfileName = c.Profile.Name
			break
		}
	}
	if c := s.Conversation; c != nil {
		ev.Conversation = &domain.MetaConversation{ID: c.ID, Origin: c.Origin.Type, ExpiresAt: c.ExpiresAt.Time()}
	}
	if pr := s.Pricing; pr != nil {
		ev.Pricing = &domain.Pricing{Model: pr.Model, Category: pr.Category, Type: pr.Type, Billable: pr.Billable}
	}
	return ev, nil
}

// statusState maps Meta's status values onto the lifecycle states; anything
// else is refused, because the processor must never apply a state it does
// not know how to rank.
func statusState(s string) (domain.State, bool) {
	switch s {
	case "sent":
		return domain.StateSent, true
	case "delivered":
		return domain.StateDelivered, true
	case "read":
		return domain.StateRead, true
	case "played":
		return domain.StatePlayed, true
	case "failed":
		return domain.StateFailed, true
	}
	return "", false
}

func metaErrors(raw []rawError) []domain.MetaError {
	if len(raw) == 0 {
		return nil
	}
	out := make([]domain.MetaError, len(raw))
	for i, e := range raw {
		details := e.ErrorData.Details
		if details == "" {
			details = e.Details
		}
		out[i] = domain.MetaError{Code: e.Code, Title: e.Title, Message: e.Message, Details: details}
	}
	return out
}

type preferencesValue struct {
	Metadata    metadata `json:"metadata"`
	Preferences []struct {
		WAID      string   `json:"wa_id"`
		UserID    string   `json:"user_id"`
		Category  string   `json:"category"`
		Value     string   `json:"value"`
		Detail    string   `json:"detail"`
		Timestamp unixTime `json:"timestamp"`
	} `json:"user_preferences"`
}

func (p *changeParser) userPreferences() error {
	var v preferencesValue
	if err := p.decodeValue(&v); err != nil {
		return err
	}
	if len(v.Preferences) == 0 {
		p.unknown()
		return nil
	}
	rcpt := p.recipient(v.Metadata)
	for i, u := range v.Preferences {
		if u.Timestamp.bad != "" {
			return p.errorf("user_preferences[%d]: timestamp %s is not unix seconds", i, u.Timestamp.bad)
		}
		p.batch.Preferences = append(p.batch.Preferences, domain.PreferenceEvent{
			Recipient: rcpt,
			WAID:      u.WAID,
			UserID:    u.UserID,
			Category:  u.Category,
			Value:     u.Value,
			Detail:    u.Detail,
			Timestamp: u.Timestamp.Time(),
		})
	}
	return nil
}

// maxUnixSeconds is the last second of year 9999: anything larger is a
// millisecond (or garbage) timestamp, not unix seconds.
const maxUnixSeconds = 253402300799

// unixTime is a timestamp as Meta sends it: unix seconds as a JSON string
// ("1750263900") in most places, as a number in others. A value that is not
// unix seconds is kept in bad rather than failing the decode, so the error
// can say which status or message carried it.
type unixTime struct {
	sec int64
	set bool
	bad string
}

// UnmarshalJSON never fails, so one odd timestamp cannot hide which event it was on.
func (t *unixTime) UnmarshalJSON(b []byte) error {
	*t = unixTime{}
	if string(b) == "null" {
		return nil
	}
	digits := b
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		digits = b[1 : len(b)-1]
	}
	var sec int64
	ok := len(digits) > 0 && len(digits) <= 12
	for _, c := range digits {
		if c < '0' || c > '9' {
			ok = false
			break
		}
		sec = sec*10 + int64(c-'0')
	}
	if !ok || sec > maxUnixSeconds {
		t.bad = truncate(string(b))
		return nil
	}
	t.sec, t.set = sec, true
	return nil
}

// Time is the zero time when Meta sent no timestamp.
func (t unixTime) Time() time.Time {
	if !t.set {
		return time.Time{}
	}
	return time.Unix(t.sec, 0).UTC()
}

// flexString is an identifier Meta sends as a string in one webhook and as
// a number in another (message_template_id, entry ids).
type flexString string

// UnmarshalJSON keeps a number's digits as sent, so large ids lose no precision.
func (s *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case b[0] == '-' || ('0' <= b[0] && b[0] <= '9'):
		*s = flexString(b)
	default:
		return domain.Errorf(domain.EINVALID, "an id is %s; want a string or a number", truncate(string(b)))
	}
	return nil
}

// topLevel names the whole body in error messages.
const topLevel = "webhook body"

// decodeError turns an encoding/json error into an EINVALID message that
// says where the problem is and what was expected, in JSON's words rather
// than Go's type names.
func decodeError(where string, err error) error {
	var (
		de  *domain.Error
		typ *json.UnmarshalTypeError
		syn *json.SyntaxError
	)
	switch {
	case errors.As(err, &de):
		return domain.Errorf(domain.EINVALID, "%s: %s", where, de.Message)
	case errors.As(err, &typ):
		path := where
		switch {
		case typ.Field == "":
		case where == topLevel:
			path = typ.Field
		default:
			path += "." + typ.Field
		}
		return domain.Errorf(domain.EINVALID, "%s is a JSON %s; want %s", path, typ.Value, jsonKind(typ.Type))
	case errors.As(err, &syn):
		return domain.Errorf(domain.EINVALID, "%s is not valid JSON: %s (offset %d)", where, syn.Error(), syn.Offset)
	}
	return domain.Errorf(domain.EINVALID, "%s is not valid JSON: %s", where, err.Error())
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another type"
}

func startsWithObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// truncate keeps error messages short whatever a sender put in a field.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
