package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/store"
)

// channelFor returns the channel a request sends on: the one named, or the
// only one of the caller's subaccount.
func (h *Handler) channelFor(r *http.Request, p *Principal, channelID int64) (*domain.Channel, error) {
	if channelID != 0 {
		c, err := h.Store.Channel(r.Context(), channelID)
		if err != nil || !p.CanSee(c.SubaccountID) || c.SubaccountID == domain.UnassignedSubaccountID {
			return nil, domain.Errorf(domain.ENOTFOUND, "channel %d not found", channelID)
		}
		return c, nil
	}
	list, err := h.Store.Channels(r.Context(), p.Scope)
	if err != nil {
		return nil, err
	}
	var usable []domain.Channel
	for _, c := range list {
		if c.SubaccountID != domain.UnassignedSubaccountID {
			usable = append(usable, c)
		}
	}
	switch len(usable) {
	case 0:
		return nil, domain.Errorf(domain.EINVALID, "no channel to send on: create one first")
	case 1:
		return &usable[0], nil
	}
	return nil, domain.Errorf(domain.EINVALID, "channel_id is required: %d channels are yours", len(usable))
}

// sendMessage sends one message. A message the platform refuses is stored
// and returned with 422 and its status; a sent one with 201.
func (h *Handler) sendMessage(w http.ResponseWriter, r *http.Request, p *Principal) {
	if err := p.need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		respond.Error(w, r, err)
		return
	}
	if h.Pipeline == nil {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "sending is not configured on this server"))
		return
	}
	var req send.Request
	if err := decode(w, r, &req); err != nil {
		respond.Error(w, r, err)
		return
	}
	if err := req.Validate(); err != nil {
		respond.Error(w, r, err)
		return
	}
	ch, err := h.channelFor(r, p, req.ChannelID)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" && req.IdempotencyKey == "" {
		req.IdempotencyKey = key
	}
	if p.TokenID != 0 {
		req.BotID = &p.TokenID
	}
	if p.UserID != 0 {
		req.SenderUserID = &p.UserID
	}
	req.Origin = "api"
	out, err := h.Pipeline.Send(r.Context(), ch, &req)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	switch {
	case out.Replayed:
		respond.JSON(w, http.StatusOK, out.Message)
	case out.Refused:
		respond.JSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error":   respond.ErrorDetail{Code: "refused", Message: refusalMessage(out.Message)},
			"message": out.Message,
		})
	default:
		respond.JSON(w, http.StatusCreated, out.Message)
	}
}

func refusalMessage(m *domain.Message) string {
	msg := string(m.Status)
	if m.ErrorTitle != "" {
		msg += ": " + m.ErrorTitle
	}
	if m.ErrorDetail != "" {
		msg += " (" + m.ErrorDetail + ")"
	}
	return msg
}

func (h *Handler) listTemplates(w http.ResponseWriter, r *http.Request, p *Principal) {
	list, err := h.Store.Templates(r.Context(), p.Scope)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"templates": list})
}

// syncTemplates fetches a channel's templates from the provider.
func (h *Handler) syncTemplates(w http.ResponseWriter, r *http.Request, p *Principal) {
	if err := p.need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		respond.Error(w, r, err)
		return
	}
	var in struct {
		ChannelID int64 `json:"channel_id"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			respond.Error(w, r, err)
			return
		}
	}
	ch, err := h.channelFor(r, p, in.ChannelID)
	if err == nil && ch.WABAID == "" {
		err = domain.Errorf(domain.EINVALID, "channel %d has no waba_id to sync templates from", ch.ID)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	token, err := h.channelToken(ch)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	list, err := h.Pipeline.Provider.Templates(r.Context(), ch.WABAID, token)
	if err != nil {
		respond.Error(w, r, providerError(err))
		return
	}
	for i := range list {
		list[i].WABAID = ch.WABAID
	}
	if err := h.Store.UpsertTemplates(r.Context(), ch.SubaccountID, list); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"synced": len(list)})
}

func (h *Handler) channelToken(ch *domain.Channel) (string, error) {
	if ch.AccessTokenEnc == "" {
		return "", nil
	}
	if h.Box == nil {
		return "", domain.Errorf(domain.EINVALID, "the channel's token cannot be opened: TICKS_SECRET_KEY is not set")
	}
	return h.Box.Open(ch.AccessTokenEnc)
}

func providerError(err error) error {
	var se *domain.SendError
	if errors.As(err, &se) {
		return domain.Errorf(domain.EINVALID, "WhatsApp answered %d %s: %s", se.Meta.Code, se.Meta.Title, se.Meta.Details)
	}
	return domain.Errorf(domain.EINTERNAL, "WhatsApp unreachable: %v", err)
}

// upsertContact creates or updates a contact by phone.
func (h *Handler) upsertContact(w http.ResponseWriter, r *http.Request, p *Principal) {
	if err := p.need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		respond.Error(w, r, err)
		return
	}
	var in struct {
		store.ContactInput
		SubaccountID int64 `json:"subaccount_id"`
	}
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	sa, err := h.targetSubaccount(p, in.SubaccountID)
	if err == nil {
		err = normalizeContact(&in.ContactInput)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.Store.UpsertContact(r.Context(), sa, in.ContactInput)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, c)
}

// targetSubaccount is the subaccount a write goes to: the one named, or
// the caller's only one.
func (h *Handler) targetSubaccount(p *Principal, id int64) (int64, error) {
	if id != 0 {
		if !p.CanSee(id) || id == domain.UnassignedSubaccountID {
			return 0, domain.Errorf(domain.EFORBIDDEN, "subaccount %d is not yours", id)
		}
		return id, nil
	}
	if len(p.Scope) == 1 {
		return p.Scope[0], nil
	}
	return 0, domain.Errorf(domain.EINVALID, "subaccount_id is required")
}

func normalizeContact(in *store.ContactInput) error {
	e164, err := phone.Normalize(in.Phone, "BR")
	if err != nil {
		return domain.Errorf(domain.EINVALID, "phone %q: %v", in.Phone, err)
	}
	in.Phone = e164
	in.Name, in.CorrelationID = strings.TrimSpace(in.Name), strings.TrimSpace(in.CorrelationID)
	if len(in.Name) > 200 || len(in.CorrelationID) > 200 {
		return domain.Errorf(domain.EINVALID, "name and correlation_id are at most 200 characters")
	}
	return nil
}

// ImportRowError is one bad row of a contact import.
type ImportRowError struct {
	Row   int    `json:"row"`
	Phone string `json:"phone"`
	Error string `json:"error"`
}

// importContacts takes a CSV (header: phone, and optionally name,
// correlation_id and any custom field columns) and upserts the good rows;
// bad rows are reported one by one and the good ones kept.
func (h *Handler) importContacts(w http.ResponseWriter, r *http.Request, p *Principal) {
	if err := p.need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		respond.Error(w, r, err)
		return
	}
	var sa int64
	if v := r.URL.Query().Get("subaccount_id"); v != "" {
		fmt.Sscan(v, &sa)
	}
	sa, err := h.targetSubaccount(p, sa)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	good, bad, err := ParseContactsCSV(http.MaxBytesReader(w, r.Body, 32<<20))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	n, err := h.Store.ImportContacts(r.Context(), sa, good)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"imported": n, "rejected": len(bad), "errors": bad})
}

// ParseContactsCSV reads a contacts CSV: a header row naming the columns
// (phone is required; name, correlation_id; every other column is a custom
// field), then one contact a row. Bad rows are returned with their line.
func ParseContactsCSV(rd io.Reader) ([]store.ContactInput, []ImportRowError, error) {
	cr := csv.NewReader(rd)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, domain.Errorf(domain.EINVALID, "the CSV has no header row (phone, name, correlation_id, …)")
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))] = i
	}
	_, ok := col["phone"]
	if !ok {
		return nil, nil, domain.Errorf(domain.EINVALID, "the CSV header has no phone column")
	}
	var good []store.ContactInput
	var bad []ImportRowError
	seen := map[string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, ImportRowError{Row: line, Error: "unreadable CSV row: " + pe.Err.Error()})
				continue
			}
			return nil, nil, domain.Errorf(domain.EINVALID, "reading the CSV: %v", err)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		in := store.ContactInput{Phone: get("phone"), Name: get("name"), CorrelationID: get("correlation_id")}
		if len(rec) != len(header) {
			bad = append(bad, ImportRowError{Row: line, Phone: in.Phone, Error: fmt.Sprintf("%d columns, the header has %d", len(rec), len(header))})
			continue
		}
		if err := normalizeContact(&in); err != nil {
			bad = append(bad, ImportRowError{Row: line, Phone: get("phone"), Error: domain.ErrorMessage(err)})
			continue
		}
		if prev, dup := seen[in.Phone]; dup {
			bad = append(bad, ImportRowError{Row: line, Phone: in.Phone, Error: fmt.Sprintf("same phone as row %d", prev)})
			continue
		}
		seen[in.Phone] = line
		for name, i := range col {
			if name != "phone" && name != "name" && name != "correlation_id" && i < len(rec) && rec[i] != "" {
				if in.Fields == nil {
					in.Fields = map[string]string{}
				}
				in.Fields[name] = rec[i]
			}
		}
		good = append(good, in)
	}
	return good, bad, nil
}

func (h *Handler) setOptOut(out bool) func(http.ResponseWriter, *http.Request, *Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *Principal) {
		id, err := pathID(r)
		if err == nil {
			err = p.need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent)
		}
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		c, err := h.Store.SetOptOut(r.Context(), id, p.Scope, out)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		respond.JSON(w, http.StatusOK, c)
	}
}

// ChannelSettings are the sending settings of a channel.
type ChannelSettings struct {
	FallbackTemplate *string    `json:"fallback_template"`
	FallbackLanguage *string    `json:"fallback_language"`
	WarmupUntil      *time.Time `json:"warmup_until"`
	WarmupDailyLimit *int       `json:"warmup_daily_limit"`
	Tier             *string    `json:"tier"`
	ThroughputMPS    *int       `json:"throughput_mps"`
}

func (h *Handler) updateChannel(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, err := pathID(r)
	if err == nil && !p.OrgAdmin() {
		err = p.need(domain.RoleAdmin, domain.RoleSupervisor)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.Store.Channel(r.Context(), id)
	if err == nil && !p.CanSee(c.SubaccountID) {
		err = domain.Errorf(domain.ENOTFOUND, "channel %d not found", id)
	}
	var in ChannelSettings
	if err == nil {
		err = decode(w, r, &in)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if in.FallbackTemplate != nil {
		c.FallbackTemplate = strings.TrimSpace(*in.FallbackTemplate)
	}
	if in.FallbackLanguage != nil {
		c.FallbackLanguage = strings.TrimSpace(*in.FallbackLanguage)
	}
	if (c.FallbackTemplate == "") != (c.FallbackLanguage == "") {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "fallback_template and fallback_language go together"))
		return
	}
	if in.WarmupUntil != nil {
		c.WarmupUntil = in.WarmupUntil
		if in.WarmupUntil.IsZero() {
			c.WarmupUntil = nil
		}
	}
	if in.WarmupDailyLimit != nil {
		if *in.WarmupDailyLimit < 0 {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "warmup_daily_limit must not be negative"))
			return
		}
		c.WarmupDailyLimit = *in.WarmupDailyLimit
	}
	if in.Tier != nil {
		if !tiers[*in.Tier] {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "tier must be one of TIER_250, TIER_2K, TIER_10K, TIER_100K, TIER_UNLIMITED"))
			return
		}
		c.Tier = *in.Tier
	}
	if in.ThroughputMPS != nil {
		if *in.ThroughputMPS < 1 || *in.ThroughputMPS > 1000 {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "throughput_mps must be between 1 and 1000"))
			return
		}
		c.ThroughputMPS = *in.ThroughputMPS
	}
	if err := h.Store.UpdateChannelSettings(r.Context(), c); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, c)
}

// templateCreator is a provider that can create templates (the Cloud API
// client; against the simulator they are approved at once).
type templateCreator interface {
	CreateTemplate(ctx context.Context, wabaID, accessToken string, t domain.Template) (metaID, status string, err error)
}

// createTemplate submits a template to WhatsApp for approval and stores it.
func (h *Handler) createTemplate(w http.ResponseWriter, r *http.Request, p *Principal) {
	if err := p.need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		respond.Error(w, r, err)
		return
	}
	var in struct {
		ChannelID  int64           `json:"channel_id"`
		Name       string          `json:"name"`
		Language   string          `json:"language"`
		Category   string          `json:"category"`
		Components json.RawMessage `json:"components"`
	}
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	in.Category = strings.ToLower(in.Category)
	switch {
	case !templateName.MatchString(in.Name):
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "name must be lower-case letters, digits and underscores (at most 512)"))
		return
	case in.Language == "":
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "language is required (e.g. pt_BR)"))
		return
	case in.Category != "marketing" && in.Category != "utility" && in.Category != "authentication":
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "category must be marketing, utility or authentication"))
		return
	case len(in.Components) == 0 || in.Components[0] != '[':
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "components must be the Cloud API components array"))
		return
	}
	ch, err := h.channelFor(r, p, in.ChannelID)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	creator, ok := h.Pipeline.Provider.(templateCreator)
	if !ok {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "this provider cannot create templates"))
		return
	}
	token, err := h.channelToken(ch)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	t := domain.Template{WABAID: ch.WABAID, Name: in.Name, Language: in.Language, Category: in.Category, Components: in.Components}
	t.MetaID, t.Status, err = creator.CreateTemplate(r.Context(), ch.WABAID, token, t)
	if err != nil {
		respond.Error(w, r, providerError(err))
		return
	}
	if err := h.Store.UpsertTemplates(r.Context(), ch.SubaccountID, []domain.Template{t}); err != nil {
		respond.Error(w, r, err)
		return
	}
	stored, err := h.Store.Template(r.Context(), ch.WABAID, t.Name, t.Language)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, stored)
}

var templateName = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
