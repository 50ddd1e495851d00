package apply

import (
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

func timelineRow(key TimelineKey, id int64, dir domain.Direction, at time.Time) TimelineRow {
	return TimelineRow{Key: key, PhoneNumberID: "PN1", ContactKey: "+5511987654321",
		Message: domain.TimelineMessage{Direction: dir, At: at, TemplateCategory: map[domain.Direction]string{domain.DirectionMT: "utility"}[dir]},
		Stored:  Assignment{ID: id}}
}

func TestDeriveTimelines(t *testing.T) {
	k, other := TimelineKey{1, 2}, TimelineKey{1, 3}
	scope := "PN1:+5511987654321"
	in := timelineRow(k, 1, domain.DirectionMO, ts(0))
	reply := timelineRow(k, 2, domain.DirectionMT, ts(3600))
	late := timelineRow(k, 3, domain.DirectionMT, ts(30*3600))
	untouched := timelineRow(other, 4, domain.DirectionMT, ts(0))

	got := DeriveTimelines([]TimelineRow{in, reply, late, untouched}, map[TimelineKey]time.Time{k: ts(0)})
	userInitiated := Assignment{ID: 2, WithSession: true, ConversationID: domain.ConversationID(scope, ts(3600)),
		ConversationType: string(domain.ConversationUserInitiated), ConversationCategory: "utility",
		ConversationExpires: ts(3600 + 24*3600).UnixMilli()}
	businessInitiated := Assignment{ID: 3, ConversationID: domain.ConversationID(scope, ts(30*3600)),
		ConversationType: string(domain.ConversationBusinessInitiated), ConversationCategory: "utility",
		ConversationExpires: ts(54 * 3600).UnixMilli()}
	// The inbound message opened no conversation: its stored assignment
	// (none) stands, and the untouched timeline is left alone.
	if want := []Assignment{userInitiated, businessInitiated}; !equalSlices(got, want) {
		t.Fatalf("derived %+v,\nwant %+v", got, want)
	}

	// Stored as derived: nothing changes.
	reply.Stored, late.Stored = userInitiated, businessInitiated
	if got := DeriveTimelines([]TimelineRow{in, reply, late}, map[TimelineKey]time.Time{k: ts(0)}); len(got) != 0 {
		t.Errorf("a derived timeline derived again changed: %+v", got)
	}

	// From an instant after the reply, the earlier messages are the state
	// to start from: a message inside the reply's conversation joins it.
	joins := timelineRow(k, 5, domain.DirectionMT, ts(5*3600))
	got = DeriveTimelines([]TimelineRow{in, reply, joins}, map[TimelineKey]time.Time{k: ts(5 * 3600)})
	want := userInitiated
	want.ID = 5
	if len(got) != 1 || got[0] != want {
		t.Errorf("derived %+v, want the reply's conversation %+v", got, want)
	}

	// A conversation that expired before the instant is not continued.
	after := timelineRow(k, 6, domain.DirectionMT, ts(26*3600))
	got = DeriveTimelines([]TimelineRow{in, reply, after}, map[TimelineKey]time.Time{k: ts(26 * 3600)})
	if len(got) != 1 || got[0].ConversationType != string(domain.ConversationBusinessInitiated) || got[0].WithSession {
		t.Errorf("derived %+v, want a business-initiated conversation outside the session", got)
	}
}

// TestDeriveFromAnAd: a reply within the session of a contact who came
// from an ad opens a 72-hour free entry point conversation.
func TestDeriveFromAnAd(t *testing.T) {
	k := TimelineKey{1, 2}
	in := timelineRow(k, 1, domain.DirectionMO, ts(0))
	in.Message.Referral = true
	reply := timelineRow(k, 2, domain.DirectionMT, ts(60))
	got := DeriveTimelines([]TimelineRow{in, reply}, map[TimelineKey]time.Time{k: ts(0)})
	if len(got) != 1 || got[0].ConversationType != string(domain.ConversationFreeEntryPoint) ||
		got[0].ConversationExpires != ts(60+72*3600).UnixMilli() || got[0].ConversationCategory != "service" {
		t.Errorf("derived %+v, want a free entry point conversation of 72 hours", got)
	}
}
