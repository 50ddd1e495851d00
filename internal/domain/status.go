package domain

// State is where an outbound (MT) message is in its lifecycle, in the
// help desk's vocabulary (seed 004). States only move forward.
type State string

// The lifecycle states, in rank order. Failed is terminal and outranks
// everything, so the final state is the maximum over all events seen,
// whatever order they arrived in.
const (
	StateSending   State = "sending"
	StateSent      State = "sent"
	StateDelivered State = "delivered"
	StateRead      State = "read"
	StatePlayed    State = "played"
	StateExpired   State = "expired"
	StateFailed    State = "failed"
)

// Rank orders states: a state with a higher rank replaces a lower one and
// never the reverse.
func (s State) Rank() int {
	switch s {
	case StateSending:
		return 0
	case StateSent:
		return 1
	case StateDelivered:
		return 2
	case StateRead:
		return 3
	case StatePlayed:
		return 4
	case StateExpired:
		return 5
	case StateFailed:
		return 6
	}
	return -1
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return s.Rank() >= 0 }

// Status is what the detailed report shows for a message (seed 000): the
// delivery outcome or, when it did not get through, the reason.
type Status string

// Report statuses (SPEC section 2). Sending and Sent are shown while a
// message is in flight.
const (
	StatusSending          Status = "sending"
	StatusSent             Status = "sent"
	StatusDelivered        Status = "delivered"
	StatusRead             Status = "read"
	StatusTTLExpired       Status = "ttl_expired"
	StatusRejected         Status = "rejected"
	StatusUndelivered      Status = "undelivered"
	StatusInvalidNumber    Status = "invalid_number"
	StatusOptedOut         Status = "opted_out"
	StatusInvalidSession   Status = "invalid_session"
	StatusInternalError    Status = "internal_error"
	StatusInvalidContent   Status = "invalid_content"
	StatusWarmupBlocked    Status = "warmup_blocked"
	StatusTierLimit        Status = "tier_limit"
	StatusInvalidParameter Status = "invalid_parameter"
)

// Statuses lists every report status, in the order the report shows them.
var Statuses = []Status{
	StatusSending, StatusSent, StatusDelivered, StatusRead, StatusTTLExpired,
	StatusRejected, StatusUndelivered, StatusInvalidNumber, StatusOptedOut,
	StatusInvalidSession, StatusInternalError, StatusInvalidContent,
	StatusWarmupBlocked, StatusTierLimit, StatusInvalidParameter,
}

// Valid reports whether s is a known report status.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if v == s {
			return true
		}
	}
	return false
}

// ReportStatus is the report status of a message in state st that failed
// with Meta error code (0 when there is none). A failure without a code is
// an undelivered message; a played voice message counts as read.
func ReportStatus(st State, code int) Status {
	switch st {
	case StateSending:
		return StatusSending
	case StateSent:
		return StatusSent
	case StateDelivered:
		return StatusDelivered
	case StateRead, StatePlayed:
		return StatusRead
	case StateExpired:
		return StatusTTLExpired
	case StateFailed:
		if code == 0 {
			return StatusUndelivered
		}
		return StatusFromMetaError(code)
	}
	return StatusSending
}
