package demo

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/campaigns"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/server"
)

// Clicker is the demo's contacts tapping the link buttons of campaigns
// whose clicks ticks counts: about a third of each such campaign's
// contacts open the link once its message is sent, one in ten of them
// twice, through the demo's own redirect /r/{code}, as a phone would.
type Clicker struct {
	Services server.Services
	Base     string // the demo's web app, http://host:port
	Every    time.Duration
	client   *http.Client
	after    map[int64]int // by campaign, the last audience row looked at
}

// Clicks reports whether the contact of audience row seq taps the link,
// and how many times: the same rows on every run.
func Clicks(seq int) int {
	h := uint32(seq) * 2654435761
	switch {
	case h%100 >= 35:
		return 0
	case h%10 == 0:
		return 2
	}
	return 1
}

// Run taps until ctx ends.
func (c *Clicker) Run(ctx context.Context) {
	if c.Every == 0 {
		c.Every = 2 * time.Second
	}
	c.client = &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c.after = map[int64]int{}
	t := time.NewTicker(c.Every)
	defer t.Stop()
	for {
		if err := c.tap(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("demo: link clicks", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Clicker) tap(ctx context.Context) error {
	p := access.System()
	list, _, err := c.Services.Campaigns.List(ctx, p, campaigns.ListFilter{Limit: 200})
	if err != nil {
		return err
	}
	for _, camp := range list {
		if len(camp.Links) == 0 || camp.Status == domain.CampaignDraft || camp.Status == domain.CampaignScheduled {
			continue
		}
		after, known := c.after[camp.ID]
		if !known {
			// After a restart, go on past the rows already tapped.
			if _, err := c.Services.Campaigns.Clicks(ctx, p, camp.ID, campaigns.ClicksFilter{Button: -1}, func(k campaigns.Click) error {
				after = max(after, k.Seq)
				return nil
			}); err != nil {
				return err
			}
		}
		links, err := c.Services.Campaigns.LinkCodes(ctx, p, camp.ID, after, 500)
		if err != nil {
			return err
		}
		for _, l := range links {
			for range Clicks(l.Seq) {
				if err := c.get(ctx, l.Code); err != nil {
					return err
				}
			}
			after = max(after, l.Seq)
		}
		c.after[camp.ID] = after
	}
	return nil
}

func (c *Clicker) get(ctx context.Context, code string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.Base+campaigns.RedirectPath+code, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "WhatsApp/2.24 (ticks demo)")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
