package tracking

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// FunnelStep is one step of a funnel: an event's category and action, or a
// stage of a campaign's messages.
type FunnelStep struct {
	Category string `json:"category,omitempty"`
	Action   string `json:"action,omitempty"`
	Campaign int64  `json:"campaign,omitempty"`
	Stage    string `json:"stage,omitempty"` // delivered, read, replied, clicked
}

// Label names the step for people.
func (s FunnelStep) Label() string {
	if s.Campaign != 0 {
		return fmt.Sprintf("#%d · %s", s.Campaign, s.Stage)
	}
	return s.Category + " · " + s.Action
}

// FunnelQuery is a funnel report: its steps in order, the period of the
// first step, and how long a contact has from one step to the next.
type FunnelQuery struct {
	Subaccount int64        `json:"subaccount,omitempty"`
	Steps      []FunnelStep `json:"steps"`
	From       string       `json:"from,omitempty"`
	To         string       `json:"to,omitempty"`
	Within     string       `json:"within,omitempty"` // a duration: "30m", "24h", "7d"; 24h by default
}

// FunnelStepResult is how many contacts reached a step, the share of the
// previous step's, and the median time they took from it.
type FunnelStepResult struct {
	Label         string   `json:"label"`
	Contacts      int64    `json:"contacts"`
	Conversion    float64  `json:"conversion"`
	MedianSeconds *float64 `json:"median_seconds"`
}

// FunnelResult is a funnel's steps.
type FunnelResult struct {
	From   time.Time          `json:"from"`
	To     time.Time          `json:"to"`
	Within string             `json:"within"`
	Steps  []FunnelStepResult `json:"steps"`
}

// Limits of a funnel.
const (
	MaxFunnelSteps  = 8
	MaxFunnelWithin = 30 * 24 * time.Hour
	MaxFunnelDays   = 92
)

// parseWithin reads a duration, with d for days.
func parseWithin(v string) (time.Duration, error) {
	if v == "" {
		return 24 * time.Hour, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(v, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(v)
	}
	if err != nil || d <= 0 || d > MaxFunnelWithin {
		return 0, domain.Errorf(domain.EINVALID, "within %q must be a duration such as 30m, 24h or 7d, at most 30 days", v)
	}
	return d, nil
}

// Funnel counts the contacts who did each step in order: the first step
// any time in the period, each next one after the previous step and within
// the time limit of it. Conversion is the share of the previous step's
// contacts; the median is of the time from the previous step.
func (s *Service) Funnel(ctx context.Context, p *access.Principal, q FunnelQuery) (*FunnelResult, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	scope, err := p.Narrow(q.Subaccount)
	if err != nil {
		return nil, err
	}
	if len(q.Steps) < 2 || len(q.Steps) > MaxFunnelSteps {
		return nil, domain.Errorf(domain.EINVALID, "steps: a funnel has 2 to %d steps", MaxFunnelSteps)
	}
	within, err := parseWithin(q.Within)
	if err != nil {
		return nil, err
	}
	from, to, err := s.period(q.From, q.To)
	if err != nil {
		return nil, err
	}
	if to.Sub(from) > MaxFunnelDays*24*time.Hour {
		return nil, domain.Errorf(domain.EINVALID, "the period is over %d days", MaxFunnelDays)
	}
	sources := make([]store.FunnelSource, len(q.Steps))
	for i, st := range q.Steps {
		src, err := funnelSource(i, st)
		if err != nil {
			return nil, err
		}
		sources[i] = src
	}
	res := &FunnelResult{From: from, To: to, Within: within.String(), Steps: make([]FunnelStepResult, len(q.Steps))}
	var reached map[int64]int64 // contact → when it reached the previous step
	for i, src := range sources {
		end := to
		if i > 0 {
			end = to.Add(time.Duration(i) * within)
		}
		// The first step needs each contact's first time; a later one only
		// the contacts that reached the step before.
		var times map[int64][]int64
		if i == 0 {
			times, err = s.Store.FunnelTimes(ctx, scope, src, from, end, true, nil)
		} else {
			times, err = s.Store.FunnelNext(ctx, scope, src, from, end, reached)
		}
		if err != nil {
			return nil, err
		}
		step := FunnelStepResult{Label: q.Steps[i].Label()}
		next := map[int64]int64{}
		if i == 0 {
			for contact, list := range times {
				next[contact] = list[0]
			}
			step.Conversion = 1
		} else {
			// The same step twice in a row needs a later occurrence, not the
			// one that reached the previous step.
			strict := sources[i] == sources[i-1]
			var waits []float64
			for contact, prev := range reached {
				list := times[contact]
				j, _ := slices.BinarySearch(list, prev)
				for strict && j < len(list) && list[j] == prev {
					j++
				}
				if j < len(list) && list[j]-prev <= within.Milliseconds() {
					next[contact] = list[j]
					waits = append(waits, float64(list[j]-prev)/1000)
				}
			}
			if prev := res.Steps[i-1].Contacts; prev > 0 {
				step.Conversion = float64(len(next)) / float64(prev)
			}
			if len(waits) > 0 {
				m := median(waits)
				step.MedianSeconds = &m
			}
		}
		step.Contacts = int64(len(next))
		res.Steps[i] = step
		reached = next
	}
	return res, nil
}

func funnelSource(i int, st FunnelStep) (store.FunnelSource, error) {
	if st.Campaign != 0 {
		if st.Category != "" || st.Action != "" {
			return store.FunnelSource{}, domain.Errorf(domain.EINVALID, "steps[%d]: a step is an action or a campaign's stage, not both", i)
		}
		switch st.Stage {
		case "delivered", "read", "replied", "clicked":
		default:
			return store.FunnelSource{}, domain.Errorf(domain.EINVALID, "steps[%d].stage must be delivered, read, replied or clicked", i)
		}
		if st.Campaign < 0 {
			return store.FunnelSource{}, domain.Errorf(domain.EINVALID, "steps[%d].campaign must be a campaign id", i)
		}
		return store.FunnelSource{CampaignID: st.Campaign, Stage: st.Stage}, nil
	}
	if st.Stage != "" {
		return store.FunnelSource{}, domain.Errorf(domain.EINVALID, "steps[%d]: stage goes with campaign", i)
	}
	c, err := name(fmt.Sprintf("steps[%d].category", i), st.Category)
	if err != nil {
		return store.FunnelSource{}, domain.Errorf(domain.EINVALID, "%v", err)
	}
	a, err := name(fmt.Sprintf("steps[%d].action", i), st.Action)
	if err != nil {
		return store.FunnelSource{}, domain.Errorf(domain.EINVALID, "%v", err)
	}
	return store.FunnelSource{Category: c, Action: a}, nil
}

// median of xs (reordered).
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
