package apply

import (
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// TimelineKey names one contact's timeline on one channel: the messages
// whose sessions and conversations are derived together.
type TimelineKey struct {
	ChannelID, ContactID int64
}

// Assignment is a message's session and conversation as stored.
type Assignment struct {
	ID                   int64 // the message
	WithSession          bool
	ConversationID       string // "" for none
	ConversationType     string
	ConversationCategory string
	ConversationExpires  int64 // unix milliseconds, 0 for none
}

// TimelineRow is a message as conversation derivation sees it.
type TimelineRow struct {
	Key TimelineKey
	// PhoneNumberID and ContactKey (the contact's phone key, or its user
	// id) name the channel and the contact by their outside identities, not
	// our row ids, so conversation IDs come out the same whatever order the
	// rows were created in.
	PhoneNumberID, ContactKey string
	Message                   domain.TimelineMessage
	Stored                    Assignment
}

// DeriveTimelines re-derives each timeline of rows from its instant in
// from and returns the assignments that changed. rows holds whole
// timelines, each sorted in timeline order and starting early enough
// (FreeEntryPointWindow before its instant: no conversation lasts longer
// and no session or ad entry looks further back) for the stored
// assignments of its earlier messages to be the state to start from.
// Timelines without an instant in from are left alone.
func DeriveTimelines(rows []TimelineRow, from map[TimelineKey]time.Time) []Assignment {
	var out []Assignment
	for start := 0; start < len(rows); {
		end := start
		for end < len(rows) && rows[end].Key == rows[start].Key {
			end++
		}
		if t, touched := from[rows[start].Key]; touched {
			out = append(out, deriveTimeline(rows[start:end], t)...)
		}
		start = end
	}
	return out
}

// deriveTimeline derives one timeline from instant t and returns the changes.
func deriveTimeline(rows []TimelineRow, t time.Time) []Assignment {
	var state domain.ConversationState
	first := len(rows)
	for i, r := range rows {
		if !r.Message.At.Before(t) {
			first = i
			break
		}
		if r.Message.Direction == domain.DirectionMO {
			state.LastInboundAt, state.LastInboundReferral = r.Message.At, r.Message.Referral
		}
		if u := r.Stored; u.ConversationID != "" {
			state.Current = &domain.Conversation{ID: u.ConversationID, Type: domain.ConversationType(u.ConversationType),
				Category: u.ConversationCategory, ExpiresAt: time.UnixMilli(u.ConversationExpires).UTC()}
		}
	}
	if state.Current != nil && !state.Current.ExpiresAt.After(t) {
		state.Current = nil
	}
	rest := rows[first:]
	if len(rest) == 0 {
		return nil
	}
	timeline := make([]domain.TimelineMessage, len(rest))
	for i, r := range rest {
		timeline[i] = r.Message
	}
	var out []Assignment
	scope := rest[0].PhoneNumberID + ":" + rest[0].ContactKey
	for i, as := range domain.DeriveConversations(scope, state, timeline) {
		want := Assignment{ID: rest[i].Stored.ID, WithSession: as.WithSession}
		if c := as.Conversation; c != nil {
			want.ConversationID, want.ConversationType, want.ConversationCategory = c.ID, string(c.Type), c.Category
			want.ConversationExpires = c.ExpiresAt.UnixMilli()
		}
		if want != rest[i].Stored {
			out = append(out, want)
		}
	}
	return out
}
