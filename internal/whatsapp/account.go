package whatsapp

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
)

// templateValue covers the three template fields; each uses a subset.
type templateValue struct {
	Event           string     `json:"event"`
	TemplateID      flexString `json:"message_template_id"`
	Name            string     `json:"message_template_name"`
	Language        string     `json:"message_template_language"`
	Reason          string     `json:"reason"`
	NewQuality      string     `json:"new_quality_score"`
	NewCategory     string     `json:"new_category"`
	CorrectCategory string     `json:"correct_category"`
}

func (p *changeParser) template() error {
	var v templateValue
	if err := p.decodeValue(&v); err != nil {
		return err
	}
	category := v.NewCategory
	if category == "" {
		// Announced (not yet applied) recategorisations name the category
		// Meta thinks is right as correct_category.
		category = v.CorrectCategory
	}
	p.batch.Templates = append(p.batch.Templates, domain.TemplateEvent{
		WABAID:     string(p.entry.ID),
		Field:      p.change.Field,
		TemplateID: string(v.TemplateID),
		Name:       v.Name,
		Language:   v.Language,
		Status:     v.Event,
		Reason:     v.Reason,
		Quality:    v.NewQuality,
		Category:   category,
		Timestamp:  p.entry.Time.Time(),
	})
	return nil
}

// accountValue covers the account-level fields; each uses a subset.
type accountValue struct {
	Metadata           metadata `json:"metadata"`
	Event              string   `json:"event"`
	Decision           string   `json:"decision"`
	PhoneNumber        string   `json:"phone_number"`
	DisplayPhoneNumber string   `json:"display_phone_number"`
	CurrentLimit       tier     `json:"current_limit"`
	MaxPerBusiness     tier     `json:"max_daily_conversations_per_business"`
	MaxPerPhone        tier     `json:"max_daily_conversation_per_phone"`
	RequestedName      string   `json:"requested_verified_name"`
	RejectionReason    string   `json:"rejection_reason"`
	BanInfo            *struct {
		State []string `json:"waba_ban_state"`
		Date  string   `json:"waba_ban_date"`
	} `json:"ban_info"`
	ViolationInfo *struct {
		Type string `json:"violation_type"`
	} `json:"violation_info"`
	AlertInfo *struct {
		Severity    string `json:"alert_severity"`
		Status      string `json:"alert_status"`
		Type        string `json:"alert_type"`
		Description string `json:"alert_description"`
	} `json:"alert_info"`
}

func (p *changeParser) account() error {
	var v accountValue
	if err := p.decodeValue(&v); err != nil {
		return err
	}
	rcpt := p.recipient(v.Metadata)
	if rcpt.DisplayPhone == "" {
		rcpt.DisplayPhone = v.DisplayPhoneNumber
	}
	if rcpt.DisplayPhone == "" {
		rcpt.DisplayPhone = v.PhoneNumber
	}
	ev := domain.AccountEvent{
		Recipient: rcpt,
		Field:     p.change.Field,
		Event:     v.Event,
		Tier:      string(v.MaxPerBusiness),
		Timestamp: p.entry.Time.Time(),
		Raw:       p.rawValue(),
	}
	if ev.Event == "" {
		ev.Event = v.Decision
	}
	if ev.Event == "" && v.AlertInfo != nil {
		ev.Event = v.AlertInfo.Type
	}
	if ev.Tier == "" {
		ev.Tier = string(v.CurrentLimit)
	}
	if ev.Tier == "" {
		ev.Tier = string(v.MaxPerPhone)
	}
	ev.Detail = accountDetail(p.change.Field, &v, ev)
	p.batch.Accounts = append(p.batch.Accounts, ev)
	return nil
}

// accountDetail is the sentence an operator reads in the account timeline.
func accountDetail(field string, v *accountValue, ev domain.AccountEvent) string {
	var b strings.Builder
	switch field {
	case FieldAccountUpdate:
		b.WriteString("Account update")
		appendWord(&b, " ", ev.Event)
		appendWord(&b, " for phone number ", ev.DisplayPhone)
		if v.BanInfo != nil {
			appendWord(&b, "; ban state ", strings.Join(v.BanInfo.State, ", "))
			appendWord(&b, " from ", v.BanInfo.Date)
		}
		if v.ViolationInfo != nil {
			appendWord(&b, "; violation ", v.ViolationInfo.Type)
		}
	case FieldPhoneNumberQualityUpdate:
		b.WriteString("Phone number")
		appendWord(&b, " ", ev.DisplayPhone)
		b.WriteString(" quality update")
		appendWord(&b, " ", ev.Event)
		appendWord(&b, "; messaging limit ", ev.Tier)
	case FieldBusinessCapabilityUpdate:
		if v.MaxPerBusiness == "" && v.CurrentLimit == "" && v.MaxPerPhone != "" {
			b.WriteString("Messaging limit per phone number is now " + ev.Tier)
		} else {
			b.WriteString("Business capability update")
			appendWord(&b, "; messaging limit is now ", ev.Tier)
		}
	case FieldPhoneNumberNameUpdate:
		b.WriteString("Display name")
		if v.RequestedName != "" {
			b.WriteString(" " + strconv.Quote(v.RequestedName))
		}
		appendWord(&b, " for ", ev.DisplayPhone)
		appendWord(&b, ": ", ev.Event)
		if v.RejectionReason != "" && !strings.EqualFold(v.RejectionReason, "NONE") {
			appendWord(&b, "; reason ", v.RejectionReason)
		}
	case FieldAccountAlerts:
		b.WriteString("Account alert")
		appendWord(&b, " ", ev.Event)
		if a := v.AlertInfo; a != nil {
			appendWord(&b, " (", joinNonEmpty(", ", a.Severity, a.Status))
			if a.Severity != "" || a.Status != "" {
				b.WriteString(")")
			}
			appendWord(&b, ": ", strings.TrimSuffix(a.Description, "."))
		}
	case FieldAccountReviewUpdate:
		b.WriteString("Account review decision")
		appendWord(&b, ": ", ev.Event)
	}
	b.WriteString(".")
	return b.String()
}

func appendWord(b *strings.Builder, prefix, s string) {
	if s == "" {
		return
	}
	b.WriteString(prefix)
	b.WriteString(s)
}

// tier is a messaging limit, normalised to Meta's TIER_* spelling: some
// account webhooks send "TIER_1K", others the number of users (1000).
type tier string

// UnmarshalJSON accepts Meta's string tiers and plain user counts alike.
func (t *tier) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*t = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = tier(normalizeTier(s))
		return nil
	}
	n, err := strconv.ParseFloat(string(b), 64)
	if err != nil || n != float64(int64(n)) {
		return domain.Errorf(domain.EINVALID, "messaging limit %s is not a tier", truncate(string(b)))
	}
	*t = tier(tierFromLimit(int64(n)))
	return nil
}

// normalizeTier keeps Meta's TIER_* strings as sent and maps numbers sent
// as strings like numbers.
func normalizeTier(s string) string {
	if strings.EqualFold(s, "unlimited") {
		return "TIER_UNLIMITED"
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return tierFromLimit(n)
	}
	return s
}

func tierFromLimit(n int64) string {
	switch {
	case n < 0:
		return "TIER_UNLIMITED"
	case n >= 1000 && n%1000 == 0:
		return "TIER_" + strconv.FormatInt(n/1000, 10) + "K"
	}
	return "TIER_" + strconv.FormatInt(n, 10)
}
