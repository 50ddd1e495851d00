package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/respond"
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
