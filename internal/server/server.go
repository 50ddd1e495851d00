// Package server wires ticks together: storage, webhook ingestion, the REST
// API and the operational endpoints, with a clean start and shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/api"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/campaigns"
	"github.com/ticksapp/ticks/internal/channels"
	"github.com/ticksapp/ticks/internal/cloudapi"
	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/contacts"
	"github.com/ticksapp/ticks/internal/desk"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/ingest"
	"github.com/ticksapp/ticks/internal/jobs"
	"github.com/ticksapp/ticks/internal/live"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/tracking"
	"github.com/ticksapp/ticks/internal/web"
)

// Server is a running ticks: its store, ingest components and HTTP handler.
type Server struct {
	Config    *config.Config
	Store     *store.Store
	Inbox     *ingest.Inbox
	Processor *ingest.Processor
	Registry  *prometheus.Registry
	Handler   http.Handler
	Pipeline  *send.Pipeline
	Expirer   *send.Expirer
	Services  Services
	// Jobs runs the background work every capability registered (River).
	Jobs *jobs.Client
	// Live tells open pages that what they show changed.
	Live *live.Hub
	// DeskRouter turns contacts' messages into tickets and runs the desk's
	// queue.
	DeskRouter *desk.Router
	// Health is whether the store can write, as ingestion finds it: while
	// it cannot, webhooks get 503 and /readyz fails.
	Health *ingest.Health
	// EventFolder moves recorded event tracks from the intake into the
	// events and the reports' counts.
	EventFolder *tracking.Folder
}

// Services are the capabilities' services, built once and called by the
// API, the web pages and the demo alike.
type Services struct {
	Access   *access.Service
	Channels *channels.Service
	Contacts *contacts.Service
	Send     *send.Service
	Reports  *reports.Service
	Ingest   *ingest.Admin
	Tracking *tracking.Service
	Billing  *billing.Service
	Desk     *desk.Service
	Extracts *extracts.Service
	// Campaigns creates, dispatches (as jobs) and reports campaigns.
	Campaigns *campaigns.Service
}

// DSN returns the database the configuration names.
func DSN(cfg *config.Config) string {
	if cfg.Dialect() == "postgres" {
		return cfg.DatabaseURL
	}
	return cfg.SQLitePath()
}

// StoreOptions are the store options the configuration asks for.
func StoreOptions(cfg *config.Config) []store.Option {
	if cfg.SQLiteSync == "" {
		return nil
	}
	return []store.Option{store.WithSQLiteSync(cfg.SQLiteSync)}
}

// New opens and migrates the database and builds the server.
func New(ctx context.Context, cfg *config.Config) (*Server, error) {
	st, err := store.Open(ctx, DSN(cfg), StoreOptions(cfg)...)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := jobs.Migrate(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	s := &Server{Config: cfg, Store: st, Registry: prometheus.NewRegistry(), Live: live.New()}
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := ingest.NewMetrics(s.Registry)
	s.Inbox = ingest.NewInbox(st, m)
	s.Processor = ingest.NewProcessor(st, m, s.Inbox.Stored())
	s.Processor.TakeHandoff(s.Inbox)
	s.Health = ingest.NewHealth(m)
	s.Processor.Health = s.Health

	var box *secret.Box
	if cfg.SecretKey != "" {
		if box, err = secret.NewBox(cfg.SecretKey); err != nil {
			st.Close()
			return nil, fmt.Errorf("TICKS_SECRET_KEY: %w", err)
		}
	}
	if len(cfg.OptOutKeywords) > 0 {
		st.OptOutKeywords = cfg.OptOutKeywords
	}
	provider := cloudapi.New(cfg.WAAPIBase)
	s.Pipeline = send.New(st, provider, box)
	chans := &channels.Service{Store: st, Box: box, Provider: provider}
	s.Services = Services{
		Access:   access.New(st, cfg.AdminToken, cfg.DemoAdminToken),
		Channels: chans,
		Contacts: &contacts.Service{Store: st},
		Send:     &send.Service{Pipeline: s.Pipeline, Channels: chans},
		Reports:  reports.New(st, cfg.Location()),
		Ingest:   &ingest.Admin{Store: st, Replay: s.Processor.Replay},
		Tracking: tracking.New(st, cfg.Location()),
		Billing:  billing.New(st, cfg.Location()),
		Extracts: extracts.New(st, extractionsDir(cfg), cfg.Location()),
	}
	if cfg.ExtractionKeep > 0 {
		s.Services.Extracts.Keep = cfg.ExtractionKeep
	}
	s.Services.Extracts.CompressAbove = cfg.ExtractionCompressAbove
	s.Services.Extracts.WebhookURL = cfg.ExtractionWebhook
	s.Services.Extracts.StaleAfter = cfg.ExtractionStaleAfter
	if cfg.SMTPAddr != "" {
		if cfg.SMTPFrom == "" {
			st.Close()
			return nil, fmt.Errorf("TICKS_SMTP_ADDR: set TICKS_SMTP_FROM too, the e-mails' sender")
		}
		s.Services.Extracts.Mail = &extracts.Mailer{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword}
	}
	if cfg.ExtractionS3 != "" {
		bucket, err := extracts.NewS3Storage(cfg.ExtractionS3, cfg.ExtractionS3AccessKey, cfg.ExtractionS3SecretKey, nil)
		if err == nil {
			err = bucket.Check(ctx)
		}
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("TICKS_EXTRACTION_S3: %w", err)
		}
		s.Services.Extracts.Storage = bucket
	}
	s.Services.Desk = desk.New(st, s.Services.Send)
	s.Services.Desk.Location = cfg.Location()
	s.Services.Desk.Events = desk.HubEvents{Hub: s.Live, Store: st}
	s.DeskRouter = desk.NewRouter(s.Services.Desk)
	s.EventFolder = tracking.NewFolder(s.Services.Tracking)
	s.Processor.OnApply = s.DeskRouter.Wake
	if s.Services.Billing.Rates, err = billing.LoadRateCard(cfg.RateCard); err != nil {
		st.Close()
		return nil, fmt.Errorf("TICKS_RATE_CARD: %w", err)
	}
	if err := s.Services.Billing.KeepDays(ctx); err != nil {
		st.Close()
		return nil, err
	}
	s.Services.Campaigns = &campaigns.Service{Store: st, Pipeline: s.Pipeline, Live: s.Live}
	ttl := cfg.MessageTTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	s.Expirer = &send.Expirer{Store: st, TTL: ttl, Every: min(time.Minute, ttl/4)}

	// Background work: each capability registers its workers and periodic
	// jobs here (jobs.Register(reg, worker)), then gets the client to
	// enqueue with.
	reg := jobs.NewRegistry()
	extracts.Register(reg, s.Services.Extracts)
	jobs.Register(reg, &desk.AbandonWorker{Desk: s.Services.Desk})
	reg.Periodic(time.Minute, func() river.JobArgs { return desk.AbandonArgs{} })
	s.Services.Campaigns.Register(reg)
	if cfg.WAAPIBase != "" { // nothing to ask Meta with otherwise (a bench's server)
		s.Services.Billing.Meta, s.Services.Billing.Token = provider, chans.AccessToken
	}
	s.Services.Billing.Register(reg)
	if s.Jobs, err = jobs.New(ctx, st, reg, jobs.Options{}); err != nil {
		st.Close()
		return nil, err
	}
	s.Services.Extracts.UseJobs(s.Jobs)
	s.Services.Campaigns.Jobs = s.Jobs
	mux := http.NewServeMux()
	wh := &ingest.Handler{Inbox: s.Inbox, Metrics: m, AppSecret: []byte(cfg.WAAppSecret),
		VerifyToken: cfg.WAVerifyToken, MaxBytes: int64(cfg.WebhookMaxBytes), Health: s.Health}
	mux.HandleFunc("GET /webhooks/whatsapp", wh.Verify)
	mux.HandleFunc("POST /webhooks/whatsapp", wh.Receive)
	locks := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ticks_auth_locks_total",
		Help: "Authentication locks: an address (or account) that failed too often, by kind (login, token)."}, []string{"kind"})
	s.Registry.MustRegister(locks)
	logLock := s.Services.Access.Throttle.OnLock
	s.Services.Access.Throttle.OnLock = func(kind string, keys []string, wait time.Duration) {
		locks.WithLabelValues(kind).Inc()
		logLock(kind, keys, wait)
	}
	svc := s.Services
	(&api.Handler{Access: svc.Access, Channels: svc.Channels, Contacts: svc.Contacts, Send: svc.Send,
		Reports: svc.Reports, Ingest: svc.Ingest, Tracking: svc.Tracking, Billing: svc.Billing,
		Extracts: svc.Extracts, Desk: svc.Desk, Campaigns: svc.Campaigns}).Routes(mux)
	ui, err := web.New(web.Services{Access: svc.Access, Channels: svc.Channels, Reports: svc.Reports, Billing: svc.Billing,
		Tracking: svc.Tracking, Extracts: svc.Extracts, Desk: svc.Desk, Live: s.Live, Campaigns: svc.Campaigns}, cfg.Location())
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("web templates: %w", err)
	}
	ui.Routes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	s.Handler = respond.WithRequestID(mux)
	return s, nil
}

// extractionsDir is where the report manager writes its files: the data
// folder's extractions/, or beside a SQLite database named without one.
func extractionsDir(cfg *config.Config) string {
	if cfg.DataDir == "" && cfg.Dialect() == config.DialectSQLite && cfg.DatabaseURL != "" {
		return filepath.Join(filepath.Dir(cfg.SQLitePath()), "extractions")
	}
	dir := cfg.DataDir
	if dir == "" {
		dir = "./ticks-data"
	}
	return filepath.Join(dir, "extractions")
}

// ready answers 200 when the database answers and can write.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if o, failing := s.Health.Failing(); failing {
		respond.JSON(w, http.StatusServiceUnavailable, map[string]any{"status": "store cannot write",
			"since": o.Since.UTC(), "failed_writes": o.Attempts, "cause": o.Cause})
		return
	}
	if err := s.Store.Ping(ctx); err != nil {
		respond.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	st, err := s.Store.InboxStats(ctx)
	if err != nil {
		respond.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"status": "ready", "inbox_pending": st.Pending(),
		"inbox_last_id": st.LastID, "inbox_applied_id": st.Applied})
}

// Run serves on ln until ctx is done, then shuts down in the order that
// loses nothing: stop taking requests and finish those in flight (each
// waits for its inbox commit), then let the background jobs in flight
// finish (they may send, which needs the rest), then stop the inbox, then
// the processor.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	inboxCtx, stopInbox := context.WithCancel(context.Background())
	procCtx, stopProc := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.Inbox.Run(inboxCtx) }()
	go func() {
		defer wg.Done()
		if err := s.Processor.Run(procCtx); err != nil {
			slog.Error("ingest processor stopped", slog.Any("err", err))
		}
	}()
	go s.pruneInbox(procCtx)
	go s.Expirer.Run(procCtx)
	jobsCtx, stopJobs := context.WithCancel(context.Background())
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		if err := s.Jobs.Run(jobsCtx, 10*time.Second); err != nil {
			slog.Error("background jobs stopped", slog.Any("err", err))
		}
	}()
	wg.Add(2)
	go func() { defer wg.Done(); s.DeskRouter.Run(procCtx) }()
	go func() { defer wg.Done(); s.EventFolder.Run(procCtx) }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	slog.Info("ticks listening", slog.String("addr", ln.Addr().String()), slog.String("database", string(s.Store.Dialect())))
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if e := srv.Shutdown(shutCtx); e != nil && err == nil {
		err = e
	}
	stopJobs()
	<-jobsDone
	stopInbox()
	stopProc()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// pruneInbox deletes applied webhook bodies past the retention period, once
// an hour.
func (s *Server) pruneInbox(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.Store.PruneInbox(ctx, time.Now().Add(-s.Config.InboxRetention)); err != nil && ctx.Err() == nil {
			slog.Warn("prune inbox", slog.Any("err", err))
		} else if n > 0 {
			slog.Info("pruned inbox", slog.Int64("rows", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close closes the background jobs' connections and the store.
func (s *Server) Close() error {
	s.Jobs.Close()
	return s.Store.Close()
}
