package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/channels"
	"github.com/ticksapp/ticks/internal/contacts"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/tracking"
)

// Seed creates the demo organization once, through the services an admin
// would use: two subaccounts, three numbers (one with a fallback template,
// one warming up) and their templates, synced from the simulator; a
// router and a menu bot of each subaccount; an admin, a supervisor, a viewer and an agent of each subaccount with
// state's password; a supervisor API token (kept in state) and the token
// of Loja Online's store integration; and the contacts, a few of whom
// opted out.
func Seed(ctx context.Context, svc server.Services, state *State) error {
	admin := access.System()
	var subs []*domain.Subaccount
	for _, name := range []string{"Varejo Centro", "Loja Online"} {
		sa, err := svc.Access.CreateSubaccount(ctx, admin, access.SubaccountInput{Name: name})
		if err != nil {
			return err
		}
		subs = append(subs, sa)
	}
	centro, online := subs[0].ID, subs[1].ID
	numbers := []struct {
		sa       int64
		name     string
		tier     string
		settings channels.Settings
	}{
		// Free-form outside a session falls back to a template.
		{centro, "Varejo Centro", "TIER_10K", channels.Settings{FallbackTemplate: ptr("retomar_atendimento"), FallbackLanguage: ptr("pt_BR")}},
		{online, "Loja Online", "TIER_250", channels.Settings{}},
		// A number warming up: only the program's sends go.
		{online, "Loja Online — aquecimento", "TIER_250", channels.Settings{WarmupUntil: ptr(time.Now().AddDate(0, 0, 30)), WarmupDailyLimit: ptr(500)}},
	}
	ids := make([]int64, len(numbers))
	for i, n := range numbers {
		ph := Phones[i]
		ch, err := svc.Channels.Create(ctx, admin, channels.Input{SubaccountID: n.sa, Name: n.name, WABAID: ph.WABAID,
			PhoneNumberID: ph.PhoneNumberID, DisplayPhone: "+" + ph.DisplayPhone, AccessToken: ph.AccessToken, Tier: n.tier})
		if err != nil {
			return err
		}
		ids[i] = ch.ID
	}
	// The templates, then the settings that name one.
	if err := svc.Channels.SyncAll(ctx); err != nil {
		return fmt.Errorf("sync the templates: %w", err)
	}
	for i, n := range numbers {
		if _, err := svc.Channels.Update(ctx, admin, ids[i], n.settings); err != nil {
			return err
		}
	}
	// The bots (issue 17): a router answering each subaccount's main number
	// and the self-service menu under it, which records the event tracks.
	for i, sa := range []int64{centro, online} {
		r, err := svc.Tracking.CreateBot(ctx, admin, tracking.BotInput{Name: RouterNames[i], Kind: domain.BotRouter, SubaccountID: sa, ChannelID: ids[i]})
		if err != nil {
			return err
		}
		if _, err := svc.Tracking.CreateBot(ctx, admin, tracking.BotInput{Name: MenuBotNames[i], SubaccountID: sa, RouterID: r.ID}); err != nil {
			return err
		}
	}
	users := []access.UserInput{
		{Email: "admin@ticks.local", Name: "Administradora", Role: domain.RoleAdmin},
		{Email: "supervisor@ticks.local", Name: "Supervisor Centro", Role: domain.RoleSupervisor, Subaccounts: []int64{centro}},
		{Email: "viewer@ticks.local", Name: "Analista Online", Role: domain.RoleViewer, Subaccounts: []int64{online}, Lang: "en"},
		{Email: "atendimento.centro@ticks.local", Name: "Beatriz Atendimento", Role: domain.RoleAgent, Subaccounts: []int64{centro}},
		{Email: "atendimento.online@ticks.local", Name: "Caio Atendimento", Role: domain.RoleAgent, Subaccounts: []int64{online}},
	}
	for _, in := range users {
		in.Password = state.Password
		if _, err := svc.Access.CreateUser(ctx, admin, in); err != nil {
			return err
		}
	}
	tok, err := svc.Access.CreateToken(ctx, admin, access.TokenInput{Name: "demo", Role: domain.RoleSupervisor, SubaccountID: centro})
	if err != nil {
		return err
	}
	state.APIToken = tok.Token
	// The store's integration sends order updates and codes; its secret
	// lives in the integration, not here.
	if _, err := svc.Access.CreateToken(ctx, admin, access.TokenInput{Name: integrationToken, Role: domain.RoleSupervisor,
		SubaccountID: online}); err != nil {
		return err
	}
	for _, sa := range []int64{centro, online} {
		list := make([]contacts.Input, Contacts)
		for i := range list {
			list[i] = contacts.Input{Phone: Phone(i), Name: Name(i), CorrelationID: fmt.Sprintf("CLI-%05d", i)}
		}
		if _, err := svc.Contacts.Add(ctx, admin, sa, list); err != nil {
			return err
		}
		for i := 0; i < Contacts; i += 40 { // a few asked to stop
			found, err := svc.Contacts.List(ctx, &access.Principal{Role: domain.RoleAdmin, Scope: []int64{sa}}, contacts.ListFilter{Phone: Phone(i)})
			if err != nil {
				return err
			}
			if len(found) != 1 {
				return fmt.Errorf("demo contact %s: %d found", Phone(i), len(found))
			}
			if _, err := svc.Contacts.SetOptOut(ctx, admin, found[0].ID, true); err != nil {
				return err
			}
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// RouterNames and MenuBotNames name the demo's bots, Varejo Centro's first.
var (
	RouterNames  = []string{"Roteador Varejo Centro", "Roteador Loja Online"}
	MenuBotNames = []string{"Menu de autoatendimento Centro", "Menu de autoatendimento Online"}
)

// integrationToken names Loja Online's API token.
const integrationToken = "integracao-loja"
