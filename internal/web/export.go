package web

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/respond"
)

// safeToken is a download token the page may ask to have echoed.
var safeToken = regexp.MustCompile(`^[0-9A-Za-z_-]{1,40}$`)

// exportReport downloads the current search as CSV, XLSX or PDF. The page
// passes a token that comes back in a cookie once the file starts, so it
// can tell the user the file is on its way.
func (h *Handler) exportReport(w http.ResponseWriter, r *http.Request, v *visitor) {
	q := r.URL.Query()
	f, err := h.Reports.Filter(cleanQuery(q), v.principal)
	var e *reports.Export
	if err == nil {
		e, err = h.Reports.Export(r.Context(), v.principal, reports.ExportRequest{Filter: f, Format: q.Get("format"),
			Lang: v.lang(), BOM: q.Get("bom") != "0"})
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	defer e.Close()
	respond.Attachment(w, e.Filename(), e.ContentType())
	w.Header().Set("X-Total-Count", strconv.FormatInt(e.Total(), 10))
	if token := q.Get("download_token"); safeToken.MatchString(token) {
		http.SetCookie(w, &http.Cookie{Name: "ticks_download", Value: token, Path: "/", MaxAge: 60, SameSite: http.SameSiteLaxMode})
	}
	if _, err := e.Write(r.Context(), w); err != nil && r.Context().Err() == nil {
		respond.LogInternal(r, err) // the download has started: the log is where the reason goes
	}
}

// exportSummary downloads the consolidated view's tables as CSV or XLSX.
func (h *Handler) exportSummary(w http.ResponseWriter, r *http.Request, v *visitor) {
	q := r.URL.Query()
	f, err := h.Reports.Filter(cleanQuery(q), v.principal)
	var e *reports.SummaryExport
	if err == nil {
		e, err = h.Reports.ExportSummary(r.Context(), v.principal, f, q.Get("format"), v.lang(), q.Get("bom") != "0")
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	respond.Attachment(w, e.Filename(), e.ContentType())
	if token := q.Get("download_token"); safeToken.MatchString(token) {
		http.SetCookie(w, &http.Cookie{Name: "ticks_download", Value: token, Path: "/", MaxAge: 60, SameSite: http.SameSiteLaxMode})
	}
	if _, err := e.Write(w); err != nil && r.Context().Err() == nil {
		respond.LogInternal(r, err)
	}
}
