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
	"time"

	"github.com/ticksapp/ticks/internal/simulator"
)

// simulatorCmd runs the Cloud API simulator on its own, for any Cloud API
// client: point the client at http://<addr>/v23.0 and the simulator posts
// signed webhooks to -webhook-url.
func simulatorCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticks simulator", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "listen address of the simulated Graph API")
	webhook := fs.String("webhook-url", "http://127.0.0.1:8080/webhooks/whatsapp", "where to post webhooks")
	secret := fs.String("app-secret", os.Getenv("TICKS_WA_APP_SECRET"), "app secret that signs webhooks (default $TICKS_WA_APP_SECRET)")
	seed := fs.Uint64("seed", 1, "seed of the outcomes: the same seed and requests give the same results")
	inbound := fs.Float64("inbound-rate", 0, "contacts writing first, per second")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *secret == "" {
		return fmt.Errorf("-app-secret (or TICKS_WA_APP_SECRET) is required: webhooks are signed with it")
	}
	sim := simulator.NewServer(simulator.Config{Seed: *seed, WebhookURL: *webhook, AppSecret: []byte(*secret), Logger: slog.Default()})
	defer sim.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	if *inbound > 0 {
		go func() {
			t := time.NewTicker(time.Duration(float64(time.Second) / *inbound))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					sim.Tick(1)
				}
			}
		}()
	}
	p := simulator.DefaultPhone
	fmt.Fprintf(out, "Cloud API simulator on http://%s/v23.0 — phone_number_id %s, WABA %s, token %q; webhooks to %s\n",
		ln.Addr(), p.PhoneNumberID, p.WABAID, p.AccessToken, *webhook)
	return sim.Run(ctx)
}
