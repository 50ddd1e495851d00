package ingest

import (
	"log/slog"
	"sync"
	"time"
)

// Health is whether the store can write, as ingestion last found it. A
// failure of the store (a full disk, a database that went away) is not
// blamed on the webhooks: the processor retries, the webhook handler
// answers 503 so Meta sends again, /readyz fails, and an admin sees why in
// the log, the metrics and, once it has passed, the webhook events list.
type Health struct {
	metrics *Metrics

	mu       sync.Mutex
	failing  bool
	since    time.Time
	cause    string
	attempts int
}

// NewHealth returns the health of a store that writes, reported on m's
// metrics (m may be nil).
func NewHealth(m *Metrics) *Health { return &Health{metrics: m} }

// Outage is a time the store could not write.
type Outage struct {
	Since, Until time.Time
	Cause        string // the last failure
	Attempts     int    // writes that failed meanwhile
}

// Failed records that a write failed because the store could not write;
// source names the writer (apply, inbox, probe).
func (h *Health) Failed(source string, err error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	first := !h.failing
	if first {
		h.failing, h.since, h.attempts = true, time.Now(), 0
	}
	h.attempts++
	h.cause = err.Error()
	h.mu.Unlock()
	if m := h.metrics; m != nil {
		m.StoreFailures.WithLabelValues(source).Inc()
		m.StoreFailing.Set(1)
	}
	if first {
		slog.Error("ingest: the store cannot write; webhooks are answered 503 and applying is retried until it can",
			slog.String("source", source), slog.Any("err", err))
	} else {
		slog.Warn("ingest: the store still cannot write", slog.String("source", source), slog.Any("err", err))
	}
}

// Recovered records a write that succeeded. It returns the outage that
// ended, if one did.
func (h *Health) Recovered() (Outage, bool) {
	if h == nil {
		return Outage{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.failing {
		return Outage{}, false
	}
	o := Outage{Since: h.since, Until: time.Now(), Cause: h.cause, Attempts: h.attempts}
	h.failing = false
	if m := h.metrics; m != nil {
		m.StoreFailing.Set(0)
	}
	slog.Info("ingest: the store writes again", slog.Duration("after", o.Until.Sub(o.Since)),
		slog.Int("failed_writes", o.Attempts))
	return o, true
}

// Failing returns the outage going on, if any.
func (h *Health) Failing() (Outage, bool) {
	if h == nil {
		return Outage{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.failing {
		return Outage{}, false
	}
	return Outage{Since: h.since, Cause: h.cause, Attempts: h.attempts}, true
}
