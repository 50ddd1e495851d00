package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ticksapp/ticks/internal/ingest"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store/storetest"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

// TestLingerEndsWhenTrafficStops: after a short batch the processor waits
// for more rows to share the next transaction, but once no webhook has been
// stored for Quiet it applies what it has, instead of the whole Linger.
func TestLingerEndsWhenTrafficStops(t *testing.T) {
	st := storetest.Open(t)
	m := ingest.NewMetrics(prometheus.NewRegistry())
	inbox := ingest.NewInbox(st, m)
	proc := ingest.NewProcessor(st, m, inbox.Stored())
	proc.TakeHandoff(inbox)
	proc.Linger, proc.Quiet = time.Minute, 5*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { inbox.Run(ctx); done <- struct{}{} }()
	go func() { proc.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}
	appendAndWait := func(wamid string) time.Duration {
		t.Helper()
		body := biz.StatusWebhook(simulator.Status{ID: wamid, Status: "sent", Timestamp: simulator.Unix(time.Now().Unix()),
			RecipientID: "5511987650001"})
		batch, err := whatsapp.ParseWebhook(body)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := inbox.Append(ctx, body, batch); err != nil {
			t.Fatal(err)
		}
		for {
			stats, err := st.InboxStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if proc.Applied() >= stats.LastID {
				return time.Since(start)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s not applied after 10 s (the processor is lingering for its whole minute)", wamid)
			}
			time.Sleep(time.Millisecond)
		}
	}
	appendAndWait("wamid.QUIET1")
	// The processor now lingers after its one-row batch.
	if d := appendAndWait("wamid.QUIET2"); d > 5*time.Second {
		t.Fatalf("second webhook applied after %v", d)
	}
}
