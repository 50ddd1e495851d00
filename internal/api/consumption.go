package api

import (
	"net/http"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/respond"
)

// reportConsumption answers the consumption report of a month (admins
// only; the service decides).
func (h *Handler) reportConsumption(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q, err := h.Billing.ParseQuery(r.URL.Query())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if f := r.URL.Query().Get("format"); f != "" && f != "json" {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "format must be json, not %q", f))
		return
	}
	rep, err := h.Billing.Consumption(r.Context(), p, q)
	reply(w, r, http.StatusOK, rep, err)
}
