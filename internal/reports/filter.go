package reports

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
)

// filterParams are the query parameters of the detailed report.
var filterParams = map[string]bool{
	"from": true, "to": true, "direction": true, "subaccount": true, "user": true, "campaign": true,
	"content_type": true, "session": true, "correlation_id": true, "status": true, "phone": true,
	"conversation_id": true, "conversation_type": true, "limit": true, "cursor": true, "format": true,
}

// ParseFilter reads the detailed report's query parameters (SPEC section
// 5) into a filter scoped to p: the one reader of them, for the API, the
// web pages and the exports. Dates are in loc unless they carry their own
// offset; a date-only "to" includes that whole day; without "from" the
// report starts a week before now.
func ParseFilter(q url.Values, p *access.Principal, loc *time.Location, now time.Time) (*domain.MessageFilter, error) {
	for k := range q {
		if !filterParams[k] {
			return nil, paramError(k, "unknown parameter %q", k)
		}
	}
	f := &domain.MessageFilter{Subaccounts: p.Scope}
	var err error
	if f.From, err = parseWhen(q.Get("from"), loc, false); err != nil {
		return nil, paramError("from", "from: %v", domain.ErrorMessage(err))
	}
	if f.To, err = parseWhen(q.Get("to"), loc, true); err != nil {
		return nil, paramError("to", "to: %v", domain.ErrorMessage(err))
	}
	if f.From.IsZero() {
		f.From = now.In(loc).AddDate(0, 0, -7)
	}
	if !f.To.IsZero() && !f.From.Before(f.To) {
		return nil, paramError("to", "from must be before to")
	}
	switch d := q.Get("direction"); d {
	case "", "mt":
		f.Direction = domain.DirectionMT
	case "mo":
		f.Direction = domain.DirectionMO
	default:
		return nil, paramError("direction", "direction must be mt or mo, not %q", d)
	}
	ints := []struct {
		name string
		dst  *int64
	}{{"subaccount", &f.Subaccount}, {"user", &f.User}, {"campaign", &f.Campaign}}
	for _, it := range ints {
		if v := q.Get(it.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return nil, paramError(it.name, "%s must be a positive integer id", it.name)
			}
			*it.dst = n
		}
	}
	if f.Subaccount != 0 && !p.CanSee(f.Subaccount) {
		return nil, &FilterError{Param: "subaccount", Err: domain.Errorf(domain.EFORBIDDEN, "subaccount %d is not yours", f.Subaccount)}
	}
	f.ContentType = strings.TrimSpace(q.Get("content_type"))
	switch v := q.Get("session"); v {
	case "":
	case "true", "false":
		b := v == "true"
		f.Session = &b
	default:
		return nil, paramError("session", "session must be true or false")
	}
	f.CorrelationID = strings.TrimSpace(q.Get("correlation_id"))
	for _, v := range q["status"] {
		for _, s := range strings.Split(v, ",") {
			st := domain.Status(strings.TrimSpace(s))
			if !st.Valid() && st != "received" {
				return nil, paramError("status", "status %q is not a report status", s)
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if v := strings.TrimSpace(q.Get("phone")); v != "" {
		e164, err := phone.Normalize(v, "BR")
		if err != nil {
			return nil, paramError("phone", "phone: %v", err)
		}
		f.Phone = e164
	}
	f.ConversationID = strings.TrimSpace(q.Get("conversation_id"))
	if v := q.Get("conversation_type"); v != "" {
		f.ConversationType = domain.ConversationType(v)
		if !f.ConversationType.Valid() {
			return nil, paramError("conversation_type", "conversation_type must be business_initiated, user_initiated or free_entry_point")
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > domain.MaxReportLimit {
			return nil, paramError("limit", "limit must be between 1 and %d", domain.MaxReportLimit)
		}
		f.Limit = n
	}
	f.Cursor = q.Get("cursor")
	return f, nil
}

// FilterError is a report parameter that cannot be taken: Param names it,
// so a page can show the message beside the field it came from.
type FilterError struct {
	Param string
	Err   error // a *domain.Error
}

func (e *FilterError) Error() string { return e.Err.Error() }

// Unwrap lets domain.ErrorCode and domain.ErrorMessage read the code and
// message.
func (e *FilterError) Unwrap() error { return e.Err }

func paramError(param, format string, args ...any) error {
	return &FilterError{Param: param, Err: domain.Errorf(domain.EINVALID, format, args...)}
}

// parseWhen reads an RFC 3339 date-time or a YYYY-MM-DD date in loc. For an
// end date, a bare date means the end of that day.
func parseWhen(v string, loc *time.Location, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		d, derr := time.ParseInLocation("2006-01-02", v, loc)
		if derr != nil {
			return time.Time{}, domain.Errorf(domain.EINVALID, "%q is neither an RFC 3339 date-time nor a YYYY-MM-DD date", v)
		}
		t = d
		if end {
			t = t.AddDate(0, 0, 1)
		}
	}
	if t.Year() < 2000 || t.Year() > 2100 {
		return time.Time{}, domain.Errorf(domain.EINVALID, "%q is out of range (years 2000 to 2100)", v)
	}
	return t, nil
}
