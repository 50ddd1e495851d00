package ingest

import (
	"context"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// WebhookEvent is a webhook event kept for administrators.
type WebhookEvent = store.WebhookEvent

// Admin is what administrators see and do of ingestion: the webhook events
// set aside or worth knowing (unknown numbers, template and account
// changes, rows that could not be applied), and a replay of the inbox.
type Admin struct {
	Store *store.Store
	// Replay moves the processor back to the start of the inbox; nil on a
	// server that does not process webhooks.
	Replay func(ctx context.Context) error
}

// Events lists the latest webhook events of the subaccounts p may see,
// optionally of one webhook field, at most limit (1 to 1000; 0 means 100).
func (a *Admin) Events(ctx context.Context, p *access.Principal, field string, limit int) ([]WebhookEvent, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		return nil, domain.Errorf(domain.EINVALID, "limit must be between 1 and 1000")
	}
	return a.Store.WebhookEvents(ctx, p.Scope, field, limit)
}

// ReplayInbox applies the whole inbox again; only an organization admin may.
func (a *Admin) ReplayInbox(ctx context.Context, p *access.Principal) error {
	if err := p.NeedOrgAdmin("replay the inbox"); err != nil {
		return err
	}
	if a.Replay == nil {
		return domain.Errorf(domain.EINVALID, "this server does not process webhooks")
	}
	return a.Replay(ctx)
}
