package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/demo"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/simulator"
)

// runDemo runs the whole product locally: SQLite, the simulator in place of
// Meta, seeded data, 90 days of history written in the background on the
// first start, and continuous traffic.
func runDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticks demo", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	addr := fs.String("addr", envOr("TICKS_ADDR", "127.0.0.1:8080"), "listen address of the web app and API")
	dir := fs.String("data-dir", envOr("TICKS_DATA_DIR", "ticks-demo"), "folder of the demo's database and state")
	rate := fs.Float64("rate", 5, "messages the traffic generator sends per second (0 stops it)")
	ttl := fs.Duration("message-ttl", 30*time.Second, "undelivered messages expire (ttl_expired) after this long")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	state, err := demo.LoadState(*dir)
	if err != nil {
		return err
	}
	// The demo makes its own settings; of the environment it takes only an
	// admin token the user chose (TICKS_ADMIN_TOKEN or its _FILE), which it
	// accepts beside its own, as `ticks serve` would.
	cfg, err := config.Load(nil, func(name string) string {
		if name == "TICKS_ADMIN_TOKEN" || name == "TICKS_ADMIN_TOKEN_FILE" {
			return os.Getenv(name)
		}
		return ""
	})
	if err != nil {
		return err
	}
	cfg.Addr, cfg.DataDir = *addr, *dir
	cfg.DatabaseURL = filepath.Join(*dir, "ticks.db")
	cfg.WAAppSecret, cfg.SecretKey, cfg.DemoAdminToken = state.AppSecret, state.SecretKey, state.AdminToken
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
	state.Runs++
	if err := state.Save(*dir); err != nil {
		return err
	}
	simStarted := time.Now() // what was sent before, the simulator learns from the database
	sim := simulator.NewServer(simulator.Config{Seed: state.SimulatorID, Run: state.Runs, WebhookURL: webhookURL,
		AppSecret: []byte(state.AppSecret), Phones: demo.Phones, Mix: demo.Outcomes(), Contacts: demo.Contacts,
		Templates: demo.Templates("http://" + ln.Addr().String()), TemplateMix: demo.TemplateMix(),
		Logger: slog.Default()})
	defer sim.Close()

	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()

	// The simulated Cloud API answers first: seeding syncs the templates
	// from it, as an admin would.
	simSrv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go simSrv.Serve(simLn)
	defer simSrv.Close()
	if !state.Seeded {
		if err := demo.Seed(ctx, srv.Services, state); err != nil {
			return fmt.Errorf("seed the demo: %w", err)
		}
		// The history ends here: live traffic starts after it.
		state.Seeded, state.HistoryEnd = true, time.Now().UTC().Truncate(time.Second)
		if err := state.Save(*dir); err != nil {
			return err
		}
	} else if err := srv.Services.Channels.SyncAll(ctx); err != nil {
		return fmt.Errorf("sync the demo's templates: %w", err)
	}

	if !state.DeskSeeded {
		if err := demo.SeedDesk(ctx, srv.Services, state); err != nil {
			return fmt.Errorf("seed the demo's help desk: %w", err)
		}
		if err := state.Save(*dir); err != nil {
			return err
		}
	}

	if !state.CampaignsSeeded {
		if err := demo.SeedCampaigns(ctx, srv.Services, cfg.Location()); err != nil {
			return fmt.Errorf("seed the demo's campaigns: %w", err)
		}
		state.CampaignsSeeded = true
		if err := state.Save(*dir); err != nil {
			return err
		}
	}

	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); sim.Run(runCtx) }()
	var runErr error
	go func() { defer wg.Done(); runErr = srv.Run(runCtx, ln); cancel() }()
	// The history's last days go in before live traffic starts, which
	// builds on them; the rest fills in behind.
	traffic := &demo.Traffic{Services: srv.Services, Sim: sim, Rate: *rate, Desk: &demo.Desk{Services: srv.Services}}
	history := &demo.History{Services: srv.Services, DSN: server.DSN(cfg), State: state, Dir: *dir, TTL: cfg.MessageTTL}
	historyNote := ""
	switch {
	case history.Pending():
		historyNote = fmt.Sprintf("\n    History    %d days before %s, being written in the background: the report fills in",
			demo.HistoryDays, state.HistoryEnd.Local().Format("2006-01-02 15:04"))
	case state.HistoryDone:
		historyNote = fmt.Sprintf("\n    History    %d days before %s", demo.HistoryDays, state.HistoryEnd.Local().Format("2006-01-02 15:04"))
	}
	// Simulated contacts tap the link buttons whose clicks ticks counts.
	clicker := &demo.Clicker{Services: srv.Services, Base: "http://" + ln.Addr().String()}
	wg.Add(1)
	go func() { defer wg.Done(); clicker.Run(runCtx) }()
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := history.Run(runCtx, func() {
			wg.Add(1)
			go func() { defer wg.Done(); traffic.Run(runCtx) }()
		})
		if err != nil {
			if runCtx.Err() == nil {
				slog.Error("the demo's history stopped; it resumes on the next start", slog.Any("err", err))
			}
			return
		}
		// The consumption report: Meta's figures for the history, and budgets.
		if err := demo.Reconcile(runCtx, srv.Services, sim, state, simStarted); err != nil && runCtx.Err() == nil {
			slog.Error("the demo's reconciliation with the simulated Meta failed", slog.Any("err", err))
		}
		if err := demo.SeedBudgets(runCtx, srv.Services, state); err != nil && runCtx.Err() == nil {
			slog.Error("the demo's budgets", slog.Any("err", err))
		} else if err := state.Save(*dir); err != nil {
			slog.Error("the demo's state", slog.Any("err", err))
		}
	}()

	fmt.Fprintf(out, `
  ticks demo is running — WhatsApp is simulated, nothing leaves this machine.

    Web app    http://%s
    Login      admin@ticks.local  /  %s
    API token  %s   (admin; a supervisor token of "Varejo Centro": %s)
    Try        curl -H "Authorization: Bearer %s" "http://%s/api/v1/reports/messages?limit=5"
    Data       %s   (delete it to start over)%s
    Help desk  agents %s, supervisor@ticks.local (Varejo Centro), same password

  Traffic: %.1f messages/s. Ctrl-C stops; running it again resumes.

`, ln.Addr(), state.Password, state.AdminToken, state.APIToken, state.AdminToken, ln.Addr(), *dir, historyNote, deskLogins(), *rate)
	if cfg.AdminToken != "" {
		fmt.Fprintf(out, "  Your TICKS_ADMIN_TOKEN is accepted too, with admin rights.\n\n")
	}

	<-runCtx.Done()
	cancel()
	wg.Wait()
	return runErr
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// deskLogins lists the demo's agents' logins.
func deskLogins() string {
	var out []string
	for _, a := range demo.DeskAgents {
		out = append(out, a.Email)
	}
	return strings.Join(out, ", ")
}
