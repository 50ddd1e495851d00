package server_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestAPIDocsPage checks the headers of the API reference page and its
// files: served without a token, under a strict Content-Security-Policy.
func TestAPIDocsPage(t *testing.T) {
	s := newServer(t)
	for _, c := range []struct{ path, contentType string }{
		{"/api/docs", "text/html; charset=utf-8"},
		{"/api/docs/assets/docs.js", "text/javascript; charset=utf-8"},
		{"/api/docs/assets/swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
		{"/api/docs/assets/swagger-ui/swagger-ui.css", "text/css; charset=utf-8"},
		{"/api/v1/openapi.json", "application/json; charset=utf-8"},
	} {
		resp, err := http.Get(s.url + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != c.contentType {
			t.Errorf("GET %s: %d %q, want 200 %q", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.contentType)
		}
		if c.path == "/api/docs" {
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
				t.Errorf("the page's Content-Security-Policy: %q", csp)
			}
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := client.Get(s.url + "/api/docs/"); err != nil || resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/api/docs" {
		t.Errorf("GET /api/docs/ does not redirect to /api/docs: %v %v", resp, err)
	}
}

// TestBrowserAPIDocs opens /api/docs in Chromium: Swagger UI, served from
// the binary, renders the document's operations and their parameters, with
// nothing refused by the page's Content-Security-Policy and no script error.
func TestBrowserAPIDocs(t *testing.T) {
	s := newServer(t)
	ctx := browse(t, t.TempDir())
	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.LevelError {
				problems = append(problems, ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				problems = append(problems, "console.error")
			}
		}
	})
	var title, path, params string
	err := chromedp.Run(ctx, log.Enable(), runtime.Enable(),
		chromedp.Navigate(s.url+"/api/docs"),
		chromedp.WaitVisible(`#operations-messages-sendMessage`, chromedp.ByQuery),
		chromedp.Text(`.info .title`, &title, chromedp.ByQuery),
		chromedp.Text(`#operations-messages-sendMessage .opblock-summary-path`, &path, chromedp.ByQuery),
		chromedp.Click(`#operations-reports-reportMessages .opblock-summary-control`, chromedp.ByQuery),
		chromedp.WaitVisible(`#operations-reports-reportMessages .parameters`, chromedp.ByQuery),
		chromedp.Text(`#operations-reports-reportMessages .parameters`, &params, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, "ticks API") || strings.TrimSpace(path) != "/api/v1/messages" {
		t.Errorf("rendered title %q, path %q", title, path)
	}
	for _, p := range []string{"conversation_type", "format", "cursor"} {
		if !strings.Contains(params, p) {
			t.Errorf("the report's parameters do not show %s: %.300s", p, params)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the page logged errors (a Content-Security-Policy refusal, a script error):\n%s", strings.Join(problems, "\n"))
	}
}
