// Package send sends WhatsApp messages through one pipeline of checks —
// number validity, opt-out, session window (or fallback template), tier
// limit, warm-up, template and content — and then the provider. A message
// the platform refuses is stored with its status and reason, so reports
// show it; one it sends is followed to its final state by the webhooks.
package send

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/store"
)

// Request is a message to send.
type Request struct {
	ChannelID      int64           `json:"channel_id,omitempty"`
	To             string          `json:"to"`
	Type           string          `json:"type"` // text, template, image, audio, video, document, sticker, interactive, location
	Text           string          `json:"text,omitempty"`
	Template       *TemplateRef    `json:"template,omitempty"`
	Content        json.RawMessage `json:"content,omitempty"` // the Cloud API object for media, interactive, location
	CorrelationID  string          `json:"correlation_id,omitempty"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	Fallback       *TemplateRef    `json:"fallback_template,omitempty"` // overrides the channel's
	ReplyTo        string          `json:"reply_to,omitempty"`          // wamid of the message this answers
	ContactName    string          `json:"contact_name,omitempty"`

	// Normalized says To is already phone.Normalize's E.164 form of a
	// number it found valid in region BR (a campaign's audience row,
	// checked at its import), so the send does not parse it again. Set by
	// the caller, never by a client.
	Normalized bool `json:"-"`

	// Set by the caller, not the client.
	SenderUserID *int64 `json:"-"`
	BotID        *int64 `json:"-"` // the API client that sent it
	CampaignID   *int64 `json:"-"`
	Origin       string `json:"-"` // api, campaign or warmup
}

var mediaTypes = map[string]bool{"image": true, "audio": true, "video": true, "document": true, "sticker": true,
	"interactive": true, "location": true, "contacts": true, "reaction": true}

// Validate checks the shape of a request. A malformed request is a client
// error and stores nothing; a well-formed one that fails a check is a
// refused message, stored with its status.
func (r *Request) Validate() error {
	r.To = strings.TrimSpace(r.To)
	switch {
	case r.To == "":
		return domain.Errorf(domain.EINVALID, "to is required: the recipient's phone number")
	case r.Type == "text":
		if strings.TrimSpace(r.Text) == "" {
			return domain.Errorf(domain.EINVALID, "text is required for a text message")
		}
		if utf8.RuneCountInString(r.Text) > 4096 {
			return domain.Errorf(domain.EINVALID, "text is over WhatsApp's 4096 characters")
		}
	case r.Type == "template":
		if r.Template == nil || r.Template.Name == "" || r.Template.Language == "" {
			return domain.Errorf(domain.EINVALID, "template.name and template.language are required for a template message")
		}
	case mediaTypes[r.Type]:
		if len(r.Content) == 0 || !json.Valid(r.Content) || r.Content[0] != '{' {
			return domain.Errorf(domain.EINVALID, "content must be the Cloud API %s object", r.Type)
		}
	default:
		return domain.Errorf(domain.EINVALID, "type must be text, template, image, audio, video, document, sticker, interactive, location, contacts or reaction")
	}
	if r.Fallback != nil && (r.Fallback.Name == "" || r.Fallback.Language == "") {
		return domain.Errorf(domain.EINVALID, "fallback_template needs name and language")
	}
	if len(r.CorrelationID) > 200 || len(r.IdempotencyKey) > 200 {
		return domain.Errorf(domain.EINVALID, "correlation_id and idempotency_key are at most 200 characters")
	}
	return nil
}

// Pipeline sends messages.
type Pipeline struct {
	Store    *store.Store
	Provider domain.Provider
	Box      *secret.Box // opens channel access tokens; nil when none are stored
	Now      func() time.Time

	bodies  sync.Map // a template's components → its templateBody
	nBodies atomic.Int64

	mu         sync.Mutex
	tiers      map[int64]*tierWindow
	throughput map[string]int // phone number id → messages/s last given to the provider
}

// throughputSetter is a provider that paces each number (the Cloud API
// client).
type throughputSetter interface {
	SetThroughput(phoneNumberID string, perSecond int) error
}

// pace tells the provider a channel's throughput when it changed.
func (p *Pipeline) pace(ch *domain.Channel) {
	ts, ok := p.Provider.(throughputSetter)
	if !ok || ch.ThroughputMPS <= 0 {
		return
	}
	p.mu.Lock()
	changed := p.throughput[ch.PhoneNumberID] != ch.ThroughputMPS
	p.throughput[ch.PhoneNumberID] = ch.ThroughputMPS
	p.mu.Unlock()
	if changed {
		_ = ts.SetThroughput(ch.PhoneNumberID, ch.ThroughputMPS)
	}
}

// New returns a pipeline sending through p.
func New(st *store.Store, p domain.Provider, box *secret.Box) *Pipeline {
	return &Pipeline{Store: st, Provider: p, Box: box, Now: time.Now, tiers: map[int64]*tierWindow{},
		throughput: map[string]int{}}
}

// Outcome is a sent or refused message.
type Outcome struct {
	Message *domain.Message
	// Refused is true when the platform refused the message before
	// sending (or Meta refused it synchronously); Message.Status says why.
	Refused bool
	// Replayed is true when the idempotency key named an earlier message,
	// which is returned instead of sending again.
	Replayed bool
}

// Send runs req through the checks and, if it passes, the provider.
func (p *Pipeline) Send(ctx context.Context, ch *domain.Channel, req *Request) (*Outcome, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	// A repeated idempotency key is found by the message's insert (its
	// unique index), not looked up before: a look-up would cost every send
	// a query for the few that repeat. Nothing before the insert acts
	// outside ticks, so a repeat only runs the checks again (see replay).
	now := p.Now()
	m := &domain.Message{SubaccountID: ch.SubaccountID, ChannelID: ch.ID, Direction: domain.DirectionMT,
		ContentType: req.Type, Text: req.Text, CorrelationID: req.CorrelationID, SenderUserID: req.SenderUserID,
		BotID: req.BotID, CampaignID: req.CampaignID, Origin: req.Origin, At: now, State: domain.StateSending,
		Status: domain.StatusSending, Phone: req.To, PricingModel: "PMP", ContextWAMID: req.ReplyTo}

	// 1. Number validity (checked already when the caller says so and the
	// number has E.164's shape).
	e164 := req.To
	if !req.Normalized || !e164Shape(e164) {
		var err error
		if e164, err = phone.Normalize(req.To, "BR"); err != nil {
			return p.refuse(ctx, m, req, domain.RefusedNumber, req.To, err.Error())
		}
	}
	m.Phone, m.WAID = e164, strings.TrimPrefix(e164, "+")
	// Most contacts exist already: read, and write only what is new.
	contact, err := p.Store.ContactByPhone(ctx, ch.SubaccountID, e164)
	if domain.ErrorCode(err) == domain.ENOTFOUND ||
		(err == nil && ((req.CorrelationID != "" && req.CorrelationID != contact.CorrelationID) ||
			(req.ContactName != "" && req.ContactName != contact.Name))) {
		contact, err = p.Store.UpsertContact(ctx, ch.SubaccountID, store.ContactInput{Phone: e164,
			CorrelationID: req.CorrelationID, Name: req.ContactName})
	}
	if err != nil {
		return nil, err
	}
	m.ContactID = contact.ID
	if m.CorrelationID == "" {
		m.CorrelationID = contact.CorrelationID
	}
	session := contact.LastInboundAt != nil && now.Before(contact.LastInboundAt.Add(domain.SessionWindow))

	// 2. Session window: free-form only inside it, else the fallback template.
	ref := req.Template
	if req.Type != "template" && !session {
		fb := req.Fallback
		if fb == nil && ch.FallbackTemplate != "" {
			fb = &TemplateRef{Name: ch.FallbackTemplate, Language: ch.FallbackLanguage}
		}
		if fb == nil {
			return p.refuse(ctx, m, req, domain.RefusedSession)
		}
		ref, m.ContentType = fb, "template"
	}

	// 3. Template and content.
	var tpl *domain.Template
	if ref != nil {
		m.TemplateName, m.TemplateLang = ref.Name, ref.Language
		tpl, err = p.Store.Template(ctx, ch.WABAID, ref.Name, ref.Language)
		switch {
		case domain.ErrorCode(err) == domain.ENOTFOUND:
			return p.refuse(ctx, m, req, domain.RefusedNoTemplate, ref.Name, ref.Language)
		case err != nil:
			return nil, err
		case tpl.Status != "APPROVED":
			return p.refuse(ctx, m, req, domain.RefusedNotApproved, ref.Name, ref.Language, tpl.Status)
		}
		m.TemplateCategory = domain.TemplateCategoryOf(tpl.Category)
		body, want := p.body(tpl)
		if len(ref.Components) == 0 && len(ref.Params) != want {
			return p.refuse(ctx, m, req, domain.RefusedParamCount, ref.Name, strconv.Itoa(want), strconv.Itoa(len(ref.Params)))
		}
		m.Text = domain.RenderBody(body, ref.Params)
	}

	// 4. Opt-out: no marketing or utility templates to a contact who opted
	// out; authentication codes it asked for, and replies in a session, go.
	if contact.OptedOut && tpl != nil && m.TemplateCategory != "authentication" {
		return p.refuse(ctx, m, req, domain.RefusedOptOut)
	}

	// 5. Tier limit: unique contacts reached outside a window in 24 h.
	if !session {
		ok, err := p.tierAllows(ctx, ch, contact.ID, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			return p.refuse(ctx, m, req, domain.RefusedTier, ch.Tier, strconv.Itoa(ch.TierLimit()))
		}
	}

	// 6. Warm-up: only the program's own sends, within its daily quota.
	if ch.InWarmup(now) {
		if req.Origin != "warmup" {
			return p.refuse(ctx, m, req, domain.RefusedWarmup, ch.WarmupUntil.Format(time.RFC3339))
		}
		if ch.WarmupDailyLimit > 0 {
			day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
			n, err := p.Store.WarmupSentSince(ctx, ch.ID, day)
			if err != nil {
				return nil, err
			}
			if n >= ch.WarmupDailyLimit {
				return p.refuse(ctx, m, req, domain.RefusedWarmupQuota, strconv.Itoa(ch.WarmupDailyLimit))
			}
		}
	}

	// Pricing as estimated now; the status webhooks set Meta's own.
	m.PricingCategory, m.PricingType = "service", "free_customer_service"
	if tpl != nil {
		m.PricingCategory, m.PricingType = m.TemplateCategory, "regular"
		if session && m.TemplateCategory == "utility" {
			m.PricingType = "free_customer_service"
		}
	}
	out := &domain.Outbound{PhoneNumberID: ch.PhoneNumberID, To: m.WAID, Type: m.ContentType, ContextWAMID: req.ReplyTo}
	switch {
	case tpl != nil:
		out.Content = templateContent(ref)
	case req.Type == "text":
		out.Content, _ = json.Marshal(map[string]any{"body": req.Text, "preview_url": strings.Contains(req.Text, "https://")})
	default:
		out.Content = req.Content
		if m.Text == "" {
			m.Text = contentCaption(req.Content)
		}
	}
	m.Content = out.Content
	if err := p.Store.InsertOutboundOnce(ctx, m, req.IdempotencyKey, req.fingerprint(ch.ID)); err != nil {
		return p.replay(ctx, ch, req, err)
	}
	if !session {
		p.tierRecord(ch.ID, contact.ID, now)
	}
	if ch.AccessTokenEnc != "" {
		if p.Box == nil {
			return p.fail(ctx, m, domain.StatusInternalError, domain.MetaError{Title: domain.FailedToken.Title,
				Details: "TICKS_SECRET_KEY is not set"})
		}
		if out.AccessToken, err = p.Box.Open(ch.AccessTokenEnc); err != nil {
			return p.fail(ctx, m, domain.StatusInternalError, domain.MetaError{Title: domain.FailedToken.Title,
				Details: "TICKS_SECRET_KEY differs from the one the token was stored with"})
		}
	}
	p.pace(ch)
	res, err := p.Provider.Send(ctx, out)
	if err != nil {
		var se *domain.SendError
		if errors.As(err, &se) {
			return p.fail(ctx, m, domain.StatusFromMetaError(se.Meta.Code), se.Meta)
		}
		title := domain.FailedUnreachable.Title
		if ctx.Err() != nil {
			title = domain.FailedInterrupted.Title // shutdown or a client gone; Meta may or may not have it
		}
		slog.Warn("send: "+title, slog.Int64("message", m.ID), slog.Any("err", err))
		return p.fail(context.WithoutCancel(ctx), m, domain.StatusInternalError, domain.MetaError{Title: title, Details: err.Error()})
	}
	if err := p.Store.MarkAccepted(ctx, m.ID, res.WAMID, res.WAID); err != nil {
		return nil, err
	}
	m.WAMID = res.WAMID
	if res.WAID != "" {
		m.WAID = res.WAID
	}
	return &Outcome{Message: m}, nil
}

// replay answers a request whose message's insert failed with err: when
// its idempotency key names an earlier message (the insert's conflict),
// that message, sent or refused, instead of a second; when the key came
// with a different request, an error; otherwise err. The earlier message
// may have been stored by a process killed before it answered: the
// repeat finds it here, and nothing is sent twice.
func (p *Pipeline) replay(ctx context.Context, ch *domain.Channel, req *Request, err error) (*Outcome, error) {
	if req.IdempotencyKey == "" || domain.ErrorCode(err) != domain.ECONFLICT {
		return nil, err
	}
	m, fingerprint, lookErr := p.Store.MessageByIdempotencyKey(ctx, ch.SubaccountID, req.IdempotencyKey)
	if lookErr != nil {
		if domain.ErrorCode(lookErr) == domain.ENOTFOUND {
			return nil, err
		}
		return nil, lookErr
	}
	// Keys stored before fingerprints were have none: taken as a match.
	if fingerprint != "" && fingerprint != req.fingerprint(ch.ID) {
		return nil, domain.Errorf(domain.EUNPROCESSABLE, "idempotency key %q was used for a different request (message %d); use a new key for a new message",
			req.IdempotencyKey, m.ID)
	}
	return &Outcome{Message: m, Replayed: true, Refused: m.State == domain.StateFailed}, nil
}

// refuse stores a message the platform will not send, with its status and
// reason, and returns it.
func (p *Pipeline) refuse(ctx context.Context, m *domain.Message, req *Request, r domain.Refusal, args ...string) (*Outcome, error) {
	r.Apply(m, args...)
	m.PricingModel = ""
	if err := p.Store.InsertOutboundOnce(ctx, m, req.IdempotencyKey, req.fingerprint(m.ChannelID)); err != nil {
		return p.replay(ctx, &domain.Channel{ID: m.ChannelID, SubaccountID: m.SubaccountID}, req, err)
	}
	stored, err := p.Store.Message(ctx, m.ID, nil)
	if err != nil {
		return nil, err
	}
	return &Outcome{Message: stored, Refused: true}, nil
}

// fail records a message the provider refused.
func (p *Pipeline) fail(ctx context.Context, m *domain.Message, st domain.Status, e domain.MetaError) (*Outcome, error) {
	if err := p.Store.MarkFailed(ctx, m, st, e); err != nil {
		return nil, err
	}
	stored, err := p.Store.Message(ctx, m.ID, nil)
	if err != nil {
		return nil, err
	}
	return &Outcome{Message: stored, Refused: true}, nil
}

func contentCaption(content json.RawMessage) string {
	var c struct {
		Caption string `json:"caption"`
		Name    string `json:"name"`
		Body    struct {
			Text string `json:"text"`
		} `json:"body"`
	}
	_ = json.Unmarshal(content, &c)
	switch {
	case c.Caption != "":
		return c.Caption
	case c.Body.Text != "":
		return c.Body.Text
	}
	return c.Name
}

// tierWindow tracks a channel's unique contacts reached outside a session
// in the last 24 h. The pipeline is the only sender, so after loading it
// once from the database it is kept in memory.
type tierWindow struct {
	last map[int64]time.Time
}

func (p *Pipeline) tierAllows(ctx context.Context, ch *domain.Channel, contactID int64, now time.Time) (bool, error) {
	limit := ch.TierLimit()
	if limit == 0 {
		return true, nil
	}
	p.mu.Lock()
	w := p.tiers[ch.ID]
	p.mu.Unlock()
	if w == nil {
		last, err := p.Store.BusinessInitiatedSince(ctx, ch.ID, now.Add(-24*time.Hour))
		if err != nil {
			return false, err
		}
		p.mu.Lock()
		if w = p.tiers[ch.ID]; w == nil {
			w = &tierWindow{last: last}
			p.tiers[ch.ID] = w
		}
		p.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := w.last[contactID]; ok && now.Sub(t) < 24*time.Hour {
		return true, nil // already counted in this window
	}
	if len(w.last) >= limit {
		for id, t := range w.last {
			if now.Sub(t) >= 24*time.Hour {
				delete(w.last, id)
			}
		}
	}
	return len(w.last) < limit, nil
}

func (p *Pipeline) tierRecord(channelID, contactID int64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.tiers[channelID]; w != nil {
		w.last[contactID] = now
	}
}

// fingerprint is a hash of what a request asks, without its idempotency
// key: two requests with the same key must have the same one. Sent on the
// channel channelID, so that a request naming no channel matches itself.
func (r *Request) fingerprint(channelID int64) string {
	what := *r
	what.IdempotencyKey, what.ChannelID = "", channelID
	b, _ := json.Marshal(what)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// e164Shape is whether s looks like an E.164 number: a plus and 8 to 15
// digits, the first not 0.
func e164Shape(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// templateBody is a template's body text and parameter count.
type templateBody struct {
	text   string
	params int
}

// maxBodies bounds the template bodies a pipeline remembers.
const maxBodies = 4096

// body is tpl.Body(), remembered by the template's components: a campaign
// sends one template thousands of times, and parsing its components was 2 %
// of a send's CPU. The template itself (its status) is read through
// store.Template, which reads it again at least once a second.
func (p *Pipeline) body(tpl *domain.Template) (string, int) {
	key := string(tpl.Components)
	if b, ok := p.bodies.Load(key); ok {
		tb := b.(templateBody)
		return tb.text, tb.params
	}
	text, n := tpl.Body()
	if p.nBodies.Add(1) > maxBodies {
		p.bodies.Clear()
		p.nBodies.Store(1)
	}
	p.bodies.Store(key, templateBody{text, n})
	return text, n
}
