package web

import (
	"net/http"
	"strconv"

	"github.com/ticksapp/ticks/internal/api"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
)

type adminData struct {
	Users           []domain.User
	Subaccounts     []domain.Subaccount
	SubaccountNames map[int64]string
	Channels        []domain.Channel
	Tokens          []domain.APIToken
	Roles           []domain.Role
	NewToken        string
}

// adminPage loads what every admin page shows, refusing roles that may not
// administer.
func (h *Handler) adminPage(w http.ResponseWriter, r *http.Request, v *visitor, orgOnly bool) *adminData {
	if v.principal.Role != domain.RoleAdmin && (orgOnly || v.principal.Role != domain.RoleSupervisor) {
		h.fail(w, r, v, http.StatusForbidden, i18n.T(v.lang(), "error.forbidden"))
		return nil
	}
	d := &adminData{SubaccountNames: map[int64]string{}}
	var err error
	if d.Subaccounts, err = h.Store.Subaccounts(r.Context(), v.principal.Scope); err != nil {
		h.fail(w, r, v, http.StatusInternalServerError, err.Error())
		return nil
	}
	for _, s := range d.Subaccounts {
		d.SubaccountNames[s.ID] = s.Name
	}
	d.Roles = []domain.Role{domain.RoleViewer, domain.RoleAgent}
	if v.principal.OrgAdmin() {
		d.Roles = []domain.Role{domain.RoleViewer, domain.RoleAgent, domain.RoleSupervisor, domain.RoleAdmin}
	}
	return d
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	d := h.adminPage(w, r, v, false)
	if d == nil {
		return
	}
	var err error
	if d.Users, err = h.Store.Users(r.Context(), v.principal.Scope); err != nil {
		h.fail(w, r, v, http.StatusInternalServerError, err.Error())
		return
	}
	p := v.page(i18n.T(v.lang(), "admin.users.title"), "users")
	p.Data, p.Flash = d, flash(r, v)
	h.render(w, r, http.StatusOK, "users", p)
}

func flash(r *http.Request, v *visitor) string {
	if r.URL.Query().Get("created") != "" {
		return i18n.T(v.lang(), "admin.created")
	}
	return ""
}

func formIDs(r *http.Request, name string) []int64 {
	var out []int64
	for _, s := range r.PostForm[name] {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, v *visitor) {
	in := api.UserInput{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Role: domain.Role(r.PostFormValue("role")),
		Password: r.PostFormValue("password"), Lang: r.PostFormValue("lang"), Subaccounts: formIDs(r, "subaccounts")}
	u, err := api.NewUser(v.principal, &in)
	if err == nil {
		err = h.Store.CreateUser(r.Context(), u)
	}
	if err != nil {
		h.fail(w, r, v, httpStatus(err), errorText(v.lang(), err))
		return
	}
	http.Redirect(w, r, "/admin/users?created=1", http.StatusSeeOther)
}

func (h *Handler) subaccountsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	d := h.adminPage(w, r, v, true)
	if d == nil {
		return
	}
	p := v.page(i18n.T(v.lang(), "admin.subaccounts.title"), "subaccounts")
	p.Data, p.Flash = d, flash(r, v)
	h.render(w, r, http.StatusOK, "subaccounts", p)
}

func (h *Handler) createSubaccount(w http.ResponseWriter, r *http.Request, v *visitor) {
	if !v.principal.OrgAdmin() {
		h.fail(w, r, v, http.StatusForbidden, i18n.T(v.lang(), "error.forbidden"))
		return
	}
	sa := &domain.Subaccount{Name: r.PostFormValue("name"), TimeZone: r.PostFormValue("time_zone")}
	if err := api.ValidateSubaccount(sa); err != nil {
		h.fail(w, r, v, httpStatus(err), errorText(v.lang(), err))
		return
	}
	if err := h.Store.CreateSubaccount(r.Context(), sa); err != nil {
		h.fail(w, r, v, httpStatus(err), errorText(v.lang(), err))
		return
	}
	http.Redirect(w, r, "/admin/subaccounts?created=1", http.StatusSeeOther)
}

func (h *Handler) channelsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	d := h.adminPage(w, r, v, true)
	if d == nil {
		return
	}
	var err error
	if d.Channels, err = h.Store.Channels(r.Context(), v.principal.Scope); err != nil {
		h.fail(w, r, v, http.StatusInternalServerError, err.Error())
		return
	}
	p := v.page(i18n.T(v.lang(), "admin.channels.title"), "channels")
	p.Data, p.Flash = d, flash(r, v)
	h.render(w, r, http.StatusOK, "channels", p)
}

func (h *Handler) createChannel(w http.ResponseWriter, r *http.Request, v *visitor) {
	sa, _ := strconv.ParseInt(r.PostFormValue("subaccount_id"), 10, 64)
	in := api.ChannelInput{SubaccountID: sa, Name: r.PostFormValue("name"), WABAID: r.PostFormValue("waba_id"),
		PhoneNumberID: r.PostFormValue("phone_number_id"), DisplayPhone: r.PostFormValue("display_phone"),
		AccessToken: r.PostFormValue("access_token")}
	c, err := (&api.Handler{Box: h.Box}).NewChannel(v.principal, &in)
	if err == nil {
		err = h.Store.CreateChannel(r.Context(), c)
	}
	if err != nil {
		h.fail(w, r, v, httpStatus(err), errorText(v.lang(), err))
		return
	}
	http.Redirect(w, r, "/admin/channels?created=1", http.StatusSeeOther)
}

func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.renderTokens(w, r, v, "")
}

func (h *Handler) renderTokens(w http.ResponseWriter, r *http.Request, v *visitor, newToken string) {
	d := h.adminPage(w, r, v, false)
	if d == nil {
		return
	}
	var err error
	if d.Tokens, err = h.Store.APITokens(r.Context(), v.principal.Scope); err != nil {
		h.fail(w, r, v, http.StatusInternalServerError, err.Error())
		return
	}
	d.NewToken = newToken
	p := v.page(i18n.T(v.lang(), "admin.tokens.title"), "tokens")
	p.Data = d
	h.render(w, r, http.StatusOK, "tokens", p)
}

// createToken shows the new token once, on the page that answers the form.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, v *visitor) {
	sa, _ := strconv.ParseInt(r.PostFormValue("subaccount_id"), 10, 64)
	t, err := api.NewToken(v.principal, &api.TokenInput{Name: r.PostFormValue("name"), Role: domain.Role(r.PostFormValue("role")), SubaccountID: sa})
	if err == nil {
		err = h.Store.CreateAPIToken(r.Context(), &t.APIToken)
	}
	if err != nil {
		h.fail(w, r, v, httpStatus(err), errorText(v.lang(), err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderTokens(w, r, v, t.Token)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, v *visitor) {
	id := pathID(r)
	t, err := h.Store.APIToken(r.Context(), id)
	if err == nil && (!v.principal.CanSee(t.SubaccountID) || (t.Role == domain.RoleAdmin && !v.principal.OrgAdmin())) {
		err = domain.Errorf(domain.ENOTFOUND, "token %d not found", id)
	}
	if err == nil && v.principal.Role != domain.RoleAdmin && v.principal.Role != domain.RoleSupervisor {
		err = domain.Errorf(domain.EFORBIDDEN, "role %s may not revoke tokens", v.principal.Role)
	}
	if err == nil {
		err = h.Store.RevokeAPIToken(r.Context(), id)
	}
	if err != nil {
		h.fail(w, r, v, httpStatus(err), errorText(v.lang(), err))
		return
	}
	http.Redirect(w, r, "/admin/tokens", http.StatusSeeOther)
}
