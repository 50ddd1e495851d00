package bench

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/ticksapp/ticks/internal/cloudapi"
	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store"
)

// SendOptions configure a send pipeline benchmark.
type SendOptions struct {
	DatabaseURL string
	Messages    int
	Numbers     int // business numbers, each at Meta's maximum of 1,000 messages/s
	Senders     int // concurrent callers of the pipeline
	Contacts    int
}

// SendResult is what a send benchmark measured.
type SendResult struct {
	Sent, Refused int
	Elapsed       time.Duration
	P50, P99      time.Duration
}

// Rate is messages through the pipeline per second.
func (r *SendResult) Rate() float64 { return float64(r.Sent+r.Refused) / r.Elapsed.Seconds() }

// Send measures the send pipeline: every check, the store, and the Cloud API
// client posting over loopback HTTP to the simulator (whose webhooks are not
// delivered, so only sending is measured).
func Send(ctx context.Context, o SendOptions) (*SendResult, error) {
	dir, err := os.MkdirTemp("", "ticks-bench-send-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	dsn := o.DatabaseURL
	if dsn == "" {
		dsn = filepath.Join(dir, "bench.db")
	}
	if (&config.Config{DatabaseURL: dsn}).Dialect() == config.DialectPostgres {
		url, drop, err := freshSchema(ctx, dsn)
		if err != nil {
			return nil, err
		}
		defer drop()
		dsn = url
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	var phones []simulator.Phone
	for i := 0; i < o.Numbers; i++ {
		phones = append(phones, simulator.Phone{PhoneNumberID: fmt.Sprint(106540352242000 + i), DisplayPhone: fmt.Sprint(15550780000 + i),
			WABAID: "102290129340398", AccessToken: "bench-token"})
	}
	sim := simulator.NewServer(simulator.Config{Seed: 1, Phones: phones, Throughput: 1000, Mix: simulator.Outcomes{Read: 1}})
	defer sim.Close()
	api := httptest.NewServer(sim.Handler())
	defer api.Close()
	client := cloudapi.New(api.URL + "/v23.0")
	box, err := secret.NewBox("bench-secret-key-0123456789")
	if err != nil {
		return nil, err
	}
	sa := &domain.Subaccount{Name: "bench"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		return nil, err
	}
	sealed, _ := box.Seal("bench-token")
	var chans []*domain.Channel
	for _, p := range phones {
		ch := &domain.Channel{SubaccountID: sa.ID, Name: p.PhoneNumberID, WABAID: p.WABAID, PhoneNumberID: p.PhoneNumberID,
			AccessTokenEnc: sealed, Tier: "TIER_UNLIMITED", ThroughputMPS: 1000}
		if err := st.CreateChannel(ctx, ch); err != nil {
			return nil, err
		}
		chans = append(chans, ch)
	}
	list, err := client.Templates(ctx, "102290129340398", "bench-token")
	if err != nil {
		return nil, err
	}
	if err := st.UpsertTemplates(ctx, sa.ID, list); err != nil {
		return nil, err
	}
	p := send.New(st, client, box)

	lat := make([]time.Duration, o.Messages)
	var next atomic.Int64
	var sent, refused atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.Senders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= o.Messages {
					return
				}
				req := &send.Request{To: fmt.Sprintf("+55119%08d", 70000000+i%o.Contacts), Type: "template",
					CorrelationID: fmt.Sprintf("B-%d", i),
					Template:      &send.TemplateRef{Name: "pedido_enviado", Language: "pt_BR", Params: []string{"Maria", fmt.Sprint(i), "3"}}}
				t0 := time.Now()
				out, err := p.Send(ctx, chans[i%len(chans)], req)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t0)
				if out.Refused {
					refused.Add(1)
				} else {
					sent.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	res := &SendResult{Sent: int(sent.Load()), Refused: int(refused.Load()), Elapsed: time.Since(start)}
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	slices.Sort(lat)
	res.P50, res.P99 = pct(lat, 0.5), pct(lat, 0.99)
	return res, nil
}

// Print writes a result as a table.
func (r *SendResult) Print(w io.Writer, o SendOptions, dialect string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%s\n", dialect)
	fmt.Fprintf(tw, "messages\t%d template messages to %d contacts over %d numbers, %d concurrent senders\n", o.Messages, o.Contacts, o.Numbers, o.Senders)
	fmt.Fprintf(tw, "through the pipeline\t%.0f messages/s\t(sent %d, refused %d, in %v)\n", r.Rate(), r.Sent, r.Refused, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "latency per send\tp50 %v\tp99 %v\n", r.P50, r.P99)
	tw.Flush()
}
