package bench

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/campaigns"
	"github.com/ticksapp/ticks/internal/cloudapi"
	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store"
)

// CampaignOptions configure a campaigns benchmark.
type CampaignOptions struct {
	DatabaseURL string
	Rows        int // audience rows
	Parallel    int // sends of the campaign in flight at once (dispatch)
	Requests    int // page loads (page)
	CPUProfile  string
	// Phones is how the audience writes its numbers: "e164"
	// (+5511987654321, the default) or "national" ((11) 98765-4321, as
	// a Brazilian spreadsheet does).
	Phones string
}

// Download is one timed messages download of a campaign.
type Download struct {
	Format  string
	Rows    int   // data rows in the file
	Sent    int   // rows with their message's sent time
	Bytes   int64 // the file's size
	Elapsed time.Duration
	CPU     time.Duration // the process's CPU time during the download
	PeakRSS int64         // the process's high-water mark during the download
}

// CampaignResult is what a campaigns benchmark measured.
type CampaignResult struct {
	Mode    string
	Rows    int
	Elapsed time.Duration
	CPU     time.Duration // the process's CPU time (user and system) during the measured part
	// PostgresCPU is every PostgreSQL process's CPU time on this machine
	// during the measured part (import, on PostgreSQL).
	PostgresCPU time.Duration
	PeakRSS     int64 // bytes, the process's high-water mark during the measured part
	Sent        int
	Refused     int
	InFlight    int             // dispatch: sends in flight at once
	Loads       []time.Duration // page: each load, sorted
	Messages    int             // page: the campaign's messages
	Setup       time.Duration   // page: writing the campaign's messages
	Download    time.Duration   // dispatch: the campaign's messages download (every row, CSV) after it
	// Downloads are the page benchmark's messages downloads, CSV and XLSX.
	Downloads []Download
	Failures  []store.CampaignFailure
}

// benchAudience writes an audience of n rows for promocao_outono to a file
// (phone, name, correlation ID, two variables), streamed.
func benchAudience(path string, n int, phones string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("telefone;nome;correlation_id;var1;var2\n")
	for i := range n {
		area, number := 11+i/90_000_000%80, 10_000_000+i%90_000_000
		if phones == "national" {
			fmt.Fprintf(w, "(%02d) 9%04d-%04d", area, number/10_000, number%10_000)
		} else {
			fmt.Fprintf(w, "+55%02d9%08d", area, number)
		}
		fmt.Fprintf(w, ";Cliente %d;C-%07d;Cliente %d;CUPOM%d\n", i, i, i, i%1000)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// campaignWorld is a server (not running: no River, no HTTP listener) on
// a fresh database with one subaccount and a channel of the simulator
// without a throughput cap.
type campaignWorld struct {
	srv     *server.Server
	sim     *simulator.Server
	api     *httptest.Server
	channel *domain.Channel
	dir     string
	cleanup []func()
}

func (w *campaignWorld) close() {
	for i := len(w.cleanup) - 1; i >= 0; i-- {
		w.cleanup[i]()
	}
}

func newCampaignWorld(ctx context.Context, dsn string) (*campaignWorld, error) {
	w := &campaignWorld{}
	dir, err := os.MkdirTemp("", "ticks-bench-campaign-")
	if err != nil {
		return nil, err
	}
	w.dir = dir
	w.cleanup = append(w.cleanup, func() { os.RemoveAll(dir) })
	phone := simulator.Phone{PhoneNumberID: "106540352242922", DisplayPhone: "15550783881", WABAID: "102290129340398", AccessToken: "bench-token"}
	w.sim = simulator.NewServer(simulator.Config{Seed: 1, Phones: []simulator.Phone{phone}, Throughput: 1_000_000, Mix: simulator.Outcomes{Read: 1}})
	w.api = httptest.NewServer(w.sim.Handler())
	w.cleanup = append(w.cleanup, func() { w.api.Close(); w.sim.Close() })
	const key = "bench-secret-key-0123456789"
	cfg := &config.Config{DatabaseURL: dsn, DataDir: dir, WAAppSecret: benchSecret, AdminToken: "bench-admin-token-0123456789",
		SecretKey: key, WebhookMaxBytes: 1 << 20, InboxRetention: 24 * time.Hour, WAAPIBase: w.api.URL + "/v23.0"}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = filepath.Join(dir, "bench.db")
	}
	if cfg.Dialect() == config.DialectPostgres {
		url, drop, err := freshSchema(ctx, cfg.DatabaseURL)
		if err != nil {
			w.close()
			return nil, err
		}
		w.cleanup = append(w.cleanup, drop)
		cfg.DatabaseURL = url
	}
	if w.srv, err = server.New(ctx, cfg); err != nil {
		w.close()
		return nil, err
	}
	w.cleanup = append(w.cleanup, func() { w.srv.Close() })
	sa, err := w.srv.Services.Access.CreateSubaccount(ctx, access.System(), access.SubaccountInput{Name: "Bench"})
	if err != nil {
		w.close()
		return nil, err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		w.close()
		return nil, err
	}
	sealed, _ := box.Seal(phone.AccessToken)
	// Straight into the store: the API caps a channel at Meta's 1,000
	// messages/s, and this measures ticks without a cap.
	w.channel = &domain.Channel{SubaccountID: sa.ID, Name: "Bench", WABAID: phone.WABAID, PhoneNumberID: phone.PhoneNumberID,
		AccessTokenEnc: sealed, Tier: "TIER_UNLIMITED", ThroughputMPS: 1_000_000}
	if err := w.srv.Store.CreateChannel(ctx, w.channel); err != nil {
		w.close()
		return nil, err
	}
	if err := w.srv.Services.Channels.SyncAll(ctx); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// create imports an audience of rows from a file into a draft campaign.
func (w *campaignWorld) create(ctx context.Context, rows int, phones string, measure func(run func() error) error) (*campaigns.Created, error) {
	path := filepath.Join(w.dir, "audience.csv")
	if err := benchAudience(path, rows, phones); err != nil {
		return nil, err
	}
	var created *campaigns.Created
	err := measure(func() error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		created, err = w.srv.Services.Campaigns.Create(ctx, access.System(), campaigns.CreateInput{Name: "Bench " + strconv.Itoa(rows),
			ChannelID: w.channel.ID, Template: "promocao_outono", Language: "pt_BR", Audience: f})
		return err
	})
	if err == nil && created.Audience.Valid != rows {
		err = fmt.Errorf("%d of %d rows valid; first errors %v", created.Audience.Valid, rows, created.Audience.Errors[:min(3, len(created.Audience.Errors))])
	}
	return created, err
}

// CampaignImport measures an audience's import: a CSV of o.Rows rows
// parsed, validated (phones normalised, duplicates, opt-outs) and stored
// as a draft, and the process's peak RSS while it runs.
func CampaignImport(ctx context.Context, o CampaignOptions) (*CampaignResult, error) {
	w, err := newCampaignWorld(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer w.close()
	res := &CampaignResult{Mode: "import", Rows: o.Rows}
	_, err = w.create(ctx, o.Rows, o.Phones, func(run func() error) error {
		stop, err := StartCPUProfile(o.CPUProfile)
		if err != nil {
			return err
		}
		resetPeakRSS()
		t0, cpu0, pg0 := time.Now(), cpuTime(), postgresCPU()
		err = run()
		res.Elapsed, res.CPU, res.PeakRSS = time.Since(t0), cpuTime()-cpu0, peakRSS()
		if strings.HasPrefix(o.DatabaseURL, "postgres") {
			res.PostgresCPU = postgresCPU() - pg0
		}
		stop()
		return err
	})
	return res, err
}

// CampaignDispatch measures a campaign's dispatch: o.Rows rows sent
// through the whole send pipeline (every check, the store, the Cloud API
// client) to the simulator over loopback HTTP, without a throughput cap,
// as its River job does.
func CampaignDispatch(ctx context.Context, o CampaignOptions) (*CampaignResult, error) {
	w, err := newCampaignWorld(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer w.close()
	c, err := w.create(ctx, o.Rows, o.Phones, func(run func() error) error { return run() })
	if err != nil {
		return nil, err
	}
	// Meta allows a number 1,000 messages/s, and the Cloud API client paces
	// each number to that at most. The benchmark measures ticks without a
	// cap: the pipeline's sends are spread over four clients, each pacing
	// the number at 1,000/s, to the simulator (which does not throttle).
	box, err := secret.NewBox(w.srv.Config.SecretKey)
	if err != nil {
		return nil, err
	}
	spread := &spreadProvider{}
	for range 4 {
		c := cloudapi.New(w.srv.Config.WAAPIBase)
		if err := c.SetThroughput(w.channel.PhoneNumberID, cloudapi.MaxThroughput); err != nil {
			return nil, err
		}
		spread.clients = append(spread.clients, c)
	}
	svc := &campaigns.Service{Store: w.srv.Store, Pipeline: send.New(w.srv.Store, spread, box), Parallel: o.Parallel}
	if _, err := svc.Start(ctx, access.System(), c.Campaign.ID); err != nil {
		return nil, err
	}
	res := &CampaignResult{Mode: "dispatch", Rows: o.Rows, InFlight: o.Parallel}
	if res.InFlight == 0 {
		res.InFlight = campaigns.InFlight(w.channel.ThroughputMPS)
	}
	stop, err := StartCPUProfile(o.CPUProfile)
	if err != nil {
		return nil, err
	}
	defer stop()
	resetPeakRSS()
	t0, cpu0 := time.Now(), cpuTime()
	for {
		done, err := svc.DispatchFor(ctx, c.Campaign.ID, time.Minute)
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
	}
	res.Elapsed, res.CPU, res.PeakRSS = time.Since(t0), cpuTime()-cpu0, peakRSS()
	cur, err := w.srv.Store.Campaign(ctx, c.Campaign.ID)
	if err != nil {
		return nil, err
	}
	if cur.Status != domain.CampaignCompleted || cur.Processed != o.Rows {
		return nil, fmt.Errorf("after the dispatch the campaign is %s with %d of %d rows processed", cur.Status, cur.Processed, o.Rows)
	}
	d, err := svc.Detail(ctx, access.System(), c.Campaign.ID)
	if err != nil {
		return nil, err
	}
	res.Sent, res.Refused, res.Failures = o.Rows-int(d.Counters.Failed), int(d.Counters.Failed), d.Failures
	// The messages download: each row's message found by its idempotency key.
	t0 = time.Now()
	cols, rows, err := svc.MessagesExport(ctx, access.System(), c.Campaign.ID, "pt-BR", time.UTC)
	if err != nil {
		return nil, err
	}
	n, found := 0, 0
	if err := rows(func(rec []string) error {
		n++
		if rec[len(cols)-8] != "" { // sent at
			found++
		}
		return nil
	}); err != nil {
		return nil, err
	}
	res.Download = time.Since(t0)
	if n != o.Rows || found != o.Rows {
		return nil, fmt.Errorf("the messages download has %d rows, %d with their message; want %d", n, found, o.Rows)
	}
	return res, nil
}

// spreadProvider sends through its clients in turn.
type spreadProvider struct {
	clients []*cloudapi.Client
	next    atomic.Uint64
}

func (p *spreadProvider) Send(ctx context.Context, m *domain.Outbound) (*domain.SendResult, error) {
	return p.clients[p.next.Add(1)%uint64(len(p.clients))].Send(ctx, m)
}

func (p *spreadProvider) Templates(ctx context.Context, wabaID, accessToken string) ([]domain.Template, error) {
	return p.clients[0].Templates(ctx, wabaID, accessToken)
}

// CampaignPage measures a campaign's page (GET /campaigns/{id}, as an
// admin's browser asks it) at a campaign of o.Rows messages: its audience
// imported, then one message per row written straight to the messages
// table (the rollup's triggers keep the counters), 10 % failed, 60 % read,
// 20 % delivered, 10 % sent, with a button answer to one in 20.
func CampaignPage(ctx context.Context, o CampaignOptions) (*CampaignResult, error) {
	w, err := newCampaignWorld(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer w.close()
	c, err := w.create(ctx, o.Rows, o.Phones, func(run func() error) error { return run() })
	if err != nil {
		return nil, err
	}
	res := &CampaignResult{Mode: "page", Rows: o.Rows}
	t0 := time.Now()
	if res.Messages, err = w.campaignMessages(ctx, c.Campaign); err != nil {
		return nil, err
	}
	res.Setup = time.Since(t0)
	u, err := w.srv.Services.Access.CreateUser(ctx, access.System(), access.UserInput{Email: "bench@example.com", Name: "Bench",
		Role: domain.RoleAdmin, Password: "bench-password-123", Lang: "pt-BR"})
	if err != nil {
		return nil, err
	}
	cookie, _, err := w.srv.Services.Access.StartSession(ctx, u, time.Hour)
	if err != nil {
		return nil, err
	}
	path := "/campaigns/" + strconv.FormatInt(c.Campaign.ID, 10)
	for i := range o.Requests + 1 {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(&http.Cookie{Name: "ticks_session", Value: cookie})
		rec := httptest.NewRecorder()
		t := time.Now()
		w.srv.Handler.ServeHTTP(rec, req)
		took := time.Since(t)
		// A tenth of the rows failed: the page says so (pt-BR digits).
		failed := `data-live-field="counters.failed">` + reports.FormatCount("pt-BR", int64((o.Rows+9)/10)) + `<`
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), failed) {
			return nil, fmt.Errorf("GET %s: %d %.300s", path, rec.Code, rec.Body.String())
		}
		if i > 0 { // the first load warms the caches
			res.Loads = append(res.Loads, took)
		}
	}
	slices.Sort(res.Loads)
	for _, format := range []string{"csv", "xlsx"} {
		// -cpuprofile profiles the downloads (serving them, not reading
		// them back), one file each: name.csv, name.xlsx.
		profile := ""
		if o.CPUProfile != "" {
			profile = o.CPUProfile + "." + format
		}
		d, err := w.download(ctx, c.Campaign.ID, format, profile)
		if err != nil {
			return nil, err
		}
		if d.Rows != o.Rows || d.Sent != o.Rows {
			return nil, fmt.Errorf("the %s download has %d rows, %d with their message; want %d", format, d.Rows, d.Sent, o.Rows)
		}
		res.Downloads = append(res.Downloads, *d)
	}
	return res, nil
}

// download times GET /api/v1/campaigns/{id}/messages?format= as an API
// client asks it, the answer written to a file (as a socket would take
// it, not held in memory), then reads the file back to count its rows and
// those with their message.
func (w *campaignWorld) download(ctx context.Context, id int64, format, profile string) (*Download, error) {
	path := filepath.Join(w.dir, "messages."+format)
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	req := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/campaigns/"+strconv.FormatInt(id, 10)+"/messages?format="+format, nil)
	req.Header.Set("Authorization", "Bearer "+w.srv.Config.AdminToken)
	fw := &fileResponse{f: f, header: http.Header{}}
	d := &Download{Format: format}
	runtime.GC()
	stop, err := StartCPUProfile(profile)
	if err != nil {
		return nil, err
	}
	resetPeakRSS()
	t0, cpu0 := time.Now(), cpuTime()
	w.srv.Handler.ServeHTTP(fw, req)
	d.Elapsed, d.CPU, d.PeakRSS = time.Since(t0), cpuTime()-cpu0, peakRSS()
	stop()
	if fw.code != http.StatusOK || fw.err != nil {
		return nil, fmt.Errorf("GET messages?format=%s: %d %v", format, fw.code, fw.err)
	}
	d.Bytes = fw.n
	// What the file holds: the sent-at column (after line, phone, name,
	// correlation id and the two variables) set on every row.
	count := func(rec []string) {
		d.Rows++
		if len(rec) > 6 && rec[6] != "" {
			d.Sent++
		}
	}
	if format == "csv" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		cr := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
		cr.ReuseRecord = true
		for i := 0; ; i++ {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("the CSV download: %w", err)
			}
			if i > 0 {
				count(rec)
			}
		}
		return d, nil
	}
	x, err := excelize.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("the XLSX download: %w", err)
	}
	defer x.Close()
	// Each sheet: the header block (two cells wide) and a blank row, the
	// column header row, then the data rows.
	for _, sheet := range x.GetSheetList() {
		rows, err := x.Rows(sheet)
		if err != nil {
			return nil, fmt.Errorf("the XLSX download: %w", err)
		}
		header := false
		for rows.Next() {
			rec, err := rows.Columns()
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("the XLSX download: %w", err)
			}
			if header {
				count(rec)
			}
			header = header || len(rec) > 6
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// fileResponse is an http.ResponseWriter writing the body to a file.
type fileResponse struct {
	f      *os.File
	header http.Header
	code   int
	n      int64
	err    error
}

func (r *fileResponse) Header() http.Header { return r.header }

func (r *fileResponse) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *fileResponse) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	n, err := r.f.Write(b)
	r.n += int64(n)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

// campaignMessages writes one outbound message per audience row of c (and
// a button answer to one in 20), in one statement per kind, dated over the
// ten hours after c's creation moved 12 hours back.
func (w *campaignWorld) campaignMessages(ctx context.Context, c *domain.Campaign) (int, error) {
	l, err := openLoader(ctx, w.srv.Config.DatabaseURL, true)
	if err != nil {
		return 0, err
	}
	defer l.close()
	created := time.Now().Add(-12 * time.Hour).Truncate(time.Hour)
	if _, err := l.db.ExecContext(ctx, `UPDATE campaigns SET created_at = $1, status = 'completed', processed = audience WHERE id = $2`,
		created.UnixMilli(), c.ID); err != nil {
		return 0, fmt.Errorf("campaign: %w", err)
	}
	var contact int64
	if err := l.db.QueryRowContext(ctx, `INSERT INTO contacts (subaccount_id, phone, phone_key, wa_id, created_at)
		VALUES ($1, '+5511900000000', '+5511900000000', '5511900000000', $2) RETURNING id`, c.SubaccountID, created.UnixMilli()).Scan(&contact); err != nil {
		return 0, fmt.Errorf("contact: %w", err)
	}
	at := fmt.Sprintf("(%d + r.seq * 36)", created.UnixMilli())
	kind := `(r.seq % 10)`
	mt := `INSERT INTO messages (id, subaccount_id, channel_id, direction, wamid, origin, contact_id, phone, wa_id, campaign_id,
		content_type, template_name, template_language, template_category, correlation_id, idempotency_key, state, state_rank, status,
		error_code, error_title, at, sent_at, delivered_at, read_at, failed_at, created_at)
		SELECT $1 + r.seq, $2, $3, 'mt', 'wamid.BENCHC' || r.seq, 'campaign', $4, r.phone, substr(r.phone, 2), r.campaign_id,
		'template', 'promocao_outono', 'pt_BR', 'marketing', r.correlation_id,
		'campaign-' || CAST(r.campaign_id AS TEXT) || '-' || CAST(r.seq AS TEXT),
		CASE WHEN ` + kind + ` = 0 THEN 'failed' WHEN ` + kind + ` <= 6 THEN 'read' WHEN ` + kind + ` <= 8 THEN 'delivered' ELSE 'sent' END,
		CASE WHEN ` + kind + ` = 0 THEN 6 WHEN ` + kind + ` <= 6 THEN 3 WHEN ` + kind + ` <= 8 THEN 2 ELSE 1 END,
		CASE WHEN ` + kind + ` = 0 THEN 'undelivered' WHEN ` + kind + ` <= 6 THEN 'read' WHEN ` + kind + ` <= 8 THEN 'delivered' ELSE 'sent' END,
		CASE WHEN ` + kind + ` = 0 THEN 131026 ELSE 0 END, CASE WHEN ` + kind + ` = 0 THEN 'Message undeliverable' ELSE '' END,
		` + at + `, ` + at + ` + 1000, CASE WHEN ` + kind + ` BETWEEN 1 AND 8 THEN ` + at + ` + 5000 END,
		CASE WHEN ` + kind + ` BETWEEN 1 AND 6 THEN ` + at + ` + 60000 END, CASE WHEN ` + kind + ` = 0 THEN ` + at + ` + 2000 END, ` + at + `
		FROM campaign_rows r WHERE r.campaign_id = $5`
	if _, err := l.db.ExecContext(ctx, mt, int64(1)<<52, c.SubaccountID, c.ChannelID, contact, c.ID); err != nil {
		return 0, fmt.Errorf("outbound messages: %w", err)
	}
	mo := `INSERT INTO messages (id, subaccount_id, channel_id, direction, wamid, origin, contact_id, phone, wa_id, campaign_id,
		content_type, text, state, state_rank, status, at, created_at, context_wamid, button_payload)
		SELECT $1 + r.seq, $2, $3, 'mo', 'wamid.BENCHR' || r.seq, 'webhook', $4, r.phone, substr(r.phone, 2), r.campaign_id,
		'button', CASE WHEN r.seq % 40 = 1 THEN 'Parar promoções' ELSE 'Quero aproveitar' END, 'received', -1, 'received',
		` + at + ` + 120000, ` + at + ` + 120000, 'wamid.BENCHC' || r.seq,
		CASE WHEN r.seq % 40 = 1 THEN 'Parar promoções' ELSE 'Quero aproveitar' END
		FROM campaign_rows r WHERE r.campaign_id = $5 AND r.seq % 20 = 1`
	if _, err := l.db.ExecContext(ctx, mo, int64(2)<<52, c.SubaccountID, c.ChannelID, contact, c.ID); err != nil {
		return 0, fmt.Errorf("button answers: %w", err)
	}
	var n int
	err = l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE campaign_id = $1`, c.ID).Scan(&n)
	return n, err
}

// Print writes a result as a table.
func (r *CampaignResult) Print(w io.Writer, o CampaignOptions, dialect string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%s\n", dialect)
	switch r.Mode {
	case "import":
		fmt.Fprintf(tw, "audience import\t%d rows in %v\t%.0f rows/s (parsed, validated, stored)\n", r.Rows, r.Elapsed.Round(time.Millisecond),
			float64(r.Rows)/r.Elapsed.Seconds())
		fmt.Fprintf(tw, "CPU\t%.2f s\t%.0f rows per CPU second (the whole process, every core)\n", r.CPU.Seconds(),
			float64(r.Rows)/r.CPU.Seconds())
		if r.PostgresCPU > 0 {
			fmt.Fprintf(tw, "PostgreSQL CPU\t%.2f s\t(every postgres process of this machine, during the import)\n", r.PostgresCPU.Seconds())
		}
		fmt.Fprintf(tw, "peak RSS\t%d MB\t(the whole process, during the import)\n", r.PeakRSS>>20)
	case "dispatch":
		fmt.Fprintf(tw, "dispatch\t%d rows in %v\t%.0f messages/s (%d handed to WhatsApp, %d refused; %d in flight)\n", r.Rows, r.Elapsed.Round(time.Millisecond),
			float64(r.Rows)/r.Elapsed.Seconds(), r.Sent, r.Refused, r.InFlight)
		fmt.Fprintf(tw, "CPU\t%.1f s\t%.3f ms a message, %.0f messages per CPU second (the whole process: the simulator's side too)\n",
			r.CPU.Seconds(), 1000*r.CPU.Seconds()/float64(r.Rows), float64(r.Rows)/r.CPU.Seconds())
		fmt.Fprintf(tw, "peak RSS\t%d MB\n", r.PeakRSS>>20)
		fmt.Fprintf(tw, "messages download\t%d rows in %v\t(each with its message, after the dispatch)\n", r.Rows, r.Download.Round(time.Millisecond))
		for _, f := range r.Failures[:min(3, len(r.Failures))] {
			fmt.Fprintf(tw, "failed\t%d %s\t%d %s\n", f.Count, f.Status, f.ErrorCode, f.ErrorTitle)
		}
	case "page":
		fmt.Fprintf(tw, "campaign\t%d audience rows, %d messages (written in %v)\n", r.Rows, r.Messages, r.Setup.Round(time.Second))
		fmt.Fprintf(tw, "campaign page\tp50 %v\tmax %v\t(%d loads)\n", pct(r.Loads, 0.5).Round(10*time.Microsecond),
			r.Loads[len(r.Loads)-1].Round(10*time.Microsecond), len(r.Loads))
		for _, d := range r.Downloads {
			fmt.Fprintf(tw, "messages download, %s\t%d rows in %v\t%.0f rows/s; %.2f CPU s (%.0f rows per CPU second); %d MB; peak RSS %d MB\n",
				d.Format, d.Rows, d.Elapsed.Round(time.Millisecond), float64(d.Rows)/d.Elapsed.Seconds(), d.CPU.Seconds(),
				float64(d.Rows)/d.CPU.Seconds(), d.Bytes>>20, d.PeakRSS>>20)
		}
	}
	tw.Flush()
}

// postgresCPU is the CPU time every PostgreSQL process of this machine has
// used so far, its exited backends' included (their parent's children
// time): with the database on this machine, the difference across a run
// is PostgreSQL's share of it (other clients' work too, if any). 0 when
// /proc does not say.
func postgresCPU() time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks int64
	for _, d := range dirs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime stime cutime cstime: fields 14–17.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != "postgres" {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 15 {
			continue
		}
		for _, v := range f[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ is 100 on Linux
}
