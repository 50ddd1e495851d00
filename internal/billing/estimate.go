package billing

import (
	"context"
	"fmt"
	"strings"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
)

// Estimate is what a campaign will cost, from the rate card and its
// template's category, before it is confirmed.
type Estimate struct {
	CampaignID   int64  `json:"campaign_id,string"`
	Template     string `json:"template"`
	Language     string `json:"language"`
	Category     string `json:"category"` // the template's: marketing, utility, authentication
	PricingModel string `json:"pricing_model"`
	Currency     string `json:"currency"`
	RateCard     string `json:"rate_card"`
	Rate         string `json:"rate"`       // per message (per conversation under CBP)
	RateMicros   int64  `json:"-"`          // the rate, in millionths
	Recipients   int    `json:"recipients"` // the audience's valid rows
	Remaining    int    `json:"remaining"`  // those not sent yet
	Cost         string `json:"cost"`       // of the remaining ones
	Total        string `json:"total"`      // of the whole audience
	// Priced is false when the card has no rate for the category then;
	// the costs are 0.00.
	Priced bool `json:"priced"`
}

// Estimate prices campaign c's audience at the rate card's list rate for
// its template's category this month: each recipient one charged message
// (a utility template sent inside an open customer-service window is free,
// so the estimate is an upper bound). Admins and supervisors may ask; c is
// one the caller may see (the campaigns service checked).
func (s *Service) Estimate(ctx context.Context, p *access.Principal, c *domain.Campaign) (*Estimate, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only admins and supervisors may see a campaign's estimated cost")
	}
	tpls, err := s.Store.Templates(ctx, []int64{c.SubaccountID})
	if err != nil {
		return nil, err
	}
	e := &Estimate{CampaignID: c.ID, Template: c.Template, Language: c.Language, Currency: s.Rates.Currency,
		RateCard: s.Rates.Version, Recipients: c.Audience, Remaining: max(c.Audience-c.Processed, 0)}
	for _, t := range tpls {
		if t.Name == c.Template && t.Language == c.Language {
			e.Category = domain.ReportCategory(t.Category)
			break
		}
	}
	if e.Category == "" {
		return nil, domain.Errorf(domain.ECONFLICT, "template %s (%s) of campaign %d is not among the subaccount's templates", c.Template, c.Language, c.ID)
	}
	now := s.Now().In(s.Location)
	m := MonthOf(now)
	e.PricingModel = m.PricingModel()
	_, rate := s.Rates.cardCategory(s.Market, e.PricingModel, e.Category, now)
	if rate != nil {
		e.Priced, e.RateMicros = true, rate.micros
		e.Rate = formatRate(rate.micros)
		e.Cost, e.Total = FormatMoney(rate.cost(0, int64(e.Remaining))), FormatMoney(rate.cost(0, int64(e.Recipients)))
	} else {
		e.Rate, e.Cost, e.Total = "0", FormatMoney(0), FormatMoney(0)
	}
	return e, nil
}

// formatRate writes a rate in millionths with the decimals it needs (at
// least two): 62500 is "0.0625".
func formatRate(micros int64) string {
	s := fmt.Sprintf("%d.%06d", micros/1_000_000, micros%1_000_000)
	for strings.HasSuffix(s, "0") && len(s)-strings.IndexByte(s, '.') > 3 {
		s = s[:len(s)-1]
	}
	return s
}
