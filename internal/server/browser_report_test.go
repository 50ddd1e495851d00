package server_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserReportFilterErrors opens the report with filters it cannot
// take, as a user gets there by picking dates or editing a link: the page
// says what is wrong beside the field, keeps what the user typed, and never
// claims there are no messages.
func TestBrowserReportFilterErrors(t *testing.T) {
	ctx := browse(t, t.TempDir())
	s := newServer(t)
	email, pw := seedReport(t, s)
	if err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/login"),
		logIn(email, pw, "#total"),
	); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		query string
		field string // the id of the input the error is beside
		want  string // in the error beside it
		keep  string // the input's value afterwards
	}{
		{"from=2026-12-06&to=2026-11-01", "#f-to", "from must be before to", "2026-11-01"},
		{"campaign=abc", "#f-campaign", "campaign must be a positive integer id", "abc"},
		{"phone=12", "#f-phone", "phone", "12"},
		{"status=failed", "fieldset.statuses", `status "failed" is not a report status`, ""},
		{"from=banana", "#f-from", "neither an RFC 3339 date-time nor a YYYY-MM-DD date", ""},
	}
	for _, c := range cases {
		if err := chromedp.Run(ctx, navigate(chromedp.Navigate(s.url+"/reports/messages?"+c.query))); err != nil {
			t.Fatal(err)
		}
		var beside string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`(function(){
			var el = document.querySelector(`+jsString(c.field)+`);
			var box = el.closest("label, fieldset");
			var e = box && box.querySelector(".field-error");
			return e ? e.textContent : "";
		})()`, &beside)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(beside, c.want) {
			t.Errorf("%s: the error beside %s is %q, want %q", c.query, c.field, beside, c.want)
		}
		var noResults bool
		chromedp.Run(ctx, chromedp.Evaluate(`!!document.querySelector("#no-results")`, &noResults))
		if noResults {
			t.Errorf("%s: the page says there are no messages", c.query)
		}
		if c.keep != "" {
			var value string
			chromedp.Run(ctx, chromedp.Value(c.field, &value, chromedp.ByQuery))
			if value != c.keep {
				t.Errorf("%s: %s holds %q, want what the user typed, %q", c.query, c.field, value, c.keep)
			}
		}
	}
	// The same in the consolidated view.
	if err := chromedp.Run(ctx, navigate(chromedp.Navigate(s.url+"/reports/messages/consolidated?from=2026-12-06&to=2026-11-01"))); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, ".field-error"); !strings.Contains(got, "from must be before to") {
		t.Errorf("consolidated: field error %q", got)
	}
}

// TestBrowserReportPager pages through the report: one scroll bar (the
// page's), the message text readable at 1440 px, previous and next, the
// page size, and how many pages there are.
func TestBrowserReportPager(t *testing.T) {
	ctx := browse(t, t.TempDir())
	s := newServer(t)
	email, pw := seedReport(t, s) // 8 MT messages
	if err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/login?next="+url.QueryEscape("/reports/messages?limit=25")),
		logIn(email, pw, "#total"),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#page-of"); got != "Página 1 de 1" {
		t.Errorf("page of %q", got)
	}
	// One scroll bar: the page does not scroll sideways and no box inside
	// it scrolls; the message column is wide enough to read.
	var layout struct {
		PageWider  bool    `json:"pageWider"`
		InnerWider bool    `json:"innerWider"`
		InnerTall  bool    `json:"innerTall"`
		TextWidth  float64 `json:"textWidth"`
		Widths     string  `json:"widths"` // the table's and its box's widths, then each column's
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(`(function(){
		var wrap = document.querySelector(".table-wrap");
		var th = Array.from(document.querySelectorAll("#report-table th")).find(function(h){ return h.textContent === "Mensagem enviada"; });
		return {pageWider: document.documentElement.scrollWidth > window.innerWidth,
			innerWider: wrap.scrollWidth > wrap.clientWidth, innerTall: wrap.scrollHeight > wrap.clientHeight + 1,
			textWidth: th ? th.getBoundingClientRect().width : 0,
			widths: wrap.scrollWidth + "/" + wrap.clientWidth + " " + Array.from(document.querySelectorAll("#report-table th")).map(function(h){ return Math.round(h.getBoundingClientRect().width); }).join(",")};
	})()`, &layout)); err != nil {
		t.Fatal(err)
	}
	if layout.PageWider || layout.InnerWider || layout.InnerTall {
		t.Errorf("more than one scroll bar at 1440 px: %+v", layout)
	}
	if layout.TextWidth < 180 {
		t.Errorf("the message column is %.0f px wide at 1440 px, too narrow to read", layout.TextWidth)
	}

	// Three to a page: 3 pages; next, next, previous.
	if err := chromedp.Run(ctx, navigate(chromedp.Navigate(s.url+"/reports/messages?limit=3"))); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	rows := func() []string {
		var ids []string
		chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll("#report-table tbody tr")).map(function(r){ return r.children[3].textContent; })`, &ids))
		return ids
	}
	for page, want := range []string{"Página 1 de 3", "Página 2 de 3", "Página 3 de 3"} {
		if got := text(ctx, t, "#page-of"); got != want {
			t.Fatalf("page %d: %q, want %q", page+1, got, want)
		}
		for _, id := range rows() {
			if seen[id] {
				t.Errorf("row %s on two pages", id)
			}
			seen[id] = true
		}
		if page < 2 {
			if err := chromedp.Run(ctx, navigate(chromedp.Click("#next-page", chromedp.ByQuery))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(seen) != 8 {
		t.Errorf("the pages showed %d messages, want 8", len(seen))
	}
	var hasNext bool
	chromedp.Run(ctx, chromedp.Evaluate(`!!document.querySelector("#next-page")`, &hasNext))
	if hasNext {
		t.Error("the last page offers a next page")
	}
	if err := chromedp.Run(ctx, navigate(chromedp.Click("#prev-page", chromedp.ByQuery))); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#page-of"); got != "Página 2 de 3" {
		t.Errorf("after previous: %q", got)
	}
	if err := chromedp.Run(ctx, navigate(chromedp.Click("#prev-page", chromedp.ByQuery))); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#page-of"); got != "Página 1 de 3" {
		t.Errorf("after previous twice: %q", got)
	}
	// A page size from the list.
	if err := chromedp.Run(ctx, navigate(chromedp.Click(`//span[@id="page-sizes"]/a[text()="25"]`, chromedp.BySearch))); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#page-of"); got != "Página 1 de 1" || len(rows()) != 8 {
		t.Errorf("25 a page: %q, %d rows", got, len(rows()))
	}
}

// TestBrowserNotFound opens pages that do not exist, logged out and in.
func TestBrowserNotFound(t *testing.T) {
	ctx := browse(t, t.TempDir())
	s := newServer(t)
	email, pw := seedReport(t, s)
	// A visitor who chose Portuguese on the login page (the browser asks
	// for English) gets the page in Portuguese.
	if err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/login?lang=pt-BR"), chromedp.WaitVisible("#login-form", chromedp.ByQuery),
		chromedp.Navigate(s.url+"/relatorios/nada"), chromedp.WaitVisible("#not-found", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "h1"); got != "Página não encontrada" {
		t.Errorf("logged out: %q", got)
	}
	if err := chromedp.Run(ctx,
		chromedp.Click("#back-home", chromedp.ByQuery),
		logIn(email, pw, "#total"),
		chromedp.Navigate(s.url+"/reports/nada"),
		chromedp.WaitVisible("#not-found", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	var nav bool
	chromedp.Run(ctx, chromedp.Evaluate(`!!document.querySelector("nav.side")`, &nav))
	if !nav {
		t.Error("logged in, the 404 page lacks the app's menu")
	}
	if err := chromedp.Run(ctx, chromedp.Click("#back-home", chromedp.ByQuery), chromedp.WaitVisible("#total", chromedp.ByQuery)); err != nil {
		t.Errorf("the way back: %v", err)
	}
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
