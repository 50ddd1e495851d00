package web

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/reports"
)

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"t":      func(lang, key string, args ...any) string { return i18n.T(lang, key, args...) },
		"status": func(lang string, s domain.Status) string { return reports.StatusLabel(lang, s) },
		"role":   func(lang string, r domain.Role) string { return i18n.T(lang, "role."+string(r)) },
		"when": func(lang string, t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return ""
				}
				return v.In(h.Location).Format(reports.TimeLayout(lang))
			case *time.Time:
				if v == nil || v.IsZero() {
					return ""
				}
				return v.In(h.Location).Format(reports.TimeLayout(lang))
			}
			return ""
		},
		"count": formatCount,
		"int64": func(n int) int64 { return int64(n) },
		"pct": func(lang string, f float64) string {
			s := strconv.FormatFloat(f*100, 'f', 1, 64)
			if i18n.Normalize(lang) == "pt-BR" {
				s = strings.Replace(s, ".", ",", 1)
			}
			return s + "%"
		},
		"langs": func() []string { return i18n.Languages },
		"secs":  durationText,
		"money": formatMoney,
		"query": func(base string, q url.Values) string {
			if len(q) == 0 {
				return base
			}
			return base + "?" + q.Encode()
		},
	}
}

// formatCount writes n with the thousands separator of lang.
func formatCount(lang string, n int64) string { return reports.FormatCount(lang, n) }
