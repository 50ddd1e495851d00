package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/tracking"
)

// maxEventsBody bounds a batch of events: 1,000 events with extras of up
// to 4 KB each.
const maxEventsBody = 8 << 20

// trackingRoutes registers the bots, events and custom reports.
func (h *Handler) trackingRoutes(handle func(string, func(http.ResponseWriter, *http.Request, *access.Principal))) {
	handle("GET /api/v1/bots", h.listBots)
	handle("POST /api/v1/bots", h.createBot)
	handle("POST /api/v1/events", h.recordEvents)
	handle("GET /api/v1/reports/events", h.reportEvents)
	handle("POST /api/v1/reports/funnel", h.reportFunnel)
	handle("GET /api/v1/reports/conversations", h.reportConversations)
	handle("GET /api/v1/reports/conversations/users", h.reportConversationUsers)
	handle("GET /api/v1/custom-reports", h.listCustomReports)
	handle("POST /api/v1/custom-reports", h.saveCustomReport)
}

func (h *Handler) listBots(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Tracking.Bots(r.Context(), p)
	reply(w, r, http.StatusOK, map[string]any{"bots": list}, err)
}

func (h *Handler) createBot(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in tracking.BotInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	b, err := h.Tracking.CreateBot(r.Context(), p, in)
	reply(w, r, http.StatusCreated, b, err)
}

// recordEvents takes one event (answered 201 with it) or {"events": [...]}
// (answered 200 with the count accepted and an error per refused event).
func (h *Handler) recordEvents(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "Content-Type must be application/json"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventsBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			err = domain.Errorf(domain.ETOOLARGE, "request body over %d bytes", maxEventsBody)
		}
		respond.Error(w, r, err)
		return
	}
	sub, err := eventsSubaccount(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	events, batch, err := tracking.DecodeEvents(body)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	// A batch is answered once durable in the intake, and counted a moment
	// later; a single event is answered stored, with its contact's id.
	record := h.Tracking.Record
	if !batch {
		record = h.Tracking.RecordNow
	}
	res, err := record(r.Context(), p, sub, events)
	switch {
	case err != nil:
		respond.Error(w, r, err)
	case batch:
		respond.JSON(w, http.StatusOK, res)
	case len(res.Errors) > 0:
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "%s", res.Errors[0].Error))
	default:
		respond.JSON(w, http.StatusCreated, eventJSON(&res.Events[0], res.Duplicates > 0))
	}
}

// eventJSON is an event as the API answers it.
func eventJSON(e *domain.TrackEvent, duplicate bool) map[string]any {
	out := map[string]any{"id": strconv.FormatInt(e.ID, 10), "subaccount_id": e.SubaccountID, "category": e.Category, "action": e.Action,
		"contact_id": e.ContactID, "at": e.At, "duplicate": duplicate}
	if e.BotID != 0 {
		out["bot"] = e.BotID
	}
	if e.MessageID != 0 {
		out["message_id"] = strconv.FormatInt(e.MessageID, 10)
	}
	if e.IdempotencyKey != "" {
		out["idempotency_key"] = e.IdempotencyKey
	}
	return out
}

// reportEvents answers the custom report of events as JSON, CSV or XLSX.
func (h *Handler) reportEvents(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" && format != "xlsx" {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "format must be json, csv or xlsx, not %q", format))
		return
	}
	eq, err := h.Tracking.ParseEventQuery(q)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	rows, err := h.Tracking.EventReport(r.Context(), p, eq)
	if err != nil || format == "" || format == "json" {
		reply(w, r, http.StatusOK, map[string]any{"rows": rows}, err)
		return
	}
	e := tracking.EventExport{Rows: rows, Query: eq, Format: format, Lang: i18n.Normalize(r.Header.Get("Accept-Language")), Location: h.Tracking.Location}
	respond.Attachment(w, e.Filename(), e.ContentType())
	if err := e.Write(w); err != nil && r.Context().Err() == nil {
		respond.LogInternal(r, err)
	}
}

// eventsSubaccount reads the subaccount events are recorded in: needed
// only by a token that sees more than one.
func eventsSubaccount(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("subaccount")
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.Errorf(domain.EINVALID, "subaccount %q is not a positive integer", v)
	}
	return id, nil
}

// reportFunnel answers a funnel: contacts per step, conversion and the
// median time between steps.
func (h *Handler) reportFunnel(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var q tracking.FunnelQuery
	if err := decode(w, r, &q); err != nil {
		respond.Error(w, r, err)
		return
	}
	res, err := h.Tracking.Funnel(r.Context(), p, q)
	reply(w, r, http.StatusOK, res, err)
}

// conversationQuery reads from, to (months), bot and subaccount.
func conversationQuery(r *http.Request) (tracking.ConversationQuery, error) {
	q := r.URL.Query()
	out := tracking.ConversationQuery{From: q.Get("from"), To: q.Get("to")}
	for key, dst := range map[string]*int64{"bot": &out.BotID, "subaccount": &out.Subaccount} {
		if v := q.Get(key); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				return out, domain.Errorf(domain.EINVALID, "%s %q is not a positive integer", key, v)
			}
			*dst = id
		}
	}
	return out, nil
}

// reportConversations answers the conversation summary: MAU, MEU and
// messages per month and bot.
func (h *Handler) reportConversations(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q, err := conversationQuery(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	res, err := h.Tracking.Conversations(r.Context(), p, q)
	reply(w, r, http.StatusOK, res, err)
}

// reportConversationUsers answers the user details of a month: each
// contact's first and last message and its messages.
func (h *Handler) reportConversationUsers(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q, err := conversationQuery(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	list, err := h.Tracking.ConversationUsers(r.Context(), p, q, 1000)
	reply(w, r, http.StatusOK, map[string]any{"users": list}, err)
}

func (h *Handler) listCustomReports(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Tracking.SavedReports(r.Context(), p)
	reply(w, r, http.StatusOK, map[string]any{"reports": list}, err)
}

func (h *Handler) saveCustomReport(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in tracking.SavedInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	saved, err := h.Tracking.SaveReport(r.Context(), p, in)
	reply(w, r, http.StatusCreated, saved, err)
}
