package tracking

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
)

// exportTypes are the media types of the custom report's files.
var exportTypes = map[string]string{
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// EventExport is a custom report's rows as a CSV or XLSX file, in a
// language; cells go through internal/export, which neutralises formulas
// (a bot's category or action is outside input).
type EventExport struct {
	Rows     []domain.EventCount
	Query    EventQuery
	Format   string
	Lang     string
	Location *time.Location
	BOM      bool
}

// Filename is the download's file name.
func (e *EventExport) Filename() string {
	return fmt.Sprintf("ticks-eventos-%s-%s.%s", e.Query.Granularity, e.Query.From.In(e.Location).Format("20060102"), e.Format)
}

// ContentType is the file's media type.
func (e *EventExport) ContentType() string { return exportTypes[e.Format] }

// Write writes the file to w.
func (e *EventExport) Write(w io.Writer) error {
	t := func(key string) string { return i18n.T(e.Lang, key) }
	cols := []export.Column{{Header: t("tracking.period")}, {Header: t("tracking.category")}, {Header: t("tracking.action")},
		{Header: t("tracking.count")}, {Header: t("tracking.contacts")}}
	rows := func(emit func([]string) error) error {
		for _, r := range e.Rows {
			if err := emit([]string{r.Period, r.Category, r.Action, strconv.FormatInt(r.Count, 10), strconv.FormatInt(r.Contacts, 10)}); err != nil {
				return err
			}
		}
		return nil
	}
	if e.Format == "csv" {
		_, err := export.WriteCSV(w, cols, rows, export.CSVOptions{BOM: e.BOM})
		return err
	}
	var total int64
	for _, r := range e.Rows {
		total += r.Count
	}
	filters := [][2]string{{t("tracking.granularity"), t("tracking.granularity." + e.Query.Granularity)},
		{t("tracking.from"), e.Query.From.In(e.Location).Format("02/01/2006 15:04")},
		{t("tracking.to"), e.Query.To.In(e.Location).Format("02/01/2006 15:04")}}
	if len(e.Query.Categories) > 0 {
		filters = append(filters, [2]string{t("tracking.category"), strings.Join(e.Query.Categories, ", ")})
	}
	if len(e.Query.Actions) > 0 {
		filters = append(filters, [2]string{t("tracking.action"), strings.Join(e.Query.Actions, ", ")})
	}
	meta := export.Meta{Title: t("tracking.title"), Total: total, Location: e.Location, Filters: filters,
		PageLabel: t("export.page"), OfLabel: t("export.of"), TotalLabel: t("export.total"),
		GeneratedLabel: t("export.generated"), SheetName: t("export.sheet")}
	_, err := export.WriteXLSX(w, cols, meta, rows)
	return err
}
