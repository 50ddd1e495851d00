package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/api"
	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store"
)

// demoState is what the demo keeps between runs, in <data-dir>/demo.json,
// so a restart resumes with the same secrets, logins and data.
type demoState struct {
	AppSecret   string `json:"app_secret"`
	SecretKey   string `json:"secret_key"`
	AdminToken  string `json:"admin_token"`
	Password    string `json:"password"`
	APIToken    string `json:"api_token"` // a supervisor token of the first subaccount
	Seeded      bool   `json:"seeded"`
	SimulatorID uint64 `json:"simulator_seed"`
	// Runs counts the demo's starts: each gives the simulator a run of its
	// own, so a resumed demo does not make the wamids of an earlier run.
	Runs uint64 `json:"runs"`
}

// The demo's business numbers: Meta's documentation ids for the first, made
// up for the others.
var demoPhones = []simulator.Phone{
	{PhoneNumberID: "106540352242922", DisplayPhone: "15550783881", WABAID: "102290129340398", AccessToken: "demo-token-centro", VerifiedName: "Varejo Centro"},
	{PhoneNumberID: "106540352242923", DisplayPhone: "15550783882", WABAID: "102290129340399", AccessToken: "demo-token-online", VerifiedName: "Loja Online"},
	{PhoneNumberID: "106540352242924", DisplayPhone: "15550783883", WABAID: "102290129340399", AccessToken: "demo-token-aquecimento", VerifiedName: "Loja Online (aquecimento)"},
}

const demoContacts = 300

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func loadDemoState(dir string) (*demoState, error) {
	path := filepath.Join(dir, "demo.json")
	st := &demoState{}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("%s is damaged (%v): remove the folder to start over", path, err)
		}
		return st, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	st = &demoState{AppSecret: randomHex(16), SecretKey: randomHex(24), AdminToken: "tk_admin_" + randomHex(16),
		Password: "ticks-demo-" + randomHex(3), SimulatorID: mrand.Uint64() % 1_000_000}
	return st, st.save(dir)
}

func (st *demoState) save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	return os.WriteFile(filepath.Join(dir, "demo.json"), b, 0o600)
}

// demo runs the whole product locally: SQLite, the simulator in place of
// Meta, seeded data and continuous traffic.
func demo(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticks demo", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	addr := fs.String("addr", envOr("TICKS_ADDR", "127.0.0.1:8080"), "listen address of the web app and API")
	dir := fs.String("data-dir", envOr("TICKS_DATA_DIR", "ticks-demo"), "folder of the demo's database and state")
	rate := fs.Float64("rate", 5, "messages the traffic generator sends per second (0 stops it)")
	ttl := fs.Duration("message-ttl", 30*time.Second, "undelivered messages expire (ttl_expired) after this long")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	state, err := loadDemoState(*dir)
	if err != nil {
		return err
	}
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		return err
	}
	cfg.Addr, cfg.DataDir = *addr, *dir
	cfg.DatabaseURL = filepath.Join(*dir, "ticks.db")
	cfg.WAAppSecret, cfg.SecretKey, cfg.AdminToken = state.AppSecret, state.SecretKey, state.AdminToken
	cfg.WAVerifyToken, cfg.MessageTTL = "ticks-demo", *ttl
	setupLogging(cfg)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with -addr)", cfg.Addr, err)
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	webhookURL := "http://" + ln.Addr().String() + "/webhooks/whatsapp"
	cfg.WAAPIBase = "http://" + simLn.Addr().String() + "/v23.0"
	mix := simulator.DefaultOutcomes()
	mix.Failed, mix.Read, mix.Delivered = 0.16, 0.52, 0.22 // the rest stays "sent" and expires
	mix.FailureCodes = []int{131026, 131026, 131049, 130472, 131050, 131000, 131016, 132015, 132000, 135000, 131053}
	mix.OptOut = 0.03
	state.Runs++
	if err := state.save(*dir); err != nil {
		return err
	}
	sim := simulator.NewServer(simulator.Config{Seed: state.SimulatorID, Run: state.Runs, WebhookURL: webhookURL,
		AppSecret: []byte(state.AppSecret), Phones: demoPhones, Mix: mix, Contacts: demoContacts,
		Logger: slog.Default()})
	defer sim.Close()

	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	if !state.Seeded {
		if err := seedDemo(ctx, srv, state); err != nil {
			return fmt.Errorf("seed the demo: %w", err)
		}
		state.Seeded = true
		if err := state.save(*dir); err != nil {
			return err
		}
	}

	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	simSrv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	wg.Add(3)
	go func() { defer wg.Done(); simSrv.Serve(simLn) }()
	go func() { defer wg.Done(); sim.Run(runCtx) }()
	var runErr error
	go func() { defer wg.Done(); runErr = srv.Run(runCtx, ln); cancel() }()
	if err := syncDemoTemplates(runCtx, srv); err != nil {
		return err
	}
	gen := &trafficGen{srv: srv, sim: sim, rate: *rate}
	wg.Add(1)
	go func() { defer wg.Done(); gen.run(runCtx) }()

	fmt.Fprintf(out, `
  ticks demo is running — WhatsApp is simulated, nothing leaves this machine.

    Web app    http://%s
    Login      admin@ticks.local  /  %s
    API token  %s   (admin; a supervisor token of "Varejo Centro": %s)
    Try        curl -H "Authorization: Bearer %s" "http://%s/api/v1/reports/messages?limit=5"
    Data       %s   (delete it to start over)

  Traffic: %.1f messages/s. Ctrl-C stops; running it again resumes.

`, ln.Addr(), state.Password, state.AdminToken, state.APIToken, state.AdminToken, ln.Addr(), *dir, *rate)

	<-runCtx.Done()
	cancel()
	simSrv.Close()
	wg.Wait()
	return runErr
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// seedDemo creates the organization's data once: subaccounts, channels,
// users, tokens, contacts and a few opt-outs.
func seedDemo(ctx context.Context, srv *server.Server, state *demoState) error {
	st := srv.Store
	admin := &api.Principal{Role: domain.RoleAdmin}
	centro := &domain.Subaccount{Name: "Varejo Centro"}
	online := &domain.Subaccount{Name: "Loja Online"}
	for _, sa := range []*domain.Subaccount{centro, online} {
		if err := st.CreateSubaccount(ctx, sa); err != nil {
			return err
		}
	}
	box, err := secret.NewBox(state.SecretKey)
	if err != nil {
		return err
	}
	h := &api.Handler{Box: box}
	channels := []struct {
		sa   int64
		name string
		tier string
	}{{centro.ID, "Varejo Centro", "TIER_10K"}, {online.ID, "Loja Online", "TIER_250"}, {online.ID, "Loja Online — aquecimento", "TIER_250"}}
	for i, c := range channels {
		ph := demoPhones[i]
		ch, err := h.NewChannel(admin, &api.ChannelInput{SubaccountID: c.sa, Name: c.name, WABAID: ph.WABAID,
			PhoneNumberID: ph.PhoneNumberID, DisplayPhone: "+" + ph.DisplayPhone, AccessToken: ph.AccessToken, Tier: c.tier})
		if err != nil {
			return err
		}
		if err := st.CreateChannel(ctx, ch); err != nil {
			return err
		}
		switch i {
		case 0: // free-form outside a session falls back to a template
			ch.FallbackTemplate, ch.FallbackLanguage = "lembrete_pagamento", "pt_BR"
		case 2: // a number warming up: only the program's sends go
			until := time.Now().AddDate(0, 0, 30)
			ch.WarmupUntil, ch.WarmupDailyLimit = &until, 500
		}
		if err := st.UpdateChannelSettings(ctx, ch); err != nil {
			return err
		}
	}
	users := []api.UserInput{
		{Email: "admin@ticks.local", Name: "Administradora", Role: domain.RoleAdmin},
		{Email: "supervisor@ticks.local", Name: "Supervisor Centro", Role: domain.RoleSupervisor, Subaccounts: []int64{centro.ID}},
		{Email: "viewer@ticks.local", Name: "Analista Online", Role: domain.RoleViewer, Subaccounts: []int64{online.ID}, Lang: "en"},
	}
	for _, in := range users {
		in.Password = state.Password
		u, err := api.NewUser(admin, &in)
		if err != nil {
			return err
		}
		if err := st.CreateUser(ctx, u); err != nil {
			return err
		}
	}
	tok, err := api.NewToken(admin, &api.TokenInput{Name: "demo", Role: domain.RoleSupervisor, SubaccountID: centro.ID})
	if err != nil {
		return err
	}
	if err := st.CreateAPIToken(ctx, &tok.APIToken); err != nil {
		return err
	}
	state.APIToken = tok.Token
	for _, sa := range []int64{centro.ID, online.ID} {
		var list []store.ContactInput
		for i := 0; i < demoContacts; i++ {
			list = append(list, store.ContactInput{Phone: demoPhone(i), Name: demoName(i),
				CorrelationID: fmt.Sprintf("CLI-%05d", i)})
		}
		if _, err := st.ImportContacts(ctx, sa, list); err != nil {
			return err
		}
		for i := 0; i < demoContacts; i += 40 { // a few asked to stop
			c, err := st.ContactByPhone(ctx, sa, demoPhone(i))
			if err != nil {
				return err
			}
			if _, err := st.SetOptOut(ctx, c.ID, nil, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncDemoTemplates fetches every channel's templates from the simulator,
// as an admin would with POST /api/v1/templates/sync.
func syncDemoTemplates(ctx context.Context, srv *server.Server) error {
	chans, err := srv.Store.Channels(ctx, nil)
	if err != nil {
		return err
	}
	for _, ch := range chans {
		if ch.SubaccountID == domain.UnassignedSubaccountID {
			continue
		}
		token, err := srv.Pipeline.Box.Open(ch.AccessTokenEnc)
		if err != nil {
			return err
		}
		list, err := srv.Pipeline.Provider.Templates(ctx, ch.WABAID, token)
		if err != nil {
			return fmt.Errorf("sync templates of %s: %w", ch.Name, err)
		}
		for i := range list {
			list[i].WABAID = ch.WABAID
		}
		if err := srv.Store.UpsertTemplates(ctx, ch.SubaccountID, list); err != nil {
			return err
		}
	}
	return nil
}

func demoPhone(i int) string { return fmt.Sprintf("+55119%08d", 80000000+i) }

var demoFirst = []string{"Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Henrique", "Isabela", "João", "Larissa", "Marcos"}
var demoLast = []string{"Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Ferreira", "Almeida", "Conceição"}

func demoName(i int) string {
	return demoFirst[i%len(demoFirst)] + " " + demoLast[(i/len(demoFirst))%len(demoLast)]
}

// trafficGen sends the demo's traffic through the real pipeline: templates
// of every category, free-form replies inside and outside sessions,
// mistakes users make (bad numbers, wrong parameters, unknown templates),
// the warm-up number, and contacts writing first.
type trafficGen struct {
	srv  *server.Server
	sim  *simulator.Server
	rate float64
	r    *mrand.Rand
}

func (g *trafficGen) run(ctx context.Context) {
	if g.rate <= 0 {
		return
	}
	g.r = mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	chans, err := g.srv.Store.Channels(ctx, nil)
	if err != nil {
		slog.Error("demo traffic", slog.Any("err", err))
		return
	}
	byPhone := map[string]*domain.Channel{}
	for i := range chans {
		byPhone[chans[i].PhoneNumberID] = &chans[i]
	}
	centro, online, warm := byPhone[demoPhones[0].PhoneNumberID], byPhone[demoPhones[1].PhoneNumberID], byPhone[demoPhones[2].PhoneNumberID]
	if centro == nil || online == nil || warm == nil {
		slog.Error("demo traffic: the demo's channels are missing; delete the data folder to start over")
		return
	}
	// A welcome campaign to every contact of Loja Online at start: its
	// 250-contact tier is reached, so the last ones are refused (tier_limit).
	go func() {
		for i := 0; i < demoContacts && ctx.Err() == nil; i++ {
			g.send(ctx, online, &send.Request{To: demoPhone(i), Type: "template",
				Template: &send.TemplateRef{Name: "pedido_enviado", Language: "pt_BR", Params: []string{demoName(i), fmt.Sprint(10000 + i), "3"}}})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	tick := time.NewTicker(time.Duration(float64(time.Second) / g.rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		g.step(ctx, centro, online, warm)
	}
}

func (g *trafficGen) step(ctx context.Context, centro, online, warm *domain.Channel) {
	r := g.r
	i := r.IntN(demoContacts)
	ch := centro
	if r.IntN(3) == 0 {
		ch = online
	}
	to, name := demoPhone(i), demoName(i)
	switch n := r.IntN(100); {
	case n < 30:
		g.send(ctx, ch, &send.Request{To: to, Type: "template", CorrelationID: fmt.Sprintf("PED-%06d", r.IntN(999999)),
			Template: &send.TemplateRef{Name: "promocao_outono", Language: "pt_BR", Params: []string{name, "OUTONO20"}}})
	case n < 45:
		g.send(ctx, ch, &send.Request{To: to, Type: "template",
			Template: &send.TemplateRef{Name: "pedido_enviado", Language: "pt_BR", Params: []string{name, fmt.Sprint(r.IntN(99999)), "5"}}})
	case n < 52:
		g.send(ctx, ch, &send.Request{To: to, Type: "template",
			Template: &send.TemplateRef{Name: "codigo_verificacao", Language: "pt_BR", Params: []string{fmt.Sprintf("%06d", r.IntN(1000000))}}})
	case n < 70: // a free-form answer: in a session, or falling back / refused outside one
		g.send(ctx, ch, &send.Request{To: to, Type: "text", Text: "Olá " + name + ", obrigado pelo contato! Como podemos ajudar?"})
	case n < 74: // a typo in the number
		g.send(ctx, ch, &send.Request{To: fmt.Sprintf("+55 11 %d", r.IntN(9999)), Type: "text", Text: "Oi!"})
	case n < 78: // wrong parameters, unknown template
		g.send(ctx, ch, &send.Request{To: to, Type: "template", Template: &send.TemplateRef{Name: "pedido_enviado", Language: "pt_BR", Params: []string{name}}})
	case n < 80:
		g.send(ctx, ch, &send.Request{To: to, Type: "template", Template: &send.TemplateRef{Name: "black_friday", Language: "pt_BR"}})
	case n < 86: // the warm-up number: the program's own sends go, others are blocked
		req := &send.Request{To: to, Type: "template", Template: &send.TemplateRef{Name: "hello_world", Language: "en_US"}}
		if r.IntN(2) == 0 {
			req.Origin = "warmup"
		}
		g.send(ctx, warm, req)
	default: // contacts writing first, some from ads
		if _, err := g.sim.GenerateInbound(simulator.Inbound{PhoneNumberID: ch.PhoneNumberID, From: to[1:]}); err != nil {
			slog.Warn("demo traffic", slog.Any("err", err))
		}
	}
}

func (g *trafficGen) send(ctx context.Context, ch *domain.Channel, req *send.Request) {
	if req.Origin == "" {
		req.Origin = "api"
	}
	if _, err := g.srv.Pipeline.Send(ctx, ch, req); err != nil && ctx.Err() == nil {
		slog.Warn("demo traffic: send failed", slog.Any("err", err))
	}
}
