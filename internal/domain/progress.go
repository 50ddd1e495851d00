package domain

import "time"

// Progress is the part of an outbound message that status webhooks change.
// Apply merges one status event into it so that the result depends only on
// the set of events seen, never on their order or repetition: states only
// move up (failed is terminal), each timestamp is the earliest reported,
// read implies delivered, and a failed message has no time after its
// failure.
type Progress struct {
	State       State
	ErrorCode   int
	ErrorTitle  string
	ErrorDetail string

	FirstAt     time.Time // earliest timestamp of any status
	SentAt      time.Time
	DeliveredAt time.Time
	ReadAt      time.Time
	FailedAt    time.Time

	Pricing     Pricing
	PricingRank int // rank of the state whose event carried Pricing; -1 when none

	MetaConversation MetaConversation
}

// Apply merges e into p and reports whether p changed.
func (p *Progress) Apply(e *StatusEvent) bool {
	before := *p
	ts := e.Timestamp
	if e.State.Rank() > p.State.Rank() {
		p.State = e.State
	}
	earliest(&p.FirstAt, ts)
	switch e.State {
	case StateSent:
		earliest(&p.SentAt, ts)
	case StateDelivered:
		earliest(&p.DeliveredAt, ts)
	case StateRead, StatePlayed:
		earliest(&p.ReadAt, ts)
		earliest(&p.DeliveredAt, ts)
	case StateFailed:
		var code int
		var title, detail string
		if len(e.Errors) > 0 {
			code, title, detail = e.Errors[0].Code, e.Errors[0].Title, e.Errors[0].Details
			if detail == "" {
				detail = e.Errors[0].Message
			}
		}
		// Of two failures, the earliest wins; at the same instant the lower
		// code, so duplicates in any order agree.
		if p.FailedAt.IsZero() || ts.Before(p.FailedAt) || (ts.Equal(p.FailedAt) && code < p.ErrorCode) {
			p.ErrorCode, p.ErrorTitle, p.ErrorDetail = code, title, detail
		}
		earliest(&p.FailedAt, ts)
	}
	if !p.FailedAt.IsZero() {
		// A failed message keeps the times it had when it failed: a
		// delivery or read reported after the failure (Meta sends them)
		// is not one. Timestamps are compared, not arrival, so any order
		// of the same events agrees.
		for _, t := range []*time.Time{&p.SentAt, &p.DeliveredAt, &p.ReadAt} {
			if t.After(p.FailedAt) {
				*t = time.Time{}
			}
		}
	}
	if e.Pricing != nil && e.State.Rank() > p.PricingRank {
		p.Pricing = *e.Pricing
		p.PricingRank = e.State.Rank()
	}
	// Statuses of one message normally carry one conversation; should they
	// differ, the smallest id wins, so the result does not depend on order.
	if c := e.Conversation; c != nil && c.ID != "" && (p.MetaConversation.ID == "" || c.ID < p.MetaConversation.ID) {
		p.MetaConversation = *c
	}
	return !before.equal(p)
}

// Status is the report status the progress amounts to.
func (p *Progress) Status() Status { return ReportStatus(p.State, p.ErrorCode) }

func (p *Progress) equal(o *Progress) bool {
	return p.State == o.State && p.ErrorCode == o.ErrorCode && p.ErrorTitle == o.ErrorTitle &&
		p.ErrorDetail == o.ErrorDetail && p.FirstAt.Equal(o.FirstAt) && p.SentAt.Equal(o.SentAt) &&
		p.DeliveredAt.Equal(o.DeliveredAt) && p.ReadAt.Equal(o.ReadAt) && p.FailedAt.Equal(o.FailedAt) &&
		p.Pricing.Model == o.Pricing.Model && p.Pricing.Category == o.Pricing.Category &&
		p.Pricing.Type == o.Pricing.Type && boolPtrEqual(p.Pricing.Billable, o.Pricing.Billable) &&
		p.PricingRank == o.PricingRank && p.MetaConversation.ID == o.MetaConversation.ID &&
		p.MetaConversation.Origin == o.MetaConversation.Origin &&
		p.MetaConversation.ExpiresAt.Equal(o.MetaConversation.ExpiresAt)
}

func earliest(dst *time.Time, ts time.Time) {
	if ts.IsZero() {
		return
	}
	if dst.IsZero() || ts.Before(*dst) {
		*dst = ts
	}
}

func boolPtrEqual(a, b *bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
