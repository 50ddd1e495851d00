// Command ticks is the ticks server and its tools: serve, migrate, admin,
// ingest replay and bench. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/jobs"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

const usage = `ticks — WhatsApp Business messaging and reporting

Usage:
  ticks demo [flags]             run everything locally: SQLite, a simulated WhatsApp, traffic
  ticks serve [flags]            run the server (webhooks, API, UI)
  ticks simulator [flags]        run the Cloud API simulator alone
  ticks migrate [flags]          apply database migrations and exit
  ticks admin <what> <verb> ...  manage subaccounts, users, tokens, channels
  ticks ingest replay [flags]    apply every stored webhook again
  ticks bench ingest [flags]     measure webhook ingestion
  ticks version                  print the version

Every command takes the configuration flags; run "ticks serve -h" to list
them with their environment variables.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "ticks:", cliMessage(err))
		}
		os.Exit(2)
	}
}

var errUsage = errors.New("usage")

// cliMessage is the one place errors become CLI messages.
func cliMessage(err error) string {
	if code := domain.ErrorCode(err); code != domain.EINTERNAL {
		return domain.ErrorMessage(err)
	}
	return err.Error()
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:])
	case "demo":
		return runDemo(ctx, args[1:], out)
	case "simulator":
		return simulatorCmd(ctx, args[1:], out)
	case "migrate":
		return migrate(ctx, args[1:], out)
	case "admin":
		return admin(ctx, args[1:], out)
	case "ingest":
		return ingestCmd(ctx, args[1:], out)
	case "bench":
		return benchCmd(ctx, args[1:], out)
	case "version", "-version", "--version":
		fmt.Fprintln(out, "ticks", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprintf(os.Stderr, "ticks: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

func loadConfig(args []string) (*config.Config, error) {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return nil, err
	}
	setupLogging(cfg)
	return cfg, nil
}

func setupLogging(cfg *config.Config) {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	slog.SetDefault(slog.New(h))
}

func serve(ctx context.Context, args []string) error {
	cfg, err := loadConfig(args)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if cfg.WAAppSecret == "" {
		slog.Warn("TICKS_WA_APP_SECRET is not set: webhooks will be refused until it is")
	}
	return srv.Run(ctx, ln)
}

func openStore(ctx context.Context, args []string) (*store.Store, *config.Config, error) {
	cfg, err := loadConfig(args)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, server.DSN(cfg), server.StoreOptions(cfg)...)
	if err != nil {
		return nil, nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	if err := jobs.Migrate(ctx, st); err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, cfg, nil
}

func migrate(ctx context.Context, args []string, out io.Writer) error {
	st, _, err := openStore(ctx, args)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(out, "database migrated (%s)\n", st.Dialect())
	return nil
}

func ingestCmd(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "replay" {
		return fmt.Errorf("usage: ticks ingest replay [flags]")
	}
	st, _, err := openStore(ctx, args[1:])
	if err != nil {
		return err
	}
	defer st.Close()
	stats, err := st.InboxStats(ctx)
	if err != nil {
		return err
	}
	if err := st.SetCursor(ctx, 0); err != nil {
		return err
	}
	fmt.Fprintf(out, "replay scheduled: stored webhooks up to #%d will be applied again by the running (or next) server\n", stats.LastID)
	return nil
}
