package campaigns

import (
	"context"
	"strconv"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// CounterContact is a contact behind one of a campaign's counters, for its
// drill-down: an audience row, or a contact who opted out after the start.
type CounterContact struct {
	Phone         string
	Name          string
	CorrelationID string
	Line          int        // the audience's line in the file (audience)
	Vars          []string   // the row's variables (audience)
	At            *time.Time // when it opted out (opted_out)
}

// Counters with a drill-down of their own; the others' contacts are the
// detailed report's, filtered to the campaign.
const (
	OfAudience = "audience"
	OfOptedOut = "opted_out"
)

// CounterContacts calls fn with the contacts behind counter of (OfAudience
// or OfOptedOut) of campaign id, limit at a time after cursor (limit 0:
// all of them, for a download), and returns the next page's cursor ("" on
// the last).
func (s *Service) CounterContacts(ctx context.Context, p *access.Principal, id int64, of, cursor string, limit int,
	fn func(CounterContact) error) (string, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return "", err
	}
	if limit < 0 || limit > 1000 {
		return "", domain.Errorf(domain.EINVALID, "limit must be between 1 and 1000")
	}
	var after int64
	if cursor != "" {
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil || after < 0 {
			return "", domain.Errorf(domain.EINVALID, "cursor is not one this list gave")
		}
	}
	n, next := 0, ""
	switch of {
	case OfAudience:
		seq := int(after)
		for {
			batch := 1000
			if limit > 0 {
				batch = limit + 1 - n
			}
			rows, err := s.Store.CampaignRows(ctx, c.ID, seq, batch)
			if err != nil {
				return "", err
			}
			for _, r := range rows {
				n++
				if limit > 0 && n > limit {
					return strconv.Itoa(seq), nil
				}
				if err := fn(CounterContact{Phone: r.Phone, Name: r.Name, CorrelationID: r.CorrelationID, Line: r.Line, Vars: r.Vars}); err != nil {
					return "", err
				}
				seq = r.Seq
			}
			if len(rows) < batch {
				return "", nil
			}
		}
	case OfOptedOut:
		if c.StartedAt == nil {
			return "", nil
		}
		q := 0
		if limit > 0 {
			q = limit + 1
		}
		var last int64
		err := s.Store.CampaignOptedOutContacts(ctx, c.SubaccountID, c.ID, *c.StartedAt, after, q, func(k store.CampaignOptedOutContact) error {
			n++
			if limit > 0 && n > limit {
				next = strconv.FormatInt(last, 10)
				return nil
			}
			last = k.ID
			at := k.At
			return fn(CounterContact{Phone: k.Phone, Name: k.Name, CorrelationID: k.CorrelationID, At: &at})
		})
		return next, err
	}
	return "", domain.Errorf(domain.EINVALID, "of must be audience or opted_out")
}
