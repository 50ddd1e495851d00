package tracking

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
)

// Kinds of saved custom reports.
const (
	KindEvents = "events"
	KindFunnel = "funnel"
)

// Definition is what a saved custom report runs: the last Days days (30 by
// default) of an event report (granularity, categories, actions, bot) or of
// a funnel (steps, within).
type Definition struct {
	Days        int          `json:"days,omitempty"`
	Granularity string       `json:"granularity,omitempty"`
	Categories  []string     `json:"categories,omitempty"`
	Actions     []string     `json:"actions,omitempty"`
	Bot         int64        `json:"bot,omitempty"`
	Steps       []FunnelStep `json:"steps,omitempty"`
	Within      string       `json:"within,omitempty"`
}

// SavedInput is a custom report to save.
type SavedInput struct {
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`
	Shared       bool       `json:"shared"`
	SubaccountID int64      `json:"subaccount_id"`
	Definition   Definition `json:"definition"`
}

// SavedReport is a saved custom report with its definition.
type SavedReport struct {
	domain.CustomReport
	Definition Definition `json:"definition"`
}

// SaveReport saves a custom report for p (a user, or an API token),
// optionally shared with its subaccount. Readers of reports may.
func (s *Service) SaveReport(ctx context.Context, p *access.Principal, in SavedInput) (*SavedReport, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	sub, err := p.WriteTarget(in.SubaccountID)
	if err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 100 {
		return nil, domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
	}
	d := &in.Definition
	if d.Days == 0 {
		d.Days = 30
	}
	switch in.Kind {
	case KindEvents:
		if d.Granularity == "" {
			d.Granularity = domain.GranularityDay
		}
		switch d.Granularity {
		case domain.GranularityHour, domain.GranularityDay, domain.GranularityWeek, domain.GranularityMonth:
		default:
			return nil, domain.Errorf(domain.EINVALID, "definition.granularity must be hour, day, week or month")
		}
		if d.Days < 1 || d.Days > MaxDayDays || d.Granularity == domain.GranularityHour && d.Days > MaxHourDays {
			return nil, domain.Errorf(domain.EINVALID, "definition.days is out of range for %s", d.Granularity)
		}
		if len(d.Steps) > 0 || d.Within != "" {
			return nil, domain.Errorf(domain.EINVALID, "definition: steps and within belong to funnels")
		}
	case KindFunnel:
		if len(d.Steps) < 2 || len(d.Steps) > MaxFunnelSteps {
			return nil, domain.Errorf(domain.EINVALID, "definition.steps: a funnel has 2 to %d steps", MaxFunnelSteps)
		}
		for i, st := range d.Steps {
			if _, err := funnelSource(i, st); err != nil {
				return nil, err
			}
		}
		if _, err := parseWithin(d.Within); err != nil {
			return nil, err
		}
		if d.Days < 1 || d.Days > MaxFunnelDays {
			return nil, domain.Errorf(domain.EINVALID, "definition.days must be 1 to %d", MaxFunnelDays)
		}
	default:
		return nil, domain.Errorf(domain.EINVALID, "kind must be events or funnel, not %q", in.Kind)
	}
	def, _ := json.Marshal(d)
	r := &domain.CustomReport{SubaccountID: sub, UserID: p.UserID, TokenID: p.TokenID, Name: in.Name, Kind: in.Kind,
		Definition: string(def), Shared: in.Shared}
	if err := s.Store.CreateCustomReport(ctx, r); err != nil {
		return nil, err
	}
	return &SavedReport{CustomReport: *r, Definition: *d}, nil
}

// SavedReports lists p's own custom reports and those shared with its
// subaccounts.
func (s *Service) SavedReports(ctx context.Context, p *access.Principal) ([]SavedReport, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	list, err := s.Store.CustomReports(ctx, p.Scope, p.UserID, p.TokenID)
	if err != nil {
		return nil, err
	}
	out := make([]SavedReport, len(list))
	for i, r := range list {
		out[i].CustomReport = r
		_ = json.Unmarshal([]byte(r.Definition), &out[i].Definition)
	}
	return out, nil
}
