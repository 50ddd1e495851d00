//go:build screenshots

// The docs' screenshots, taken by `make screenshots` (scripts/screenshots.sh
// runs the demo, then this test with -tags screenshots). Not part of the
// suite: it needs a running ticks with a minute of traffic behind it.

package server_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ticksapp/ticks/internal/i18n"
)

// shotWidth and shotHeight are the viewport each page is photographed in.
const shotWidth, shotHeight = 1440, 1300

// shownPage is what a photographed page shows, read from its DOM.
type shownPage struct {
	Title     string `json:"title"`
	Lang      string `json:"lang"`
	Error     string `json:"error"`
	Direction string `json:"direction"`
	Total     int    `json:"total"`
	Rows      int    `json:"rows"`
	Summary   bool   `json:"summary"`
	Bars      int    `json:"bars"`
	Statuses  int    `json:"statuses"`
}

const readShownPage = `(() => {
	const q = s => document.querySelector(s);
	const total = q("#total");
	const error = q(".error");
	return {
		title: document.title,
		lang: document.documentElement.lang,
		error: error ? error.textContent.trim() : "",
		direction: q("#dir-mt.on") ? "mt" : q("#dir-mo.on") ? "mo" : "",
		total: total ? Number(total.dataset.total) : -1,
		rows: document.querySelectorAll("#report-table tbody tr").length,
		summary: !!q("#summary"),
		bars: document.querySelectorAll("#day-chart rect").length,
		statuses: document.querySelectorAll("#by-status tr").length,
	};
})()`

// TestScreenshots photographs the report pages of a running ticks (the
// demo) into TICKS_SCREENSHOT_DIR, and fails unless each page shows what
// the docs say it shows: the report's title in the default language, no
// error, the right direction, and rows (or, on the consolidated view, the
// summary, the chart and the status table).
func TestScreenshots(t *testing.T) {
	env := func(name string) string {
		v := os.Getenv(name)
		if v == "" {
			t.Fatalf("%s is not set: run make screenshots", name)
		}
		return v
	}
	base, out := env("TICKS_SCREENSHOT_URL"), env("TICKS_SCREENSHOT_DIR")
	email, password := env("TICKS_SCREENSHOT_EMAIL"), env("TICKS_SCREENSHOT_PASSWORD")
	ctx := browse(t, t.TempDir())
	var landed shownPage
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible("#login-form", chromedp.ByQuery),
		chromedp.SendKeys("#email", email, chromedp.ByQuery),
		chromedp.SendKeys("#password", password, chromedp.ByQuery),
		navigate(chromedp.Click("#login-submit", chromedp.ByQuery)),
		chromedp.Evaluate(readShownPage, &landed),
	)
	if err != nil {
		t.Fatalf("log in as %s: %v", email, err)
	}
	if landed.Error != "" || landed.Total < 0 {
		t.Fatalf("log in as %s: landed on %q with error %q", email, landed.Title, landed.Error)
	}

	wantTitle := i18n.T(i18n.Default, "nav.detailed") + " · ticks"
	for _, p := range []struct {
		name, path, direction string
		check                 func(shownPage) bool
	}{
		{"report-mt", "/reports/messages", "mt", func(s shownPage) bool { return s.Rows > 0 && s.Total >= s.Rows && !s.Summary }},
		{"report-mo", "/reports/messages?direction=mo", "mo", func(s shownPage) bool { return s.Rows > 0 && s.Total >= s.Rows && !s.Summary }},
		{"report-consolidated", "/reports/messages/consolidated", "mt", func(s shownPage) bool {
			return s.Summary && s.Total > 0 && s.Bars > 0 && s.Statuses > 0
		}},
	} {
		var buf []byte
		var shown shownPage
		err := chromedp.Run(ctx,
			chromedp.EmulateViewport(shotWidth, shotHeight),
			navigate(chromedp.Navigate(base+p.path)),
			chromedp.Evaluate(readShownPage, &shown),
			chromedp.CaptureScreenshot(&buf),
		)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if shown.Title != wantTitle || shown.Lang != i18n.Default || shown.Error != "" ||
			shown.Direction != p.direction || !p.check(shown) {
			t.Errorf("%s (%s) shows %+v, want the title %q in %s, direction %s and its content",
				p.name, p.path, shown, wantTitle, i18n.Default, p.direction)
			continue
		}
		checkPhoto(t, p.name, buf)
		if err := os.WriteFile(filepath.Join(out, p.name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d rows of %d, %d bytes", p.name, shown.Rows, shown.Total, len(buf))
	}

	// Other capabilities' pages: each shows its title and what rows names (the admin's view of the demo).
	for _, p := range []struct{ name, path, title, rows string }{
		{"report-manager", "/reports/manager", "extract.title", "#extract-type option"}, // the nine tables to choose from
		// Event tracks (issue 17): the demo's menu bots record them.
		{"report-custom", "/reports/custom?granularity=day", "tracking.title", "#custom-rows tbody tr"},
		{"report-funnel", "/reports/funnel?within=1h&step=" + url.QueryEscape("a\x1fEscolha de Menu\x1fAbriu o menu") +
			"&step=" + url.QueryEscape("a\x1fEscolha de Menu\x1f2ª via de boleto") + "&step=" + url.QueryEscape("a\x1fPagamento\x1fBoleto pago"),
			"funnel.title", "#funnel-steps tbody tr"},
		{"report-conversations", "/reports/conversations", "nav.conversations", "#conversation-rows tbody tr"},
		// The help desk (issue 16): the demo's agents work its tickets.
		{"desk", "/desk", "desk.title", "#status-select option"},
		{"desk-supervisor", "/desk/supervisor", "desk.supervisor.title", "#floor-agents tbody tr"},
		{"desk-metrics", "/desk/metrics", "desk.metrics.title", "#metrics-by-agent tbody tr"},
		// Campaigns (issue 14): the demo's, then a running one and its A/B pair compared, below.
		{"campaigns", "/campaigns", "campaigns.title", "#campaigns tbody tr"},
		// The consumption report (issue 15): the current month, partial, with
		// Meta's figures and the budgets; the month two back, consolidated.
		{"consumption", "/consumption", "consumption.title", "#consumption-daily tbody tr"},
		{"consumption-closed", "/consumption?month=" + time.Now().AddDate(0, -2, 0).Format("2006-01"), "consumption.title", "#consumption-phones tbody tr"},
	} {
		var buf []byte
		var shown shownPage
		var rows int
		err := chromedp.Run(ctx,
			chromedp.EmulateViewport(shotWidth, shotHeight),
			// These pages have no #total, which navigate waits for:
			// Navigate itself waits for the page's load.
			chromedp.Navigate(base+p.path),
			chromedp.Evaluate(readShownPage, &shown),
			chromedp.Evaluate(`document.querySelectorAll(`+strconv.Quote(p.rows)+`).length`, &rows),
			chromedp.CaptureScreenshot(&buf),
		)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if want := i18n.T(i18n.Default, p.title) + " · ticks"; shown.Title != want || shown.Lang != i18n.Default || shown.Error != "" || rows == 0 {
			t.Errorf("%s (%s) shows %+v and %d rows, want the title %q in %s and rows", p.name, p.path, shown, rows, want, i18n.Default)
			continue
		}
		checkPhoto(t, p.name, buf)
		if err := os.WriteFile(filepath.Join(out, p.name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d rows, %d bytes", p.name, rows, len(buf))
	}

	// A ticket of the demo's desk: the newest one an agent is attending.
	var href string
	var buf []byte
	var shown shownPage
	var lines int
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/desk/supervisor"),
		chromedp.Evaluate(`(document.querySelector("#floor-open tbody tr a") || {}).getAttribute ? document.querySelector("#floor-open tbody tr a").getAttribute("href") : ""`, &href),
	)
	if err != nil || href == "" {
		t.Fatalf("desk-ticket: no ticket being attended on the floor (%v)", err)
	}
	id, _ := strconv.ParseInt(href[len("/desk/tickets/"):], 10, 64)
	err = chromedp.Run(ctx,
		chromedp.EmulateViewport(shotWidth, shotHeight),
		chromedp.Navigate(base+href),
		chromedp.Evaluate(readShownPage, &shown),
		chromedp.Evaluate(`document.querySelectorAll("#conversation li").length`, &lines),
		chromedp.CaptureScreenshot(&buf),
	)
	if err != nil {
		t.Fatalf("desk-ticket: %v", err)
	}
	if want := i18n.T(i18n.Default, "desk.ticket.title", id) + " · ticks"; shown.Title != want || shown.Error != "" || lines == 0 {
		t.Errorf("desk-ticket (%s) shows %+v and %d messages, want the title %q and the conversation", href, shown, lines, want)
	} else {
		checkPhoto(t, "desk-ticket", buf)
		if err := os.WriteFile(filepath.Join(out, "desk-ticket.png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shootCampaigns(t, ctx, base, out)
}

// shootCampaigns photographs the demo's running campaign and the
// comparison of its A/B pair, found in the campaigns' list.
func shootCampaigns(t *testing.T, ctx context.Context, base, out string) {
	t.Helper()
	var running, pair string
	err := chromedp.Run(ctx, chromedp.Navigate(base+"/campaigns"),
		chromedp.Evaluate(`(function(){ var a = document.querySelector('#campaigns tr[data-status="running"] a');
			return a ? a.getAttribute("href") : ""; })()`, &running),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("#campaigns tbody tr")).filter(function(tr){
			return tr.textContent.indexOf("Oferta de Natal") >= 0; }).map(function(tr){ return "id=" + tr.id.replace("campaign-", ""); }).join("&")`, &pair))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ name, path, ready, title string }{
		{"campaign-running", running, "#campaign-counters", ""},
		{"campaigns-compare", "/campaigns/compare?" + pair, "#comparison tbody tr", i18n.T(i18n.Default, "campaigns.compare.title")},
	} {
		if p.path == "" || p.path == "/campaigns/compare?" {
			t.Errorf("%s: the demo has no such campaign (running %q, A/B pair %q)", p.name, running, pair)
			continue
		}
		var buf []byte
		var shown shownPage
		var found int
		err := chromedp.Run(ctx,
			chromedp.EmulateViewport(shotWidth, shotHeight),
			chromedp.Navigate(base+p.path),
			chromedp.Sleep(1500*time.Millisecond), // the live stream's first snapshot
			chromedp.Evaluate(readShownPage, &shown),
			chromedp.Evaluate(`document.querySelectorAll(`+strconv.Quote(p.ready)+`).length`, &found),
			chromedp.CaptureScreenshot(&buf),
		)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if shown.Error != "" || found == 0 || p.title != "" && shown.Title != p.title+" · ticks" {
			t.Errorf("%s (%s) shows %+v and %d of %s", p.name, p.path, shown, found, p.ready)
			continue
		}
		checkPhoto(t, p.name, buf)
		if err := os.WriteFile(filepath.Join(out, p.name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkPhoto fails unless buf is a PNG of the viewport with more than a
// few colours (a blank or half-drawn page has only the background's).
func checkPhoto(t *testing.T, name string, buf []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got := img.Bounds().Size(); got != (image.Point{X: shotWidth, Y: shotHeight}) {
		t.Errorf("%s: %v pixels, want %dx%d", name, got, shotWidth, shotHeight)
	}
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y && len(colours) <= 64; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) <= 64 {
		t.Errorf("%s: only %d colours: a blank page?", name, len(colours))
	}
}
