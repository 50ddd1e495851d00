package reports

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
)

// SummaryFormats are the formats of the consolidated view's export.
var SummaryFormats = map[string]string{"csv": Formats["csv"], "xlsx": Formats["xlsx"]}

// SummaryExport is the consolidated view of a search as one table: a row
// per status, content type, day and campaign, each saying which table it
// belongs to.
type SummaryExport struct {
	sum    *domain.MessageSummary
	filter *domain.MessageFilter
	format string
	lang   string
	loc    *time.Location
	bom    bool
}

// ExportSummary computes the consolidated view of f for p, ready to write
// as CSV or XLSX.
func (s *Service) ExportSummary(ctx context.Context, p *access.Principal, f *domain.MessageFilter, format, lang string, bom bool) (*SummaryExport, error) {
	if _, ok := SummaryFormats[format]; !ok {
		return nil, domain.Errorf(domain.EINVALID, "format must be json, csv or xlsx, not %q", format)
	}
	sum, err := s.Summary(ctx, p, f)
	if err != nil {
		return nil, err
	}
	return &SummaryExport{sum: sum, filter: f, format: format, lang: lang, loc: s.Location, bom: bom}, nil
}

// Filename is the download's file name.
func (e *SummaryExport) Filename() string {
	return fmt.Sprintf("ticks-consolidado-%s-%s.%s", e.filter.Direction, time.Now().In(e.loc).Format("20060102-1504"), e.format)
}

// ContentType is the file's media type.
func (e *SummaryExport) ContentType() string { return SummaryFormats[e.format] }

// Total is the number of messages the summary counts.
func (e *SummaryExport) Total() int64 { return e.sum.Total }

// Write writes the file to w.
func (e *SummaryExport) Write(w io.Writer) (int64, error) {
	lang := e.lang
	t := func(key string) string { return i18n.T(lang, key) }
	cols := []export.Column{{Header: t("summary.table")}, {Header: t("summary.item")}, {Header: t("consolidated.total")},
		{Header: t("consolidated.delivered")}, {Header: t("consolidated.read")}, {Header: t("consolidated.failed")},
		{Header: t("summary.share")}}
	sum := e.sum
	count := func(n int64) string { return strconv.FormatInt(n, 10) }
	share := func(n int64) string {
		if sum.Total == 0 {
			return ""
		}
		v := strconv.FormatFloat(100*float64(n)/float64(sum.Total), 'f', 1, 64)
		if i18n.Normalize(lang) == "pt-BR" {
			v = strings.Replace(v, ".", ",", 1)
		}
		return v + "%"
	}
	rows := func(emit func([]string) error) error {
		byStatus := t("consolidated.by_status")
		statuses := append(append([]domain.Status(nil), domain.Statuses...), "received")
		for _, st := range statuses {
			if n := sum.ByStatus[st]; n > 0 {
				if err := emit([]string{byStatus, StatusLabel(lang, st), count(n), "", "", "", share(n)}); err != nil {
					return err
				}
			}
		}
		byContent := t("consolidated.by_content")
		contents := make([]string, 0, len(sum.ByContentType))
		for c := range sum.ByContentType {
			contents = append(contents, c)
		}
		sort.Slice(contents, func(i, j int) bool { return sum.ByContentType[contents[i]] > sum.ByContentType[contents[j]] })
		for _, c := range contents {
			n := sum.ByContentType[c]
			if err := emit([]string{byContent, ContentLabel(lang, c), count(n), "", "", "", share(n)}); err != nil {
				return err
			}
		}
		byDay := t("consolidated.by_day")
		for _, d := range sum.ByDay {
			if err := emit([]string{byDay, d.Day, count(d.Total), count(d.Delivered), count(d.Read), count(d.Failed), share(d.Total)}); err != nil {
				return err
			}
		}
		byCampaign := t("summary.by_campaign")
		for _, c := range sum.ByCampaign {
			if err := emit([]string{byCampaign, "#" + count(c.CampaignID), count(c.Total), count(c.Delivered), count(c.Read), count(c.Failed), share(c.Total)}); err != nil {
				return err
			}
		}
		return nil
	}
	if e.format == "csv" {
		return export.WriteCSV(w, cols, rows, export.CSVOptions{BOM: e.bom})
	}
	meta := export.Meta{Title: t("nav.detailed") + " — " + t("report.tab.consolidated"), Total: sum.Total, Location: e.loc,
		Filters: Describe(e.filter, lang, e.loc, time.Now()), PageLabel: t("export.page"), OfLabel: t("export.of"),
		TotalLabel: t("export.total"), GeneratedLabel: t("export.generated"), SheetName: t("export.sheet"),
		FormatCount: func(n int64) string { return FormatCount(lang, n) }}
	return export.WriteXLSX(w, cols, meta, rows)
}
