package server_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestScreenshots photographs the report pages of a running ticks (the
// demo) for the docs. It runs only when TICKS_SCREENSHOT_URL is set; see
// scripts/screenshots.sh.
func TestScreenshots(t *testing.T) {
	base := os.Getenv("TICKS_SCREENSHOT_URL")
	if base == "" {
		t.Skip("set TICKS_SCREENSHOT_URL (scripts/screenshots.sh does)")
	}
	out := os.Getenv("TICKS_SCREENSHOT_DIR")
	ctx := browse(t, t.TempDir())
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible("#login-form", chromedp.ByQuery),
		chromedp.SendKeys("#email", os.Getenv("TICKS_SCREENSHOT_EMAIL"), chromedp.ByQuery),
		chromedp.SendKeys("#password", os.Getenv("TICKS_SCREENSHOT_PASSWORD"), chromedp.ByQuery),
		navigate(chromedp.Click("#login-submit", chromedp.ByQuery)),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ name, path string }{
		{"report-mt", "/reports/messages"},
		{"report-mo", "/reports/messages?direction=mo"},
		{"report-consolidated", "/reports/messages/consolidated"},
	} {
		var buf []byte
		if err := chromedp.Run(ctx, chromedp.EmulateViewport(1440, 1300), navigate(chromedp.Navigate(base+p.path)), chromedp.CaptureScreenshot(&buf)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, p.name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
