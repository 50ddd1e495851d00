package api

import (
	"net/http"
	"strconv"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/send"
)

// sendMessage sends one message. A message the platform refuses is stored
// and returned with 422 and its status; a sent one with 201; one an
// idempotency key already sent with 200.
func (h *Handler) sendMessage(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var req send.Request
	if err := decode(w, r, &req); err != nil {
		respond.Error(w, r, err)
		return
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" && req.IdempotencyKey == "" {
		req.IdempotencyKey = key
	}
	out, err := h.Send.Send(r.Context(), p, &req)
	switch {
	case err != nil:
		respond.Error(w, r, err)
	case out.Replayed:
		respond.JSON(w, http.StatusOK, out.Message)
	case out.Refused:
		respond.JSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error":   respond.ErrorDetail{Code: "refused", Message: send.RefusalMessage(out.Message)},
			"message": out.Message,
		})
	default:
		respond.JSON(w, http.StatusCreated, out.Message)
	}
}

// getMessage finds a message by ticks id or by WhatsApp id (wamid.…).
func (h *Handler) getMessage(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	m, err := h.Reports.Message(r.Context(), p, r.PathValue("id"))
	reply(w, r, http.StatusOK, m, err)
}

func (h *Handler) listWebhookEvents(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q := r.URL.Query()
	limit, err := queryInt(q.Get("limit"), "limit must be between 1 and 1000")
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	list, err := h.Ingest.Events(r.Context(), p, q.Get("field"), limit)
	reply(w, r, http.StatusOK, map[string]any{"events": list}, err)
}

func (h *Handler) replay(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	err := h.Ingest.ReplayInbox(r.Context(), p)
	reply(w, r, http.StatusAccepted, map[string]any{"replaying": true}, err)
}

// queryInt reads an optional integer parameter (0 when absent), answering
// msg when it is not one.
func queryInt(v, msg string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n == 0 {
		return 0, domain.Errorf(domain.EINVALID, "%s", msg)
	}
	return n, nil
}
