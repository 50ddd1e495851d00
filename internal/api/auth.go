package api

import (
	"net/http"
	"strings"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/respond"
)

// authenticate resolves the request's bearer token into a principal (a
// request the web app already authenticated keeps its own).
func (h *Handler) authenticate(fn func(http.ResponseWriter, *http.Request, *access.Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := access.FromContext(r.Context()); p != nil {
			fn(w, r, p)
			return
		}
		p, err := h.Access.Authenticate(r.Context(), bearer(r), respond.ClientAddr(r))
		if err != nil {
			if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ticks"`)
			}
			respond.Error(w, r, err)
			return
		}
		fn(w, r.WithContext(access.WithPrincipal(r.Context(), p)), p)
	})
}

// bearer returns the token of an Authorization header of the Bearer
// scheme, whose name is case-insensitive (RFC 9110, 11.1), or "".
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
