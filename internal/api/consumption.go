package api

import (
	"net/http"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
)

// reportConsumption answers the consumption report of a month, as JSON
// or its tables as a CSV or XLSX file (admins only; the service decides).
func (h *Handler) reportConsumption(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q, err := h.Billing.ParseQuery(r.URL.Query())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && billing.ExportFormats[format] == "" {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "format must be json, csv or xlsx, not %q", format))
		return
	}
	rep, err := h.Billing.Consumption(r.Context(), p, q)
	if format == "" || format == "json" || err != nil {
		reply(w, r, http.StatusOK, rep, err)
		return
	}
	bom := r.URL.Query().Get("bom")
	e := &billing.Export{Report: rep, Format: format, Lang: i18n.Normalize(r.Header.Get("Accept-Language")),
		BOM: bom == "1" || bom == "true", Now: h.Billing.Now()}
	respond.Attachment(w, e.Filename(), e.ContentType())
	if _, err := e.Write(w); err != nil && r.Context().Err() == nil {
		respond.LogInternal(r, err)
	}
}

// rateCard answers the rate card the consumption report prices with.
func (h *Handler) rateCard(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	card, err := h.Billing.RateCard(p)
	reply(w, r, http.StatusOK, card, err)
}
