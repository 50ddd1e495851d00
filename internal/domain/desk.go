package domain

import "time"

// AgentStatus is a help-desk agent's availability (SPEC 4.7).
type AgentStatus string

// Agent statuses. Only an online agent is given tickets from the queue;
// an invisible one works but is not offered new tickets.
const (
	AgentOnline    AgentStatus = "online"
	AgentPaused    AgentStatus = "paused"
	AgentInvisible AgentStatus = "invisible"
	AgentOffline   AgentStatus = "offline"
)

// AgentStatuses lists the statuses in the order the desk shows them.
var AgentStatuses = []AgentStatus{AgentOnline, AgentPaused, AgentInvisible, AgentOffline}

// Valid reports whether s is a known status.
func (s AgentStatus) Valid() bool {
	switch s {
	case AgentOnline, AgentPaused, AgentInvisible, AgentOffline:
		return true
	}
	return false
}

// TicketState is where a help-desk attendance is.
type TicketState string

// Ticket states: waiting in a team's queue, open with an agent, closed by
// an agent, or abandoned after the team's idle time without activity.
const (
	TicketWaiting   TicketState = "waiting"
	TicketOpen      TicketState = "open"
	TicketClosed    TicketState = "closed"
	TicketAbandoned TicketState = "abandoned"
)

// Valid reports whether s is a known state.
func (s TicketState) Valid() bool {
	switch s {
	case TicketWaiting, TicketOpen, TicketClosed, TicketAbandoned:
		return true
	}
	return false
}

// Active reports whether a ticket in state s is still being attended.
func (s TicketState) Active() bool { return s == TicketWaiting || s == TicketOpen }

// Ticket origins: a contact answering an agent's active message, or a
// contact writing first.
const (
	TicketFromActiveMessage = "active_message"
	TicketFromInbound       = "inbound"
)

// Team is a help-desk queue of a subaccount, fed by one channel or by all
// of the subaccount's channels.
type Team struct {
	ID                  int64     `json:"id"`
	SubaccountID        int64     `json:"subaccount_id"`
	ChannelID           *int64    `json:"channel_id,omitempty"`
	Name                string    `json:"name"`
	AbandonAfterMinutes int       `json:"abandon_after_minutes"`
	Members             []int64   `json:"members"`
	CreatedAt           time.Time `json:"created_at"`
}

// Agent is a user who attends tickets, with their current status.
type Agent struct {
	UserID      int64       `json:"user_id"`
	Name        string      `json:"name"`
	Email       string      `json:"email"`
	MaxTickets  int         `json:"max_tickets"`
	Status      AgentStatus `json:"status"`
	Reason      string      `json:"reason,omitempty"`
	Since       *time.Time  `json:"since,omitempty"`
	Teams       []int64     `json:"teams"`
	OpenTickets int         `json:"open_tickets"`
	// Today is the time in each status since midnight in the subaccount's
	// time zone, in seconds.
	Today map[AgentStatus]int64 `json:"today"`
}

// StatusChange is one entry of an agent's status log.
type StatusChange struct {
	UserID int64       `json:"user_id"`
	Status AgentStatus `json:"status"`
	Reason string      `json:"reason,omitempty"`
	At     time.Time   `json:"at"`
}

// PauseReason is a reason an agent may give for a pause (lunch, training…).
type PauseReason struct {
	ID           int64  `json:"id"`
	SubaccountID int64  `json:"subaccount_id"`
	Name         string `json:"name"`
}

// Ticket is one help-desk attendance of a contact on a channel.
type Ticket struct {
	ID              int64       `json:"id"`
	SubaccountID    int64       `json:"subaccount_id"`
	ChannelID       int64       `json:"channel_id"`
	ContactID       int64       `json:"contact_id"`
	Contact         string      `json:"contact"` // the contact's name, or phone
	ContactPhone    string      `json:"contact_phone"`
	TeamID          *int64      `json:"team_id,omitempty"`
	Team            string      `json:"team"`
	AgentID         *int64      `json:"agent_id,omitempty"`
	Agent           string      `json:"agent"`
	State           TicketState `json:"state"`
	Origin          string      `json:"origin"`
	ActiveMessageID *int64      `json:"active_message_id,omitempty,string"`
	OpenedAt        time.Time   `json:"opened_at"`
	AssignedAt      *time.Time  `json:"assigned_at,omitempty"`
	FirstResponseAt *time.Time  `json:"first_response_at"`
	ClosedAt        *time.Time  `json:"closed_at"`
	LastActivityAt  time.Time   `json:"last_activity_at"`
	Tags            []string    `json:"tags"`
}

// TicketEvent is one step of a ticket's history.
type TicketEvent struct {
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"` // assigned, transferred, closed, abandoned
	ByUserID *int64    `json:"by_user_id,omitempty"`
	AgentID  *int64    `json:"agent_id,omitempty"`
	TeamID   *int64    `json:"team_id,omitempty"`
}

// DeskStatus is an active message's status in the desk's vocabulary (seed
// 004): Enviando, Enviada, Entregue, Lida, Falha, Expirada.
type DeskStatus string

// Desk statuses.
const (
	DeskSending   DeskStatus = "sending"
	DeskSent      DeskStatus = "sent"
	DeskDelivered DeskStatus = "delivered"
	DeskRead      DeskStatus = "read"
	DeskFailed    DeskStatus = "failed"
	DeskExpired   DeskStatus = "expired"
)

// ActiveWindow is how long an active message waits for an answer (the
// customer-service window it opens), and ActiveVisible how long after that
// it stays on the tab.
const (
	ActiveWindow  = 24 * time.Hour
	ActiveVisible = 48 * time.Hour
)

// DeskStatusOf is the desk's status of an active message in state, sent at
// sentAt, at now: a message not answered within its window has expired
// unless it failed.
func DeskStatusOf(state State, sentAt, now time.Time) DeskStatus {
	if state == StateFailed || state == StateExpired { // expired here is Meta's TTL: never delivered
		return DeskFailed
	}
	if !now.Before(sentAt.Add(ActiveWindow)) {
		return DeskExpired
	}
	switch state {
	case StateRead, StatePlayed:
		return DeskRead
	case StateDelivered:
		return DeskDelivered
	case StateSent:
		return DeskSent
	}
	return DeskSending
}
