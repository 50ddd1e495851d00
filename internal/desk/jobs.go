package desk

import (
	"context"
	"strconv"

	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/live"
	"github.com/ticksapp/ticks/internal/store"
)

// AbandonArgs is the periodic job that abandons idle tickets.
type AbandonArgs struct{}

// Kind names the job in River.
func (AbandonArgs) Kind() string { return "desk_abandon_idle" }

// AbandonWorker runs AbandonArgs.
type AbandonWorker struct {
	river.WorkerDefaults[AbandonArgs]
	Desk *Service
}

// Work abandons what is idle now; running it twice changes nothing more.
func (w *AbandonWorker) Work(ctx context.Context, _ *river.Job[AbandonArgs]) error {
	_, err := w.Desk.AbandonIdle(ctx)
	return err
}

// AbandonIdle marks abandoned the tickets idle for longer than their
// team's time (AbandonAfter for those of no team) and returns how many.
func (s *Service) AbandonIdle(ctx context.Context) (int, error) {
	gone, err := s.Store.AbandonIdle(ctx, s.Now(), s.AbandonAfter)
	if err != nil {
		return 0, err
	}
	s.publishTickets(gone)
	return len(gone), nil
}

// HubEvents hands the desk's events to open pages through the live hub:
// an agent's page follows AgentTopic, a supervisor's SupervisorTopic of a
// subaccount. A change in a team's queue reaches every member.
type HubEvents struct {
	Hub   *live.Hub
	Store *store.Store
}

// AgentTopic is what one agent's desk page follows.
func AgentTopic(userID int64) live.Topic {
	return live.Topic{Name: "desk:agent:" + strconv.FormatInt(userID, 10)}
}

// SupervisorTopic is what the supervisor's page of a subaccount follows.
func SupervisorTopic(subaccount int64) live.Topic {
	return live.Topic{Subaccount: subaccount, Name: "desk"}
}

// OrganizationTopic is what the supervisor's page follows when its viewer
// sees several subaccounts: every desk change says so here too (a notice
// only; each page reads what its viewer may see).
var OrganizationTopic = live.Topic{Name: "desk:organization"}

// Publish implements Publisher.
func (h HubEvents) Publish(e Event) {
	if e.UserID != 0 {
		h.Hub.Publish(AgentTopic(e.UserID))
	}
	if e.TeamID != 0 {
		if t, err := h.Store.Team(context.Background(), e.TeamID); err == nil {
			for _, u := range t.Members {
				if u != e.UserID {
					h.Hub.Publish(AgentTopic(u))
				}
			}
		}
	}
	if e.SubaccountID != 0 {
		h.Hub.Publish(SupervisorTopic(e.SubaccountID))
	}
	h.Hub.Publish(OrganizationTopic)
}
