package web

import (
	"net/http"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/report"
)

// exportReport downloads the current search as CSV, XLSX or PDF.
func (h *Handler) exportReport(w http.ResponseWriter, r *http.Request, v *visitor) {
	if v.principal.Role == domain.RoleAgent {
		h.fail(w, r, v, http.StatusForbidden, i18n.T(v.lang(), "error.forbidden"))
		return
	}
	q := r.URL.Query()
	f, err := h.filterFromQuery(cleanQuery(q), v)
	if err != nil {
		h.fail(w, r, v, http.StatusBadRequest, errorText(v.lang(), err))
		return
	}
	names, err := report.LoadNames(r.Context(), h.Store, v.principal.Scope)
	if err != nil {
		h.fail(w, r, v, http.StatusInternalServerError, err.Error())
		return
	}
	err = report.ServeExport(r.Context(), w, h.Store, &report.ExportRequest{Filter: f, Format: q.Get("format"), Lang: v.lang(),
		Location: h.Location, Names: names, BOM: q.Get("bom") != "0", Token: q.Get("download_token")})
	if err != nil && domain.ErrorCode(err) == domain.EINVALID {
		h.fail(w, r, v, http.StatusBadRequest, errorText(v.lang(), err))
	}
}
