package reports

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/store"
)

// Formats are the export formats, with their content types.
var Formats = map[string]string{
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"pdf":  "application/pdf",
}

// ExportRequest is one export of the detailed report.
type ExportRequest struct {
	Filter   *domain.MessageFilter
	Format   string
	Lang     string
	Location *time.Location // the service's when nil
	Names    *Names         // the principal's when nil
	BOM      bool           // CSV: a UTF-8 byte order mark, for Excel
	Now      time.Time      // when the export is made, the end of an open period; the service's clock when zero
}

// Export checks an export for p, waits for its turn among the exports
// being written (see ExportLimiter) and counts its rows; the caller writes
// it where it goes (a download, a file), then closes it.
func (s *Service) Export(ctx context.Context, p *access.Principal, req ExportRequest) (*Export, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	release, err := s.Exports.acquire(ctx, p)
	if err != nil {
		return nil, err
	}
	e, err := s.export(ctx, p, req)
	if err != nil {
		release()
		return nil, err
	}
	e.release = release
	return e, nil
}

func (s *Service) export(ctx context.Context, p *access.Principal, req ExportRequest) (*Export, error) {
	req.Filter.Subaccounts = p.Scope
	if req.Location == nil {
		req.Location = s.Location
	}
	if req.Now.IsZero() && s.Now != nil {
		req.Now = s.Now()
	}
	if req.Names == nil {
		names, err := s.Names(ctx, p)
		if err != nil {
			return nil, err
		}
		req.Names = names
	}
	return NewExport(ctx, s.Store, &req)
}

// Export is one export, counted and ready to write.
type Export struct {
	st   *store.Store
	req  *ExportRequest
	dir  domain.Direction
	cols []export.Column
	meta export.Meta
	// release frees the export's turn (see ExportLimiter).
	release func()
}

// Close frees the export's turn for the next one.
func (e *Export) Close() {
	if e.release != nil {
		e.release()
	}
}

// NewExport checks an export request and counts its rows (for the file's
// header and the X-Total-Count of a download).
func NewExport(ctx context.Context, st *store.Store, req *ExportRequest) (*Export, error) {
	if _, ok := Formats[req.Format]; !ok {
		return nil, domain.Errorf(domain.EINVALID, "format must be json, csv, xlsx or pdf")
	}
	f := *req.Filter
	f.Limit, f.Cursor = 1, ""
	first, err := st.ReportMessages(ctx, &f)
	if err != nil {
		return nil, err
	}
	lang, loc := req.Lang, req.Location
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	dir := f.Direction
	if dir == "" {
		dir = domain.DirectionMT
	}
	headers := Headers(dir, lang)
	cols := make([]export.Column, len(headers))
	for i, key := range Columns(dir) {
		cols[i] = export.Column{Header: headers[i]}
		switch key {
		case "col.sent_at", "col.replied_at", "col.conversation_expires":
			cols[i].Kind = export.KindDateTime
		}
	}
	meta := export.Meta{Title: i18n.T(lang, "title."+string(dir)), Total: first.Total, Generated: req.Now, Location: loc,
		Filters: Describe(req.Filter, lang, loc, req.Now), PageLabel: i18n.T(lang, "export.page"), OfLabel: i18n.T(lang, "export.of"),
		TotalLabel: i18n.T(lang, "export.total"), GeneratedLabel: i18n.T(lang, "export.generated"),
		SheetName: i18n.T(lang, "export.sheet"), FormatCount: func(n int64) string { return FormatCount(lang, n) },
		CapNote: func(shown, total int64) string {
			return i18n.T(lang, "export.cap", FormatCount(lang, shown), FormatCount(lang, max(total, shown)))
		},
		OmittedLabel: i18n.T(lang, "export.omitted"), DateTimeFormat: spreadsheetTimeFormat(lang)}
	return &Export{st: st, req: req, dir: dir, cols: cols, meta: meta}, nil
}

// ContentType is the file's media type.
func (e *Export) ContentType() string { return Formats[e.req.Format] }

// Total is the number of messages the export's filters match.
func (e *Export) Total() int64 { return e.meta.Total }

// Filename is the download's file name.
func (e *Export) Filename() string {
	return fmt.Sprintf("ticks-relatorio-%s-%s.%s", e.dir, e.req.Now.In(e.req.Location).Format("20060102-1504"), e.req.Format)
}

// Write writes the file to w and returns the number of rows written.
func (e *Export) Write(ctx context.Context, w io.Writer) (int64, error) {
	req := e.req
	all := *req.Filter
	all.Cursor = ""
	format := NewFormatter(req.Lang, req.Location, req.Names)
	if req.Format == "xlsx" {
		// Dates in the form the XLSX writer turns into date cells, which show them in the reader's format.
		format = format.withTimeLayout(export.DateTimeLayout)
	}
	rows := func(emit func([]string) error) error {
		return store.ExportRows(ctx, e.st, &all, format.Row, emit)
	}
	switch req.Format {
	case "csv":
		return export.WriteCSV(w, e.cols, rows, export.CSVOptions{BOM: req.BOM})
	case "xlsx":
		return export.WriteXLSX(w, e.cols, e.meta, rows)
	default:
		return export.WritePDF(w, e.cols, e.meta, rows, export.MaxPDFRows)
	}
}

// spreadsheetTimeFormat is Excel's number format for the report's dates in lang, as TimeLayout writes
// them.
func spreadsheetTimeFormat(lang string) string {
	if i18n.Normalize(lang) == "en" {
		return "yyyy-mm-dd hh:mm:ss"
	}
	return "dd/mm/yyyy hh:mm:ss"
}

// Describe lists a filter's criteria as label/value pairs, for export
// headers, with times in loc; a period without an end ends at now, when
// the export was made.
func Describe(f *domain.MessageFilter, lang string, loc *time.Location, now time.Time) [][2]string {
	layout := "02/01/2006 15:04"
	if i18n.Normalize(lang) == "en" {
		layout = "2006-01-02 15:04"
	}
	to := now.In(loc).Format(layout)
	if !f.To.IsZero() {
		to = f.To.In(loc).Format(layout)
	}
	out := [][2]string{{i18n.T(lang, "export.period"), f.From.In(loc).Format(layout) + " – " + to}}
	dir := "report.type.mt"
	if f.Direction == domain.DirectionMO {
		dir = "report.type.mo"
	}
	out = append(out, [2]string{i18n.T(lang, "report.type"), i18n.T(lang, dir)})
	add := func(key, value string) {
		if value != "" {
			out = append(out, [2]string{i18n.T(lang, key), value})
		}
	}
	if f.Subaccount != 0 {
		add("report.subaccount", fmt.Sprint(f.Subaccount))
	}
	if f.User != 0 {
		add("report.user", fmt.Sprint(f.User))
	}
	if f.Campaign != 0 {
		add("report.campaign", fmt.Sprint(f.Campaign))
	}
	add("report.content_type", ContentLabel(lang, f.ContentType))
	if f.Session != nil {
		add("report.session", map[bool]string{true: i18n.T(lang, "common.yes"), false: i18n.T(lang, "common.no")}[*f.Session])
	}
	add("report.correlation_id", f.CorrelationID)
	var sts []string
	for _, s := range f.Statuses {
		sts = append(sts, StatusLabel(lang, s))
	}
	add("report.status", strings.Join(sts, ", "))
	add("report.phone", f.Phone)
	add("report.conversation_id", f.ConversationID)
	if f.ConversationType != "" {
		add("report.conversation_type", i18n.T(lang, "conv."+string(f.ConversationType)))
	}
	return out
}

// FormatCount writes n with the thousands separator of lang.
func FormatCount(lang string, n int64) string {
	s := fmt.Sprint(n)
	sep := "."
	if i18n.Normalize(lang) == "en" {
		sep = ","
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}
