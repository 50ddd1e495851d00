package simulator

// The WABA analytics Meta bills from: GET /{waba-id}?fields=pricing_analytics…
// (per-message pricing, from July 2025) and conversation_analytics
// (conversation-based pricing, before). The simulator answers them from a
// ledger of what it charged: every message that reached "sent" is counted
// on the UTC day of its send, with the pricing its webhooks carried, and
// every conversation such a message opened (the first of its category for
// the user in 24 hours, 72 from an ad) with its direction and type.

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// isAnalytics reports whether a GET of an id asks for an analytics field.
func isAnalytics(fields string) bool {
	return strings.HasPrefix(fields, "pricing_analytics") || strings.HasPrefix(fields, "conversation_analytics")
}

// rates are the simulator's list prices in US dollars, per message (PMP)
// and per conversation (CBP), for its Brazilian contacts; free types cost 0.
var rates = map[string]float64{"MARKETING": 0.0625, "UTILITY": 0.0068, "AUTHENTICATION": 0.0068}

// conversationRates are the CBP prices of a conversation by category.
var conversationRates = map[string]float64{"MARKETING": 0.0625, "UTILITY": 0.0080, "AUTHENTICATION": 0.0315}

// Charge is one line of what Meta charged: messages (PMP) or conversations
// (CBP) of one phone number, UTC day, category and type.
type Charge struct {
	WABAID      string
	Phone       string    // display digits, as analytics' phone_number
	Day         time.Time // the UTC day
	Category    string    // MARKETING, UTILITY, AUTHENTICATION, SERVICE, REFERRAL_CONVERSION…
	PricingType string    // REGULAR, FREE_CUSTOMER_SERVICE, FREE_ENTRY_POINT; CBP: REGULAR, FREE_ENTRY, FREE_TIER
	// Direction is BUSINESS_INITIATED or USER_INITIATED for a conversation,
	// "" for a message.
	Direction string
	Count     int64
	Cost      float64 // US dollars
}

type chargeKey struct {
	waba, phone                      string
	day                              int64
	category, pricingType, direction string
}

// Charge adds c to the simulator's ledger: what an earlier run charged (a
// demo's history), answered by the analytics endpoints like its own sends.
func (s *Server) Charge(c Charge) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chargeLocked(c)
}

func (s *Server) chargeLocked(c Charge) {
	if s.ledger == nil {
		s.ledger = map[chargeKey]*Charge{}
	}
	day := c.Day.UTC().Truncate(24 * time.Hour)
	k := chargeKey{c.WABAID, c.Phone, day.Unix(), c.Category, c.PricingType, c.Direction}
	e := s.ledger[k]
	if e == nil {
		e = &Charge{WABAID: c.WABAID, Phone: c.Phone, Day: day, Category: c.Category, PricingType: c.PricingType, Direction: c.Direction}
		s.ledger[k] = e
	}
	e.Count += c.Count
	e.Cost += c.Cost
}

// charge records a message that reached "sent" at t0: its pricing, and the
// conversation it opens when it is the first of its category for the user
// in a window.
func (s *Server) charge(ph *phoneState, u *user, p *StatusPricing, t0 time.Time) {
	cat, typ := strings.ToUpper(p.Category), strings.ToUpper(p.Type)
	cost := 0.0
	if p.Billable {
		cost = rates[cat]
	}
	s.chargeLocked(Charge{WABAID: ph.WABAID, Phone: ph.DisplayPhone, Day: t0, Category: cat, PricingType: typ, Count: 1, Cost: cost})

	convCat, convType, window := cat, "REGULAR", serviceWindow
	if typ == "FREE_ENTRY_POINT" {
		convCat, convType, window = "SERVICE", "FREE_ENTRY", entryWindow
	}
	if u.conversations == nil {
		u.conversations = map[string]time.Time{}
	}
	if start, ok := u.conversations[convCat]; ok && t0.Sub(start) < window && !t0.Before(start) {
		return
	}
	u.conversations[convCat] = t0
	dir, convCost := "BUSINESS_INITIATED", conversationRates[convCat]
	if convCat == "SERVICE" {
		dir, convCost = "USER_INITIATED", 0
	}
	if convType == "FREE_ENTRY" {
		convCost = 0
	}
	s.chargeLocked(Charge{WABAID: ph.WABAID, Phone: ph.DisplayPhone, Day: t0, Category: convCat, PricingType: convType,
		Direction: dir, Count: 1, Cost: convCost})
}

// analyticsQuery is a parsed analytics field: pricing_analytics.start(…)…
type analyticsQuery struct {
	field       string
	start, end  int64
	granularity string
	phones      []string // nil: all
	dimensions  map[string]bool
	categories  []string // pricing_categories / conversation_categories filter
	types       []string // pricing_types / conversation_types filter
}

// parseAnalyticsField reads Graph's field-expansion syntax:
// name.param(value).param([list])…
func parseAnalyticsField(f string) (*analyticsQuery, string) {
	name, rest, _ := strings.Cut(f, ".")
	q := &analyticsQuery{field: name, granularity: "DAILY", dimensions: map[string]bool{}}
	for rest != "" {
		open := strings.IndexByte(rest, '(')
		close := strings.IndexByte(rest, ')')
		if open < 0 || close < open {
			return nil, "Syntax error in field expansion near " + strconv.Quote(rest)
		}
		param, val := rest[:open], rest[open+1:close]
		rest = strings.TrimPrefix(rest[close+1:], ".")
		list := splitList(val)
		switch param {
		case "start", "end":
			n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
			if err != nil {
				return nil, fmt.Sprintf("Invalid parameter %s: %q is not a UNIX timestamp", param, val)
			}
			if param == "start" {
				q.start = n
			} else {
				q.end = n
			}
		case "granularity":
			q.granularity = strings.ToUpper(strings.TrimSpace(val))
		case "phone_numbers":
			if len(list) > 0 {
				q.phones = list
			}
		case "dimensions":
			for _, d := range list {
				q.dimensions[strings.ToUpper(d)] = true
			}
		case "pricing_categories", "conversation_categories":
			q.categories = list
		case "pricing_types", "conversation_types":
			q.types = list
		case "country_codes", "metric_types", "conversation_directions":
		default:
			return nil, fmt.Sprintf("Unknown parameter %s of %s", param, name)
		}
	}
	switch {
	case q.start == 0 || q.end == 0:
		return nil, "Parameters start and end are required"
	case q.end <= q.start:
		return nil, "Parameter end must be after start"
	case q.granularity != "DAILY" && q.granularity != "MONTHLY" && q.granularity != "HALF_HOUR":
		return nil, "Invalid parameter granularity: " + q.granularity
	}
	return q, ""
}

func splitList(v string) []string {
	v = strings.Trim(strings.TrimSpace(v), "[]")
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.Trim(strings.TrimSpace(p), `"'`); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// handleAnalytics answers GET /{waba-id}?fields=pricing_analytics… or
// conversation_analytics… from the ledger, in Meta's shape: data points of
// the granularity's periods, with the requested dimensions and the others
// summed.
func (s *Server) handleAnalytics(w http.ResponseWriter, r *http.Request, waba string) {
	_, ok := s.wabaRequest(w, r, waba)
	if !ok {
		return
	}
	q, msg := parseAnalyticsField(r.URL.Query().Get("fields"))
	if q == nil {
		s.writeError(w, http.StatusBadRequest, graphError{Code: 100, Type: "OAuthException", Message: "(#100) " + msg})
		return
	}
	conv := q.field == "conversation_analytics"
	type pointKey struct {
		start, end                              int64
		phone, category, pricingType, direction string
	}
	points := map[pointKey]*Charge{}
	s.mu.Lock()
	for _, c := range s.ledger {
		if c.WABAID != waba || (c.Direction != "") != conv {
			continue
		}
		day := c.Day.Unix()
		if day < q.start || day >= q.end || q.phones != nil && !slices.Contains(q.phones, c.Phone) ||
			q.categories != nil && !slices.Contains(q.categories, c.Category) ||
			q.types != nil && !slices.Contains(q.types, c.PricingType) {
			continue
		}
		start, end := day, day+86400
		if q.granularity == "MONTHLY" {
			t := c.Day
			m := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
			start, end = m.Unix(), m.AddDate(0, 1, 0).Unix()
		}
		k := pointKey{start: start, end: end}
		if q.dimensions["PHONE"] {
			k.phone = c.Phone
		}
		if q.dimensions["PRICING_CATEGORY"] || q.dimensions["CONVERSATION_CATEGORY"] {
			k.category = c.Category
		}
		if q.dimensions["PRICING_TYPE"] || q.dimensions["CONVERSATION_TYPE"] {
			k.pricingType = c.PricingType
		}
		if q.dimensions["CONVERSATION_DIRECTION"] {
			k.direction = c.Direction
		}
		p := points[k]
		if p == nil {
			p = &Charge{}
			points[k] = p
		}
		p.Count += c.Count
		p.Cost += c.Cost
	}
	s.mu.Unlock()
	keys := make([]pointKey, 0, len(points))
	for k := range points {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b pointKey) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.phone, b.phone), cmp.Compare(a.category, b.category),
			cmp.Compare(a.pricingType, b.pricingType), cmp.Compare(a.direction, b.direction))
	})
	data := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		p := points[k]
		dp := map[string]any{"start": k.start, "end": k.end, "cost": math.Round(p.Cost*1e6) / 1e6}
		if q.dimensions["COUNTRY"] {
			dp["country"] = "BR"
		}
		if k.phone != "" {
			dp["phone_number"] = k.phone
		}
		if conv {
			dp["conversation"] = p.Count
			if k.category != "" {
				dp["conversation_category"] = k.category
			}
			if k.pricingType != "" {
				dp["conversation_type"] = k.pricingType
			}
			if k.direction != "" {
				dp["conversation_direction"] = k.direction
			}
		} else {
			dp["volume"] = p.Count
			if k.category != "" {
				dp["pricing_category"] = k.category
			}
			if k.pricingType != "" {
				dp["pricing_type"] = k.pricingType
			}
		}
		data = append(data, dp)
	}
	writeJSON(w, http.StatusOK, map[string]any{q.field: map[string]any{"data": []any{map[string]any{"data_points": data}}},
		"currency": "USD", "id": waba})
}
