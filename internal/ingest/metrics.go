// Package ingest takes in Meta's webhooks: it checks and durably stores each
// one before answering (the inbox), then applies them to the message model
// in batches (the processor).
package ingest

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the ingest counters and latency histograms served on /metrics.
type Metrics struct {
	Requests       *prometheus.CounterVec
	RequestTime    prometheus.Histogram
	CommitTime     prometheus.Histogram
	CommitBatch    prometheus.Histogram
	EventsApplied  *prometheus.CounterVec
	EventsSetAside prometheus.Counter
	ApplyTime      prometheus.Histogram
	Lag            prometheus.Gauge
	StoreFailing   prometheus.Gauge
	StoreFailures  *prometheus.CounterVec
}

// NewMetrics creates the ingest metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ticks_webhook_requests_total", Help: "Webhook POSTs by result.",
		}, []string{"result"}),
		RequestTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ticks_webhook_request_seconds", Help: "Time to answer an accepted webhook POST.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		CommitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ticks_inbox_commit_seconds", Help: "Time of one inbox group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		CommitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ticks_inbox_commit_bodies", Help: "Webhook bodies per inbox group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		EventsApplied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ticks_ingest_events_applied_total", Help: "Webhook events applied to the message model, by kind.",
		}, []string{"kind"}),
		EventsSetAside: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ticks_ingest_events_set_aside_total", Help: "Webhook events and parts not applied, kept for admins with their reason.",
		}),
		ApplyTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ticks_ingest_apply_seconds", Help: "Time to apply one batch of inbox rows.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		Lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ticks_ingest_lag_rows", Help: "Inbox rows stored but not yet applied.",
		}),
		StoreFailing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ticks_store_write_failing", Help: "1 while the store cannot write (webhooks answered 503, /readyz failing), else 0.",
		}),
		StoreFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ticks_store_write_failures_total", Help: "Writes that failed because the store could not write, by writer (apply, inbox, probe).",
		}, []string{"source"}),
	}
	reg.MustRegister(m.Requests, m.RequestTime, m.CommitTime, m.CommitBatch, m.EventsApplied, m.EventsSetAside, m.ApplyTime, m.Lag, m.StoreFailing, m.StoreFailures)
	return m
}
