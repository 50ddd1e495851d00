package ingest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

// Handler serves GET and POST /webhooks/whatsapp.
type Handler struct {
	Inbox       *Inbox
	Metrics     *Metrics
	AppSecret   []byte
	VerifyToken string
	MaxBytes    int64
	// Health, when set, refuses webhooks with 503 while the store cannot
	// write, so Meta sends them again later.
	Health *Health
}

// retryAfterUnavailable is what a webhook refused for a store that cannot
// write is told: Meta's own retries are slower anyway.
const retryAfterUnavailable = 30 * time.Second

// Verify answers Meta's subscription handshake: the challenge is echoed only
// when the verify token matches.
func (h *Handler) Verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if h.VerifyToken == "" {
		respond.Error(w, r, domain.Errorf(domain.EFORBIDDEN, "webhook verification is not configured (set TICKS_WA_VERIFY_TOKEN)"))
		return
	}
	if q.Get("hub.mode") != "subscribe" {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "hub.mode must be subscribe"))
		return
	}
	if !secret.Equal(q.Get("hub.verify_token"), h.VerifyToken) {
		respond.Error(w, r, domain.Errorf(domain.EFORBIDDEN, "hub.verify_token does not match"))
		return
	}
	challenge := q.Get("hub.challenge")
	if challenge == "" {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "hub.challenge is missing"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	io.WriteString(w, challenge)
}

// Receive checks a webhook's signature, stores it durably and only then
// answers 200. A body that is unsigned, badly signed, too large or not JSON
// is refused with a 4xx and stored nowhere; a signed JSON body is always
// kept, its unreadable parts set aside with their reason when applied
// (whatsapp.AcceptWebhook), since Meta would retry and then drop it whole.
func (h *Handler) Receive(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	result := "accepted"
	defer func() {
		if h.Metrics != nil {
			h.Metrics.Requests.WithLabelValues(result).Inc()
			if result == "accepted" {
				h.Metrics.RequestTime.Observe(time.Since(start).Seconds())
			}
		}
	}()
	fail := func(kind string, err error) {
		result = kind
		respond.Error(w, r, err)
	}
	if len(h.AppSecret) == 0 {
		fail("unconfigured", domain.Errorf(domain.EUNAUTHORIZED, "webhook signatures cannot be checked: TICKS_WA_APP_SECRET is not set"))
		return
	}
	sig := r.Header.Get("X-Hub-Signature-256")
	if sig == "" {
		fail("unsigned", domain.Errorf(domain.EUNAUTHORIZED, "missing X-Hub-Signature-256 header"))
		return
	}
	// Read into a buffer the size the client announced, so a body takes one
	// allocation instead of ReadAll's growing ones; not above 64 KiB, so an
	// unchecked claim cannot make every request allocate the size limit.
	buf := bytes.NewBuffer(make([]byte, 0, max(0, min(r.ContentLength, 64<<10))+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.MaxBytes))
	body := buf.Bytes()
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			fail("too_large", domain.Errorf(domain.ETOOLARGE, "webhook body over %d bytes", h.MaxBytes))
			return
		}
		fail("bad_body", domain.Errorf(domain.EINVALID, "reading webhook body: %v", err))
		return
	}
	if !whatsapp.VerifySignature(h.AppSecret, body, sig) {
		fail("bad_signature", domain.Errorf(domain.EUNAUTHORIZED, "X-Hub-Signature-256 does not match the body"))
		return
	}
	batch, err := whatsapp.AcceptWebhook(body)
	if err != nil {
		fail("invalid", err)
		return
	}
	if o, failing := h.Health.Failing(); failing {
		fail("store_unavailable", &domain.Error{Code: domain.EUNAVAILABLE, RetryAfter: retryAfterUnavailable,
			Message: "the store cannot write since " + o.Since.UTC().Format(time.RFC3339) + "; send the webhook again later"})
		return
	}
	if err := h.Inbox.Append(r.Context(), body, batch); err != nil {
		if errors.Is(err, ErrClosed) {
			w.Header().Set("Retry-After", "5")
			fail("unavailable", domain.Errorf(domain.EINTERNAL, "shutting down"))
			return
		}
		if store.IsUnavailable(err) {
			h.Health.Failed("inbox", err)
			fail("store_unavailable", &domain.Error{Code: domain.EUNAVAILABLE, RetryAfter: retryAfterUnavailable,
				Message: "the store cannot write; send the webhook again later"})
			return
		}
		fail("store_failed", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`)
}
