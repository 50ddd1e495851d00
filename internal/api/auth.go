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
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			token = ""
		}
		p, err := h.Access.Authenticate(r.Context(), token)
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
