package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/store"
)

func (h *Handler) getContact(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.Store.Contact(r.Context(), id, p.Scope)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, c)
}

// listContacts lists contacts by ID, a page at a time (after=<last id>),
// optionally those with one phone number.
func (h *Handler) listContacts(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	f := store.ContactFilter{Subaccounts: p.Scope, Limit: 100}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > domain.MaxReportLimit {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "limit must be between 1 and %d", domain.MaxReportLimit))
			return
		}
		f.Limit = n
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "after must be a contact id"))
			return
		}
		f.AfterID = n
	}
	if v := strings.TrimSpace(q.Get("phone")); v != "" {
		e164, err := phone.Normalize(v, "BR")
		if err != nil {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "phone: %v", err))
			return
		}
		f.Phone = e164
	}
	list, err := h.Store.Contacts(r.Context(), f)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"contacts": list})
}

// getMessage finds a message by ticks id or by WhatsApp id (wamid.…).
func (h *Handler) getMessage(w http.ResponseWriter, r *http.Request, p *Principal) {
	ref := r.PathValue("id")
	var m *domain.Message
	var err error
	if strings.HasPrefix(ref, "wamid.") {
		m, err = h.Store.MessageByWAMID(r.Context(), ref, p.Scope)
	} else if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil && id > 0 {
		m, err = h.Store.Message(r.Context(), id, p.Scope)
	} else {
		err = domain.Errorf(domain.EINVALID, "message id %q is neither a ticks id nor a wamid", ref)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, m)
}

func (h *Handler) listWebhookEvents(w http.ResponseWriter, r *http.Request, p *Principal) {
	if err := p.need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		respond.Error(w, r, err)
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "limit must be between 1 and 1000"))
			return
		}
		limit = n
	}
	list, err := h.Store.WebhookEvents(r.Context(), p.Scope, r.URL.Query().Get("field"), limit)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"events": list})
}

func (h *Handler) replay(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.OrgAdmin() {
		respond.Error(w, r, domain.Errorf(domain.EFORBIDDEN, "only an admin may replay the inbox"))
		return
	}
	if h.Replay == nil {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "this server does not process webhooks"))
		return
	}
	if err := h.Replay(r.Context()); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, map[string]any{"replaying": true})
}
