package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/server"
)

// HTTPExportOptions configures the export benchmark over HTTP: downloads
// as a user's client makes them, through a running server.
type HTTPExportOptions struct {
	DatabaseURL string // a database seeded by Seed
	Rows        int64  // about how many rows each download holds
	Format      string // csv, xlsx or pdf
	Concurrent  int    // downloads at once (each asked for at the same moment)
}

// HTTPExportResult is a run of the HTTP export benchmark.
type HTTPExportResult struct {
	Format     string
	Concurrent int
	Rows       int64 // rows of every download together
	Bytes      int64
	Elapsed    time.Duration // from the first request to the last byte
	Slowest    time.Duration // the longest single download, queueing included
	Throttled  int           // 429 answers, each retried after its Retry-After
	PeakRSS    int64         // the process's (the server's and the client's) peak resident memory
}

// ExportHTTP starts a server on the seeded database and downloads the
// newest rows of the bench subaccount from GET /api/v1/reports/messages,
// Concurrent times at once, reading each body to the end as a client
// does.
func ExportHTTP(ctx context.Context, o HTTPExportOptions) (*HTTPExportResult, error) {
	if o.Concurrent < 1 {
		o.Concurrent = 1
	}
	st, err := openSeeded(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	db, err := rawDB(st.Dialect(), o.DatabaseURL)
	if err != nil {
		st.Close()
		return nil, err
	}
	sa, err := benchSubaccount(ctx, db)
	var from, to time.Time
	if err == nil {
		from, to, err = newestHours(ctx, db, st.Dialect(), sa, o.Rows)
	}
	db.Close()
	st.Close()
	if err != nil {
		return nil, err
	}

	token := make([]byte, 16)
	rand.Read(token)
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	cfg.DatabaseURL, cfg.AdminToken = o.DatabaseURL, "tk_bench_"+hex.EncodeToString(token)
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx, ln) }()
	defer func() { stop(); <-done }()

	q := url.Values{"from": {from.UTC().Format(time.RFC3339)}, "to": {to.UTC().Format(time.RFC3339)},
		"subaccount": {strconv.FormatInt(sa, 10)}, "format": {o.Format}}
	target := "http://" + ln.Addr().String() + "/api/v1/reports/messages?" + q.Encode()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrent}}
	res := &HTTPExportResult{Format: o.Format, Concurrent: o.Concurrent}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	resetPeakRSS()
	t0 := time.Now()
	for range o.Concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			rows, bytes, throttled, err := download(ctx, client, target, cfg.AdminToken)
			mu.Lock()
			defer mu.Unlock()
			res.Rows, res.Bytes, res.Throttled = res.Rows+rows, res.Bytes+bytes, res.Throttled+throttled
			res.Slowest = max(res.Slowest, time.Since(start))
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(t0)
	res.PeakRSS = peakRSS()
	return res, firstErr
}

// download reads one export to its end, waiting out 429 answers as their
// Retry-After says.
func download(ctx context.Context, client *http.Client, target, token string) (rows, bytes int64, throttled int, err error) {
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", target, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, throttled, err
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			throttled++
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			resp.Body.Close()
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
			continue
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, n, throttled, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, n, throttled, fmt.Errorf("download: %s", resp.Status)
		}
		rows, _ = strconv.ParseInt(resp.Header.Get("X-Total-Count"), 10, 64)
		return rows, n, throttled, nil
	}
}

// Print writes the result.
func (r *HTTPExportResult) Print(w io.Writer) {
	rate := float64(r.Rows) / r.Elapsed.Seconds()
	verdict := ""
	if target, ok := ExportTargets[r.Format]; ok {
		verdict = fmt.Sprintf("  target %.0f rows/s: %s", target, map[bool]string{true: "met", false: "NOT met"}[rate >= target])
	}
	fmt.Fprintf(w, "%s over HTTP, %d at once: %d rows, %.1f MB in %v (%.0f rows/s), slowest download %v, %d answered 429, peak RSS %.0f MB%s\n",
		r.Format, r.Concurrent, r.Rows, float64(r.Bytes)/1e6, r.Elapsed.Round(time.Millisecond), rate,
		r.Slowest.Round(time.Millisecond), r.Throttled, float64(r.PeakRSS)/1e6, verdict)
}
