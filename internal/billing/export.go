package billing

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
)

// ExportFormats are the consumption report's file formats and their media
// types.
var ExportFormats = map[string]string{
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// Export is a consumption report as one table, each row saying which of
// the report's tables it belongs to: the summary, the messages by
// category, the phone numbers, the days and the adjustments.
type Export struct {
	Report *Report
	Format string
	Lang   string
	BOM    bool
	Now    time.Time
}

// Filename is the download's file name.
func (e *Export) Filename() string {
	return fmt.Sprintf("ticks-consumo-%s.%s", e.Report.Month, e.Format)
}

// ContentType is the file's media type.
func (e *Export) ContentType() string { return ExportFormats[e.Format] }

// Write writes the file to w. Cells of counts are plain integers and
// costs decimal strings with a point, so that programs read them back.
func (e *Export) Write(w io.Writer) (int64, error) {
	lang := e.Lang
	t := func(key string, args ...any) string { return i18n.T(lang, key, args...) }
	r := e.Report
	cols := []export.Column{{Header: t("consumption.export.table")}, {Header: t("consumption.export.item")},
		{Header: t("consumption.day")}, {Header: t("consumption.phone")}, {Header: t("consumption.category")},
		{Header: t("consumption.pricing_type")}, {Header: t("consumption.count")}, {Header: t("consumption.charged")},
		{Header: t("consumption.conv.business")}, {Header: t("consumption.conv.user")}, {Header: t("consumption.conv.fep")},
		{Header: t("consumption.conversations")}, {Header: t("consumption.cost") + " (" + r.Currency + ")"}}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	cat := func(c string) string { return t("consumption.cat." + c) }
	rows := func(emit func([]string) error) error {
		summary := t("consumption.summary")
		c := r.Conversations
		for _, row := range [][]string{
			{summary, t("consumption.conv.total"), "", "", "", "", "", "", n(c.BusinessInitiated), n(c.UserInitiated), n(c.FreeEntryPoint), n(c.Total), ""},
			{summary, t("consumption.conv.paid"), "", "", "", "", "", "", "", "", "", n(c.Paid), ""},
			{summary, t("consumption.conv.free"), "", "", "", "", "", "", "", "", "", n(c.Free), ""},
			{summary, t("consumption.messages.total"), "", "", "", "", n(r.Charged + r.Free), n(r.Charged), "", "", "", "", r.EstimatedCost},
		} {
			if err := emit(row); err != nil {
				return err
			}
		}
		msgs := t("consumption.messages")
		for _, m := range r.Messages {
			charged := int64(0)
			if m.Billable {
				charged = m.Count
			}
			if err := emit([]string{msgs, "", "", "", cat(m.Category), t("consumption.type." + m.PricingType), n(m.Count), n(charged),
				"", "", "", "", m.Cost}); err != nil {
				return err
			}
		}
		phones := t("consumption.by_phone")
		for _, p := range r.ByPhone {
			if err := emit([]string{phones, p.PhoneNumberID, "", p.DisplayPhone, cat(p.Category), "", n(p.Messages), n(p.Charged),
				"", "", "", n(p.Conversations), p.Cost}); err != nil {
				return err
			}
		}
		daily := t("consumption.daily")
		for _, d := range r.Daily {
			if err := emit([]string{daily, "", d.Date, "", "", "", "", n(d.Charged), n(d.BusinessInitiated), n(d.UserInitiated),
				n(d.FreeEntryPoint), n(d.Total), ""}); err != nil {
				return err
			}
		}
		adj := t("consumption.adjustments")
		for _, a := range r.Adjustments {
			if err := emit([]string{adj, "", a.Date, "", cat(a.Category), "", n(a.Messages), n(a.Charged), "", "", "",
				n(a.Conversations), a.Cost}); err != nil {
				return err
			}
		}
		return nil
	}
	if e.Format == "csv" {
		return export.WriteCSV(w, cols, rows, export.CSVOptions{BOM: e.BOM})
	}
	state := t("consumption.closed", r.ConsolidatedOn)
	if r.Partial {
		state = t("consumption.partial") + " — " + t("consumption.partial.detail", r.ConsolidatedOn)
	}
	meta := export.Meta{Title: t("consumption.title") + " — " + r.Month, Total: -1, Generated: e.Now,
		Filters: [][2]string{{t("consumption.month"), r.Month}, {t("consumption.state"), state},
			{t("consumption.rate_card"), r.RateCard + " (" + r.Currency + ")"}},
		GeneratedLabel: t("export.generated"), SheetName: t("export.sheet"), PageLabel: t("export.page"), OfLabel: t("export.of")}
	if loc, err := time.LoadLocation(r.TimeZone); err == nil {
		meta.Location = loc
	}
	return export.WriteXLSX(w, cols, meta, rows)
}
