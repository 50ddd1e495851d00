// Package api serves the REST API under /api/v1: JSON in and out, bearer
// tokens, and the error shape of SPEC section 5. It is a thin peer of the
// web pages and the CLI over the capabilities' services.
package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/campaigns"
	"github.com/ticksapp/ticks/internal/channels"
	"github.com/ticksapp/ticks/internal/contacts"
	"github.com/ticksapp/ticks/internal/desk"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/ingest"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/tracking"
)

// Handler serves the REST API: it parses a request, calls a capability's
// service with the request's principal, and writes the answer. Rights and
// rules live in the services.
type Handler struct {
	Access    *access.Service
	Channels  *channels.Service
	Contacts  *contacts.Service
	Send      *send.Service
	Reports   *reports.Service
	Ingest    *ingest.Admin
	Tracking  *tracking.Service
	Billing   *billing.Service
	Extracts  *extracts.Service
	Desk      *desk.Service
	Campaigns *campaigns.Service
}

// maxBody bounds API request bodies.
const maxBody = 1 << 20

// Routes registers the API on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	handle := func(pattern string, fn func(http.ResponseWriter, *http.Request, *access.Principal)) {
		mux.Handle(pattern, h.authenticate(fn))
	}
	handle("GET /api/v1/me", h.me)
	handle("GET /api/v1/subaccounts", h.listSubaccounts)
	handle("POST /api/v1/subaccounts", h.createSubaccount)
	handle("GET /api/v1/subaccounts/{id}", h.getSubaccount)
	handle("GET /api/v1/users", h.listUsers)
	handle("POST /api/v1/users", h.createUser)
	handle("GET /api/v1/users/{id}", h.getUser)
	handle("GET /api/v1/tokens", h.listTokens)
	handle("POST /api/v1/tokens", h.createToken)
	handle("DELETE /api/v1/tokens/{id}", h.revokeToken)
	handle("GET /api/v1/channels", h.listChannels)
	handle("POST /api/v1/channels", h.createChannel)
	handle("GET /api/v1/channels/{id}", h.getChannel)
	handle("PATCH /api/v1/channels/{id}", h.updateChannel)
	handle("POST /api/v1/messages", h.sendMessage)
	handle("GET /api/v1/templates", h.listTemplates)
	handle("POST /api/v1/templates/sync", h.syncTemplates)
	handle("POST /api/v1/templates", h.createTemplate)
	handle("POST /api/v1/contacts", h.upsertContact)
	handle("POST /api/v1/contacts/import", h.importContacts)
	handle("POST /api/v1/contacts/{id}/opt-out", h.setOptOut(true))
	handle("POST /api/v1/contacts/{id}/opt-in", h.setOptOut(false))
	handle("GET /api/v1/contacts", h.listContacts)
	handle("GET /api/v1/contacts/{id}", h.getContact)
	handle("GET /api/v1/messages/{id}", h.getMessage)
	handle("GET /api/v1/reports/messages", h.reportMessages)
	handle("GET /api/v1/reports/messages/summary", h.reportSummary)
	handle("GET /api/v1/webhook-events", h.listWebhookEvents)
	handle("POST /api/v1/ingest/replay", h.replay)
	h.trackingRoutes(handle)
	handle("GET /api/v1/reports/consumption", h.reportConsumption)
	handle("GET /api/v1/rate-card", h.rateCard)
	h.budgetRoutes(handle)
	h.extractionRoutes(handle)
	h.deskRoutes(handle)
	h.campaignRoutes(handle)
	serveDocs(mux) // GET /api/v1/openapi.json and /api/docs, without a token
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.Error(w, r, domain.Errorf(domain.ENOTFOUND, "no API endpoint %s %s", r.Method, r.URL.Path))
	}))
}

// decode reads a JSON request body into v, refusing unknown fields, trailing
// data and bodies over maxBody.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return domain.Errorf(domain.EINVALID, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return domain.Errorf(domain.ETOOLARGE, "request body over %d bytes", maxBody)
		case errors.Is(err, io.EOF):
			return domain.Errorf(domain.EINVALID, "request body is empty; a JSON object is expected")
		}
		return domain.Errorf(domain.EINVALID, "request body is not valid JSON for this endpoint: %v", err)
	}
	if dec.More() {
		return domain.Errorf(domain.EINVALID, "request body has data after the JSON object")
	}
	return nil
}

// pathID parses the {id} path value.
func pathID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.Errorf(domain.EINVALID, "id %q is not a positive integer", v)
	}
	return id, nil
}

// reply writes v with status, or err when there is one.
func reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, status, v)
}
