package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// TestOutboundDerivedBeforeInsert: an outbound message's session and
// conversation are derived before its insert, with the message placed in
// its contact's timeline; whatever the order messages arrive in — sent
// late, back-dated before earlier ones, at the same instant as another,
// between a contact's inbound messages, refused — what is stored must be
// what deriving every timeline again from its first message gives, and
// the message the insert returns must carry what was stored. (No wamid is
// given to the sent ones: MarkAccepted does not derive again, and a wamid
// moves its message after others of the same instant in the timeline's
// order — a drift of ties that predates the derivation before the insert.)
func TestOutboundDerivedBeforeInsert(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			fx := newReportFixture(t)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(seed, 14))
			categories := []string{"marketing", "utility", "authentication", ""}
			// Few instants, so that ties happen; spread over four days, so
			// that sessions and conversations open and expire.
			instant := func() time.Time { return base.Add(time.Duration(r.IntN(40)) * 157 * time.Minute) }
			for k := 0; k < 160; k++ {
				i := r.IntN(3) // three contacts of the first subaccount: long timelines
				c := fx.contacts[i]
				at := instant()
				switch op := r.IntN(10); {
				case op < 3: // the contact writes
					fx.apply(t, &domain.WebhookBatch{Messages: []domain.InboundMessage{{Recipient: recipientOf(fx.ch1),
						WAMID: fmt.Sprintf("wamid.in.%d.%d", seed, k), FromWAID: c.WAID, Timestamp: at, Type: "text", Text: "oi"}}})
				default:
					var refused domain.Status
					if op == 9 {
						refused = domain.StatusOptedOut
					}
					m := &domain.Message{SubaccountID: c.SubaccountID, ChannelID: fx.ch1.ID, ContactID: c.ID, Phone: c.Phone,
						WAID: c.WAID, ContentType: "template", Text: "hello", TemplateName: "promo",
						TemplateCategory: categories[r.IntN(len(categories))], State: domain.StateSending,
						Status: domain.StatusSending, At: at}
					if refused != "" {
						m.State, m.Status = domain.StateFailed, refused
					}
					if err := fx.st.InsertOutbound(ctx, m, ""); err != nil {
						t.Fatal(err)
					}
					stored, err := fx.st.Message(ctx, m.ID, nil)
					if err != nil {
						t.Fatal(err)
					}
					if stored.WithSession != m.WithSession || stored.ConversationID != m.ConversationID ||
						stored.ConversationType != m.ConversationType || !sameTime(stored.ConversationExpires, m.ConversationExpires) {
						t.Fatalf("op %d: insert returned session %v conversation %q %s %v; stored %v %q %s %v", k,
							m.WithSession, m.ConversationID, m.ConversationType, m.ConversationExpires,
							stored.WithSession, stored.ConversationID, stored.ConversationType, stored.ConversationExpires)
					}
				}
				if k%20 == 19 {
					drift, err := fx.st.ConversationDrift(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if drift != 0 {
						t.Fatalf("after op %d: %d messages' session or conversation differ from a derivation from scratch", k, drift)
					}
				}
			}
			checkRollup(t, fx.st, "the timeline")
		})
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// TestGroupedPieceFailsAlone: concurrent sends share group transactions;
// one whose idempotency key is taken fails alone (its savepoint rolled
// back: on PostgreSQL a failed statement would otherwise abort the whole
// transaction), and the others of its group are stored.
func TestGroupedPieceFailsAlone(t *testing.T) {
	fx := newReportFixture(t)
	ctx := context.Background()
	const keys = 40
	errs := make(chan error, 3*keys)
	var wg sync.WaitGroup
	for i := range 3 * keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := fx.contacts[i%5]
			m := &domain.Message{SubaccountID: c.SubaccountID, ChannelID: fx.ch1.ID, ContactID: c.ID, Phone: c.Phone,
				WAID: c.WAID, ContentType: "text", Text: "hello", State: domain.StateSending, Status: domain.StatusSending,
				At: base.Add(time.Duration(i) * time.Second)}
			key := ""
			if i < 2*keys {
				key = fmt.Sprint("k-", i%keys) // each key twice
			}
			errs <- fx.st.InsertOutbound(ctx, m, key)
		}()
	}
	wg.Wait()
	close(errs)
	conflicts := 0
	for err := range errs {
		switch {
		case domain.ErrorCode(err) == domain.ECONFLICT:
			conflicts++
		case err != nil:
			t.Fatal(err)
		}
	}
	if conflicts != keys {
		t.Fatalf("%d sends refused for a taken key, want %d", conflicts, keys)
	}
	for i := range keys {
		if _, _, err := fx.st.MessageByIdempotencyKey(ctx, fx.sa1, fmt.Sprint("k-", i)); err != nil {
			t.Fatalf("key k-%d: %v", i, err)
		}
	}
	var n int
	if err := fx.st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2*keys {
		t.Fatalf("%d messages stored, want %d", n, 2*keys)
	}
	if drift, err := fx.st.ConversationDrift(ctx); err != nil || drift != 0 {
		t.Fatalf("drift %d, %v", drift, err)
	}
}
