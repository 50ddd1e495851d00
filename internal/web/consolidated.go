package web

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/reports"
)

// summaryView is the consolidated view of a search.
type summaryView struct {
	Total        int64
	DeliveryRate float64
	ReadRate     float64
	Statuses     []countRow
	Contents     []countRow
	Days         []domain.DayCount
	Chart        template.HTML // server-side SVG: no chart library to load
}

type countRow struct {
	Label string
	Count int64
	Share float64
	URL   string
}

func (h *Handler) summary(r *http.Request, vis *visitor, f *domain.MessageFilter) (*summaryView, error) {
	lang := vis.lang()
	sum, err := h.Reports.Summary(r.Context(), vis.principal, f)
	if err != nil {
		return nil, err
	}
	v := &summaryView{Total: sum.Total, DeliveryRate: sum.DeliveryRate, ReadRate: sum.ReadRate, Days: sum.ByDay}
	q := cleanQuery(r.URL.Query())
	for _, s := range domain.Statuses {
		n := sum.ByStatus[s]
		if n == 0 {
			continue
		}
		v.Statuses = append(v.Statuses, countRow{Label: reports.StatusLabel(lang, s), Count: n, Share: share(n, sum.Total),
			URL: withQuery("/reports/messages", with(q, "status", string(s)))})
	}
	if n := sum.ByStatus["received"]; n > 0 {
		v.Statuses = append(v.Statuses, countRow{Label: reports.StatusLabel(lang, "received"), Count: n, Share: share(n, sum.Total),
			URL: withQuery("/reports/messages", q)})
	}
	for c, n := range sum.ByContentType {
		v.Contents = append(v.Contents, countRow{Label: reports.ContentLabel(lang, c), Count: n, Share: share(n, sum.Total)})
	}
	sort.Slice(v.Contents, func(i, j int) bool { return v.Contents[i].Count > v.Contents[j].Count })
	v.Chart = dayChart(sum.ByDay, lang)
	return v, nil
}

func share(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// dayChart draws grouped bars per day: total, delivered, read, failed.
func dayChart(days []domain.DayCount, lang string) template.HTML {
	const w, h, pad = 900.0, 260.0, 30.0
	if len(days) == 0 {
		return template.HTML(`<p class="muted">` + template.HTMLEscapeString(i18n.T(lang, "report.noresults")) + `</p>`)
	}
	var max int64 = 1
	for _, d := range days {
		if d.Total > max {
			max = d.Total
		}
	}
	slot := (w - 2*pad) / float64(len(days))
	bar := slot / 5
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="day-chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h,
		template.HTMLEscapeString(i18n.T(lang, "consolidated.by_day")))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#d0d5dd"/>`, pad, h-pad, w-pad, h-pad)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="#667085">%s</text>`, pad, pad-10, template.HTMLEscapeString(formatCount(lang, max)))
	for i, d := range days {
		x := pad + float64(i)*slot + bar/2
		for j, s := range []struct {
			class string
			n     int64
		}{{"total", d.Total}, {"delivered", d.Delivered}, {"read", d.Read}, {"failed", d.Failed}} {
			bh := (h - 2*pad) * float64(s.n) / float64(max)
			fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %d</title></rect>`,
				s.class, x+float64(j)*bar, h-pad-bh, bar*0.9, bh, template.HTMLEscapeString(d.Day), s.class, s.n)
		}
		if len(days) <= 31 || i%(len(days)/15+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10" fill="#667085">%s</text>`, x, h-pad+14, template.HTMLEscapeString(shortDay(d.Day)))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// shortDay writes 2026-11-20 as 20/11.
func shortDay(day string) string {
	if len(day) == 10 {
		return day[8:10] + "/" + day[5:7]
	}
	return day
}
