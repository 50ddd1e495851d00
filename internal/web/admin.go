package web

import (
	"net/http"
	"strconv"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/channels"
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

// adminPage loads what every admin page shows, refusing visitors who may
// not administer (orgOnly: only an organization admin).
func (h *Handler) adminPage(w http.ResponseWriter, r *http.Request, v *visitor, orgOnly bool) *adminData {
	err := v.principal.Need(domain.RoleAdmin, domain.RoleSupervisor)
	if orgOnly {
		err = v.principal.NeedOrgAdmin("administer the organization")
	}
	if err != nil {
		h.forbidden(w, r, v)
		return nil
	}
	d := &adminData{SubaccountNames: map[int64]string{}}
	if d.Subaccounts, err = h.Access.Subaccounts(r.Context(), v.principal); err != nil {
		h.fail(w, r, v, err)
		return nil
	}
	for i := range d.Subaccounts {
		d.Subaccounts[i].Name = subaccountName(v.lang(), &d.Subaccounts[i])
		d.SubaccountNames[d.Subaccounts[i].ID] = d.Subaccounts[i].Name
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
	if d.Users, err = h.Access.Users(r.Context(), v.principal); err != nil {
		h.fail(w, r, v, err)
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

func formID(r *http.Request, name string) int64 {
	id, _ := strconv.ParseInt(r.PostFormValue(name), 10, 64)
	return id
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, v *visitor) {
	_, err := h.Access.CreateUser(r.Context(), v.principal, access.UserInput{Email: r.PostFormValue("email"),
		Name: r.PostFormValue("name"), Role: domain.Role(r.PostFormValue("role")), Password: r.PostFormValue("password"),
		Lang: r.PostFormValue("lang"), Subaccounts: formIDs(r, "subaccounts")})
	if err != nil {
		h.fail(w, r, v, err)
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
	_, err := h.Access.CreateSubaccount(r.Context(), v.principal, access.SubaccountInput{Name: r.PostFormValue("name"),
		TimeZone: r.PostFormValue("time_zone")})
	if err != nil {
		h.fail(w, r, v, err)
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
	if d.Channels, err = h.Channels.List(r.Context(), v.principal); err != nil {
		h.fail(w, r, v, err)
		return
	}
	p := v.page(i18n.T(v.lang(), "admin.channels.title"), "channels")
	p.Data, p.Flash = d, flash(r, v)
	h.render(w, r, http.StatusOK, "channels", p)
}

func (h *Handler) createChannel(w http.ResponseWriter, r *http.Request, v *visitor) {
	_, err := h.Channels.Create(r.Context(), v.principal, channels.Input{SubaccountID: formID(r, "subaccount_id"),
		Name: r.PostFormValue("name"), WABAID: r.PostFormValue("waba_id"), PhoneNumberID: r.PostFormValue("phone_number_id"),
		DisplayPhone: r.PostFormValue("display_phone"), AccessToken: r.PostFormValue("access_token")})
	if err != nil {
		h.fail(w, r, v, err)
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
	if d.Tokens, err = h.Access.Tokens(r.Context(), v.principal); err != nil {
		h.fail(w, r, v, err)
		return
	}
	d.NewToken = newToken
	p := v.page(i18n.T(v.lang(), "admin.tokens.title"), "tokens")
	p.Data = d
	h.render(w, r, http.StatusOK, "tokens", p)
}

// createToken shows the new token once, on the page that answers the form.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, v *visitor) {
	t, err := h.Access.CreateToken(r.Context(), v.principal, access.TokenInput{Name: r.PostFormValue("name"),
		Role: domain.Role(r.PostFormValue("role")), SubaccountID: formID(r, "subaccount_id")})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderTokens(w, r, v, t.Token)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := h.Access.RevokeToken(r.Context(), v.principal, pathID(r)); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/admin/tokens", http.StatusSeeOther)
}

// subaccountName is a subaccount's name as a page shows it: the unassigned
// subaccount, where what arrives for numbers no channel owns is kept, is
// named in the reader's language.
func subaccountName(lang string, sa *domain.Subaccount) string {
	if sa.ID == domain.UnassignedSubaccountID {
		return i18n.T(lang, "subaccount.unassigned")
	}
	return sa.Name
}
