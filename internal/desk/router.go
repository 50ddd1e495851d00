package desk

import (
	"context"
	"log/slog"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// Router is the desk's continuous work, a step after ingestion rather than
// a part of it: it reads the contacts' messages ingestion stored and puts
// each in a ticket (store.RouteInbound), gives waiting tickets to online
// agents, and tells open pages when an active message's status moves.
// (Idle tickets are abandoned by a periodic River job, AbandonArgs.) Its cursor is in the database, so a restart
// resumes where it stopped.
type Router struct {
	Desk *Service
	// Poll is how often it looks when nothing wakes it (200 ms by
	// default). The ingestion's processor wakes it after each batch it
	// applies (Wake), so a status or a reply is routed as soon as it is
	// stored rather than at the next poll.
	Poll time.Duration
	// Follow is how long after it was sent an active message's status is
	// followed live (6 h: statuses settle within minutes; a page loaded
	// later reads the stored one).
	Follow time.Duration

	states map[int64]domain.State
	wake   chan struct{}
}

// NewRouter returns the router of d.
func NewRouter(d *Service) *Router {
	return &Router{Desk: d, Poll: 200 * time.Millisecond, Follow: 6 * time.Hour, wake: make(chan struct{}, 1)}
}

// Wake makes the router step now (or as soon as its current step ends);
// it never blocks, and wake-ups during a step merge into one.
func (r *Router) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run steps until ctx ends.
func (r *Router) Run(ctx context.Context) error {
	t := time.NewTicker(r.Poll)
	defer t.Stop()
	for {
		if err := r.Step(ctx); err != nil && ctx.Err() == nil {
			slog.Error("desk: routing", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.wake:
		}
	}
}

// routeBatch bounds the messages one step routes.
const routeBatch = 500

// Step routes what arrived since the last step, distributes the queue and
// publishes status changes.
func (r *Router) Step(ctx context.Context) error {
	d := r.Desk
	st := d.Store
	now := d.Now()
	cursor, ok, err := st.DeskCursor(ctx)
	if err != nil {
		return err
	}
	if !ok {
		// A first start: the desk begins with what arrives from now on
		// (a few minutes back), not with the whole history.
		cursor = now.Add(-10*time.Minute).UnixMilli() << 20
	}
	for {
		list, err := st.InboundAfter(ctx, cursor, routeBatch)
		if err != nil {
			return err
		}
		for _, m := range list {
			id, created, err := st.RouteInbound(ctx, m)
			if err != nil {
				return err
			}
			if id != 0 && created {
				d.publishTicket(ctx, id)
			}
			cursor = m.ID
		}
		if len(list) > 0 || !ok {
			if err := st.SetDeskCursor(ctx, cursor); err != nil {
				return err
			}
			ok = true
		}
		if len(list) < routeBatch {
			break
		}
	}
	assigned, err := st.Distribute(ctx, now)
	if err != nil {
		return err
	}
	d.publishTickets(assigned)
	return r.followActive(ctx, now)
}

// followActive publishes the active messages whose state moved since the
// last step: it compares the states (read from an index) with the last
// step's and reads whole rows only for those that moved.
func (r *Router) followActive(ctx context.Context, now time.Time) error {
	if r.Desk.Events == nil {
		return nil
	}
	states, err := r.Desk.Store.DeskMessageStates(ctx, now.Add(-r.Follow))
	if err != nil {
		return err
	}
	var moved []int64
	for id, st := range states {
		if prev, known := r.states[id]; r.states != nil && (!known || prev != st) {
			moved = append(moved, id)
		}
	}
	list, err := r.Desk.Store.DeskMessages(ctx, moved)
	if err != nil {
		return err
	}
	for i := range list {
		a := &list[i]
		r.Desk.publish(Event{Kind: "active", SubaccountID: a.SubaccountID, UserID: a.SenderUserID, Data: a})
	}
	r.states = states
	return nil
}
