package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/secret"
)

const (
	sessionCookie = "ticks_session"
	loginCSRF     = "ticks_login_csrf"
	langCookie    = "ticks_lang"
	sessionTTL    = 12 * time.Hour
)

// visitor is a logged-in user and what it may see.
type visitor struct {
	user      *domain.User
	principal *access.Principal
	csrf      string
	session   *access.Session
}

func (v *visitor) lang() string {
	if v == nil || v.user == nil {
		return i18n.Default
	}
	return i18n.Normalize(v.user.Lang)
}

func (v *visitor) page(title, active string) *page {
	return &page{Lang: v.lang(), Title: title, User: v.user, CSRF: v.csrf, Active: active}
}

// auth loads the session, refusing visitors who are not logged in, and
// checks the CSRF token of every POST.
func (h *Handler) auth(fn func(http.ResponseWriter, *http.Request, *visitor)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := h.visitor(r)
		if v == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !secret.Equal(r.PostFormValue("csrf"), v.csrf) {
			h.fail(w, r, v, domain.Errorf(domain.EFORBIDDEN, "%s", i18n.T(v.lang(), "error.csrf")))
			return
		}
		r = r.WithContext(access.WithPrincipal(r.Context(), v.principal))
		fn(w, r, v)
	}
}

// visitor returns the logged-in visitor of r, or nil.
func (h *Handler) visitor(r *http.Request) *visitor {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	sess, err := h.Access.SessionFor(r.Context(), c.Value)
	if err != nil {
		return nil
	}
	return &visitor{user: sess.User, principal: sess.Principal, csrf: sess.CSRF, session: sess}
}

type loginData struct {
	Next  string
	Email string
}

func (h *Handler) loginLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		return i18n.Normalize(c.Value)
	}
	if v := r.URL.Query().Get("lang"); v != "" {
		return i18n.Normalize(v)
	}
	return i18n.Normalize(r.Header.Get("Accept-Language"))
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if h.visitor(r) != nil {
		http.Redirect(w, r, "/reports/messages", http.StatusSeeOther)
		return
	}
	lang := h.loginLang(r)
	if v := r.URL.Query().Get("lang"); v != "" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.Secure})
	}
	// The login form has no session yet: its CSRF token is a cookie the
	// form must echo (double submit).
	token := access.RandomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCSRF, Value: token, Path: "/login", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.Secure})
	h.render(w, r, http.StatusOK, "login", &page{Lang: lang, Title: i18n.T(lang, "login.title"), CSRF: token,
		Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/reports/messages"
	}
	return next
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	lang := h.loginLang(r)
	c, err := r.Cookie(loginCSRF)
	if err != nil || !secret.Equal(c.Value, r.PostFormValue("csrf")) {
		h.render(w, r, http.StatusForbidden, "error", &page{Lang: lang, Error: i18n.T(lang, "error.csrf")})
		return
	}
	email, next := strings.TrimSpace(r.PostFormValue("email")), safeNext(r.PostFormValue("next"))
	u, err := h.Access.Login(r.Context(), email, r.PostFormValue("password"), respond.ClientAddr(r))
	if code := domain.ErrorCode(err); code == domain.EUNAUTHORIZED || code == domain.ETOOMANY {
		token := access.RandomToken()
		http.SetCookie(w, &http.Cookie{Name: loginCSRF, Value: token, Path: "/login", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.Secure})
		msg := i18n.T(lang, "login.failed")
		var de *domain.Error
		if code == domain.ETOOMANY && errors.As(err, &de) {
			msg = i18n.T(lang, "login.throttled", max(1, int((de.RetryAfter+time.Minute-1)/time.Minute)))
			respond.SetRetryAfter(w, err)
		}
		h.render(w, r, respond.HTTPStatus(code), "login", &page{Lang: lang, Title: i18n.T(lang, "login.title"), CSRF: token,
			Error: msg, Data: loginData{Next: next, Email: email}})
		return
	}
	var value string
	var sess *access.Session
	if err == nil {
		value, sess, err = h.Access.StartSession(r.Context(), u, sessionTTL)
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: h.Secure, Expires: sess.ExpiresAt})
	http.SetCookie(w, &http.Cookie{Name: loginCSRF, Value: "", Path: "/login", MaxAge: -1})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := h.Access.EndSession(context.WithoutCancel(r.Context()), v.session); err != nil {
		respond.LogInternal(r, err)
	}
	if h.Desk != nil { // the desk's agent is offline once they leave
		if err := h.Desk.EndSession(context.WithoutCancel(r.Context()), v.user); err != nil {
			respond.LogInternal(r, err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setLang remembers the user's language and goes back where it was.
func (h *Handler) setLang(w http.ResponseWriter, r *http.Request, v *visitor) {
	lang, err := h.Access.SetLang(r.Context(), v.principal, r.PostFormValue("lang"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.Secure})
	http.Redirect(w, r, safeNext(r.PostFormValue("back")), http.StatusSeeOther)
}
