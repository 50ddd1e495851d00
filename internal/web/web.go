// Package web is the browser app: login, the detailed report with its
// filters, consolidated view, saved searches and exports, and the admin
// pages. Pages are html/template files embedded in the binary; the CSS and
// the little JavaScript are served from the binary too, so nothing is
// fetched from elsewhere.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/campaigns"
	"github.com/ticksapp/ticks/internal/channels"
	"github.com/ticksapp/ticks/internal/desk"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/live"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/tracking"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the web app: like the API, a thin peer over the
// capabilities' services — it parses a form or a query, calls a service
// with the visitor's principal, and renders a page.
type Handler struct {
	Access   *access.Service
	Channels *channels.Service
	Reports  *reports.Service
	Billing  *billing.Service
	Tracking *tracking.Service
	Extracts *extracts.Service
	Desk     *desk.Service
	Live     *live.Hub
	// Campaigns is Growth → Mensagens Ativas.
	Campaigns *campaigns.Service
	Location  *time.Location
	// Secure marks cookies Secure (set it behind HTTPS).
	Secure bool
	Now    func() time.Time

	pages map[string]*template.Template
}

// Services are what the web app calls.
type Services struct {
	Access   *access.Service
	Channels *channels.Service
	Reports  *reports.Service
	Billing  *billing.Service
	Tracking *tracking.Service
	Extracts *extracts.Service
	Desk     *desk.Service
	Live     *live.Hub
	// Campaigns is Growth → Mensagens Ativas.
	Campaigns *campaigns.Service
}

// New parses the templates and returns the handler, with dates in loc.
func New(svc Services, loc *time.Location) (*Handler, error) {
	h := &Handler{Access: svc.Access, Channels: svc.Channels, Reports: svc.Reports, Billing: svc.Billing, Tracking: svc.Tracking, Extracts: svc.Extracts,
		Desk: svc.Desk, Live: svc.Live, Location: loc, Now: time.Now,
		Campaigns: svc.Campaigns,
		pages:     map[string]*template.Template{}}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if name == "templates/layout.html" || strings.HasPrefix(name, "templates/_") {
			continue
		}
		// Each page is the layout, the shared partials (files named _*.html)
		// and its own content.
		t, err := template.New("layout.html").Funcs(h.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/_*.html", name)
		if err != nil {
			return nil, err
		}
		h.pages[name[len("templates/"):len(name)-len(".html")]] = t
	}
	return h, nil
}

// Routes registers the pages on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("POST /logout", h.auth(h.logout))
	mux.HandleFunc("POST /lang", h.auth(h.setLang))
	mux.HandleFunc("GET /{$}", h.auth(func(w http.ResponseWriter, r *http.Request, v *visitor) {
		http.Redirect(w, r, "/reports/messages", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /reports/messages", h.auth(h.reportPage))
	mux.HandleFunc("GET /reports/messages/consolidated", h.auth(h.consolidatedPage))
	mux.HandleFunc("GET /reports/messages/export", h.auth(h.exportReport))
	mux.HandleFunc("GET /reports/messages/consolidated/export", h.auth(h.exportSummary))
	mux.HandleFunc("POST /saved-searches", h.auth(h.saveSearch))
	mux.HandleFunc("GET /saved-searches/{id}", h.auth(h.runSearch))
	mux.HandleFunc("POST /saved-searches/{id}/rename", h.auth(h.renameSearch))
	mux.HandleFunc("POST /saved-searches/{id}/delete", h.auth(h.deleteSearch))
	mux.HandleFunc("GET /admin/users", h.auth(h.usersPage))
	mux.HandleFunc("POST /admin/users", h.auth(h.createUser))
	mux.HandleFunc("GET /admin/subaccounts", h.auth(h.subaccountsPage))
	mux.HandleFunc("POST /admin/subaccounts", h.auth(h.createSubaccount))
	mux.HandleFunc("GET /admin/channels", h.auth(h.channelsPage))
	mux.HandleFunc("POST /admin/channels", h.auth(h.createChannel))
	mux.HandleFunc("GET /admin/tokens", h.auth(h.tokensPage))
	mux.HandleFunc("POST /admin/tokens", h.auth(h.createToken))
	mux.HandleFunc("POST /admin/tokens/{id}/revoke", h.auth(h.revokeToken))
	h.trackingRoutes(mux)
	h.consumptionRoutes(mux)
	h.managerRoutes(mux)
	h.deskRoutes(mux)
	h.campaignRoutes(mux)
	mux.HandleFunc("/", h.notFound) // every path nothing else serves
}

// notFound answers a page that does not exist in the app's look and the
// visitor's language, with a way back; a visitor who is not logged in gets
// the bare page.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	v := h.visitor(r)
	p := &page{Lang: h.loginLang(r), Title: i18n.T(h.loginLang(r), "notfound.title")}
	if v != nil {
		p = v.page(i18n.T(v.lang(), "notfound.title"), "")
	}
	h.render(w, r, http.StatusNotFound, "notfound", p)
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// render writes a page. Data is the page's own data; the layout gets the
// visitor through the page struct.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := h.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	if p.Lang == "" {
		p.Lang = i18n.Default
	}
	p.TimeZone = h.Location.String()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout.html", p); err != nil {
		slog.Error("render page", slog.String("page", name), slog.Any("err", err))
	}
}

// page is what every template gets.
type page struct {
	Lang     string
	Title    string
	User     *domain.User
	CSRF     string
	TimeZone string
	Active   string // the nav entry to highlight
	Flash    string
	Error    string
	Data     any
}

// fail renders err as an error page with the status its code maps to. An
// internal error is logged with the request's id, and the page shows that
// id as a reference to quote instead of the error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, v *visitor, err error) {
	respond.SetRetryAfter(w, err)
	h.render(w, r, respond.HTTPStatus(domain.ErrorCode(err)), "error", h.errorPage(r, v, err))
}

// forbidden renders the page a role may not see.
func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.fail(w, r, v, domain.Errorf(domain.EFORBIDDEN, "%s", i18n.T(v.lang(), "error.forbidden")))
}

func (h *Handler) errorPage(r *http.Request, v *visitor, err error) *page {
	p := &page{Title: i18n.T(v.lang(), "common.error"), Error: h.errorText(r, v.lang(), err)}
	if v != nil {
		p.Lang, p.User, p.CSRF = v.lang(), v.user, v.csrf
	}
	return p
}

// errorText is what a page says of err: the domain's message, or for an
// internal error (logged here) a reference to quote.
func (h *Handler) errorText(r *http.Request, lang string, err error) string {
	if err == nil {
		return ""
	}
	if domain.ErrorCode(err) == domain.EINTERNAL {
		respond.LogInternal(r, err)
		return i18n.T(lang, "error.internal", respond.RequestID(r.Context()))
	}
	return domain.ErrorMessage(err)
}
