package api

import (
	"net/http"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/respond"
)

func (h *Handler) me(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	respond.JSON(w, http.StatusOK, map[string]any{"role": p.Role, "subaccounts": p.Scope, "org_admin": p.OrgAdmin()})
}

func (h *Handler) listSubaccounts(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Access.Subaccounts(r.Context(), p)
	reply(w, r, http.StatusOK, map[string]any{"subaccounts": list}, err)
}

func (h *Handler) getSubaccount(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	sa, err := h.Access.Subaccount(r.Context(), p, id)
	reply(w, r, http.StatusOK, sa, err)
}

func (h *Handler) createSubaccount(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in access.SubaccountInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	sa, err := h.Access.CreateSubaccount(r.Context(), p, in)
	reply(w, r, http.StatusCreated, sa, err)
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Access.Users(r.Context(), p)
	reply(w, r, http.StatusOK, map[string]any{"users": list}, err)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	u, err := h.Access.User(r.Context(), p, id)
	reply(w, r, http.StatusOK, u, err)
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in access.UserInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	u, err := h.Access.CreateUser(r.Context(), p, in)
	reply(w, r, http.StatusCreated, u, err)
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Access.Tokens(r.Context(), p)
	reply(w, r, http.StatusOK, map[string]any{"tokens": list}, err)
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in access.TokenInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	t, err := h.Access.CreateToken(r.Context(), p, in)
	reply(w, r, http.StatusCreated, t, err)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err == nil {
		err = h.Access.RevokeToken(r.Context(), p, id)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
