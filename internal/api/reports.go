package api

import (
	"net/http"
	"strconv"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/respond"
)

// reportMessages answers the detailed report: a page of JSON, or the whole
// search as a CSV, XLSX or PDF download.
func (h *Handler) reportMessages(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && reports.Formats[format] == "" {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "format must be json, csv, xlsx or pdf, not %q", format))
		return
	}
	bom := q.Get("bom")
	q.Del("bom")
	f, err := h.Reports.Filter(q, p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if format == "" || format == "json" {
		page, err := h.Reports.Messages(r.Context(), p, f)
		reply(w, r, http.StatusOK, page, err)
		return
	}
	e, err := h.Reports.Export(r.Context(), p, reports.ExportRequest{Filter: f, Format: format,
		Lang: i18n.Normalize(r.Header.Get("Accept-Language")), BOM: bom == "1" || bom == "true"})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	defer e.Close()
	respond.Attachment(w, e.Filename(), e.ContentType())
	w.Header().Set("X-Total-Count", strconv.FormatInt(e.Total(), 10))
	if _, err := e.Write(r.Context(), w); err != nil && r.Context().Err() == nil {
		// The download has started: a broken file is all the client can be
		// told, so the server's log is where the reason goes.
		respond.LogInternal(r, err)
	}
}

// reportSummary answers the consolidated view of the detailed report's
// filters: counts by status, content type, day and campaign, and the
// delivery and read rates; as JSON, or its tables as CSV or XLSX.
func (h *Handler) reportSummary(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q := r.URL.Query()
	format := q.Get("format")
	bom := q.Get("bom")
	q.Del("bom")
	f, err := h.Reports.Filter(q, p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if format == "" || format == "json" {
		sum, err := h.Reports.Summary(r.Context(), p, f)
		reply(w, r, http.StatusOK, sum, err)
		return
	}
	e, err := h.Reports.ExportSummary(r.Context(), p, f, format, i18n.Normalize(r.Header.Get("Accept-Language")), bom == "1" || bom == "true")
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.Attachment(w, e.Filename(), e.ContentType())
	w.Header().Set("X-Total-Count", strconv.FormatInt(e.Total(), 10))
	if _, err := e.Write(w); err != nil && r.Context().Err() == nil {
		respond.LogInternal(r, err)
	}
}
