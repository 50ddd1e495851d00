package cloudapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// analyticsPage is the answer to GET /{waba_id}?fields=pricing_analytics…
// or conversation_analytics…: data points of one or more sets.
type analyticsPage struct {
	Pricing      *analyticsSet `json:"pricing_analytics"`
	Conversation *analyticsSet `json:"conversation_analytics"`
}

type analyticsSet struct {
	Data []struct {
		DataPoints []struct {
			Start                 int64       `json:"start"`
			End                   int64       `json:"end"`
			PhoneNumber           string      `json:"phone_number"`
			Country               string      `json:"country"`
			PricingType           string      `json:"pricing_type"`
			PricingCategory       string      `json:"pricing_category"`
			Volume                int64       `json:"volume"`
			Conversation          int64       `json:"conversation"`
			ConversationType      string      `json:"conversation_type"`
			ConversationDirection string      `json:"conversation_direction"`
			ConversationCategory  string      `json:"conversation_category"`
			Cost                  json.Number `json:"cost"`
		} `json:"data_points"`
	} `json:"data"`
}

// PricingAnalytics asks Meta what it charged a WABA per message (per-message
// pricing, from July 2025): GET {BaseURL}/{waba_id}?fields=pricing_analytics
// .start(from).end(to).granularity(DAILY).dimensions(PHONE,PRICING_CATEGORY,
// PRICING_TYPE), one point per UTC day, phone number, category and type.
func (c *Client) PricingAnalytics(ctx context.Context, wabaID, accessToken string, from, to time.Time) ([]domain.MetaCharge, error) {
	return c.analytics(ctx, "pricing_analytics", wabaID, accessToken, from, to,
		`["PHONE","PRICING_CATEGORY","PRICING_TYPE"]`)
}

// ConversationAnalytics asks Meta what it charged a WABA per conversation
// (conversation-based pricing, before July 2025): fields=conversation_analytics
// with the dimensions phone, category, type and direction.
func (c *Client) ConversationAnalytics(ctx context.Context, wabaID, accessToken string, from, to time.Time) ([]domain.MetaCharge, error) {
	return c.analytics(ctx, "conversation_analytics", wabaID, accessToken, from, to,
		`["PHONE","CONVERSATION_CATEGORY","CONVERSATION_TYPE","CONVERSATION_DIRECTION"]`)
}

func (c *Client) analytics(ctx context.Context, field, wabaID, token string, from, to time.Time, dims string) ([]domain.MetaCharge, error) {
	if wabaID == "" {
		return nil, domain.Errorf(domain.EINVALID, "no WABA id to ask %s of", field)
	}
	expr := fmt.Sprintf("%s.start(%d).end(%d).granularity(DAILY).dimensions(%s)", field, from.Unix(), to.Unix(), dims)
	u := c.base() + "/" + url.PathEscape(wabaID) + "?" + url.Values{"fields": {expr}}.Encode()
	var page analyticsPage
	if err := c.do(ctx, request{op: field + " of WABA " + wabaID, method: "GET", url: u, token: token}, &page); err != nil {
		return nil, err
	}
	set := page.Pricing
	if field == "conversation_analytics" {
		set = page.Conversation
	}
	if set == nil {
		return []domain.MetaCharge{}, nil
	}
	out := []domain.MetaCharge{}
	for _, d := range set.Data {
		for _, p := range d.DataPoints {
			cost, err := micros(p.Cost)
			if err != nil {
				return nil, fmt.Errorf("cloud api: %s of WABA %s: cost %q: %w", field, wabaID, p.Cost, err)
			}
			m := domain.MetaCharge{Start: time.Unix(p.Start, 0).UTC(), End: time.Unix(p.End, 0).UTC(), Phone: p.PhoneNumber,
				Category: strings.ToLower(p.PricingCategory), PricingType: strings.ToLower(p.PricingType), Count: p.Volume, CostMicros: cost}
			if field == "conversation_analytics" {
				m.Category, m.PricingType, m.Count = strings.ToLower(p.ConversationCategory), strings.ToLower(p.ConversationType), p.Conversation
				m.Direction = strings.ToLower(p.ConversationDirection)
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// micros reads a decimal amount of money (Meta sends a JSON number) as
// millionths, without going through floating point.
func micros(n json.Number) (int64, error) {
	s := string(n)
	if s == "" {
		return 0, nil
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if strings.ContainsAny(s, "eE") { // an exponent: rare, and exact enough at six decimals
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, err
		}
		s = strconv.FormatFloat(f, 'f', 6, 64)
	}
	whole, frac, _ := strings.Cut(s, ".")
	frac = (frac + "000000")[:6]
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, err
	}
	v := w*1_000_000 + f
	if neg {
		v = -v
	}
	return v, nil
}
