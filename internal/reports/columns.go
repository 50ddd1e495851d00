// Package reports turns messages into the detailed report's rows: its
// columns, in the user's language and time zone, for the web page and for
// every export format alike.
package reports

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/store"
)

// Names resolves the ids a message carries to names people know.
type Names struct {
	Users  map[int64]string // ticks users
	Tokens map[int64]string // API clients (bots)
}

// LoadNames loads the users and API tokens visible in scope.
func LoadNames(ctx context.Context, st *store.Store, scope []int64) (*Names, error) {
	n := &Names{Users: map[int64]string{}, Tokens: map[int64]string{}}
	users, err := st.Users(ctx, scope)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		name := u.Name
		if name == "" {
			name = u.Email
		}
		n.Users[u.ID] = name
	}
	tokens, err := st.APITokens(ctx, scope)
	if err != nil {
		return nil, err
	}
	for _, t := range tokens {
		n.Tokens[t.ID] = t.Name
	}
	return n, nil
}

// Column keys of the MT and MO views, in the seed's order.
var (
	MTColumns = []string{"col.sent_at", "col.status", "col.reason", "col.phone", "col.wa_user", "col.campaign", "col.user",
		"col.content_type", "col.text_mt", "col.session", "col.conversation_id", "col.conversation_type", "col.conversation_expires"}
	MOColumns = []string{"col.replied_at", "col.origin", "col.wa_user", "col.campaign", "col.user", "col.content_type",
		"col.text_mo", "col.button"}
)

// Headers returns the column headers of a direction in lang.
func Headers(dir domain.Direction, lang string) []string {
	keys := Columns(dir)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = i18n.T(lang, k)
	}
	return out
}

// TimeLayout is how dates are written in reports.
func TimeLayout(lang string) string {
	if i18n.Normalize(lang) == "en" {
		return "2006-01-02 15:04:05"
	}
	return "02/01/2006 15:04:05"
}

// StatusLabel is a status's name in lang.
func StatusLabel(lang string, s domain.Status) string { return i18n.T(lang, "status."+string(s)) }

// ContentLabel is a content type's name in lang.
func ContentLabel(lang, contentType string) string {
	if contentType == "" {
		return ""
	}
	if key := "content." + contentType; i18n.Has(key) {
		return i18n.T(lang, key)
	}
	return contentType
}

// Reason explains a failed message in lang: ticks's own reasons
// translated, with their parameters; Meta's as Meta sent them, after its
// code ("131026 Message undeliverable: …").
func Reason(lang string, m *domain.Message) string {
	if m.ErrorCode == 0 && m.ErrorTitle == "" && m.ErrorDetail == "" {
		return "" // most rows: nothing went wrong
	}
	title, detail := m.ErrorTitle, m.ErrorDetail
	if r, ok := domain.RefusalOf(m); ok {
		title = i18n.T(lang, "reason."+r.Key)
		switch {
		case !strings.Contains(r.Detail, "%"):
			detail = i18n.T(lang, "reason."+r.Key+".detail")
		case len(m.ErrorArgs) > 0:
			args := make([]any, len(m.ErrorArgs))
			for i, a := range m.ErrorArgs {
				args[i] = a
			}
			detail = i18n.T(lang, "reason."+r.Key+".detail", args...)
		} // else a row stored before its parameters were: its English detail
	}
	var parts []string
	if m.ErrorCode != 0 {
		parts = append(parts, strconv.Itoa(m.ErrorCode))
	}
	if title != "" {
		parts = append(parts, title)
	}
	s := strings.Join(parts, " ")
	if detail != "" && detail != title && detail != m.ErrorTitle {
		switch {
		case strings.HasSuffix(s, "."): // Meta's titles may end a sentence
			s += " "
		case s != "":
			s += ": "
		}
		s += detail
	}
	return s
}

// Formatter turns messages into the report's cells in one language, time
// zone and set of names. Its labels are looked up once, so it is cheap per
// row; build one per page or export. It is safe for concurrent use.
type Formatter struct {
	lang     string
	loc      *time.Location
	layout   string
	names    *Names
	yes, no  string
	statuses map[domain.Status]string
	contents map[string]string
	convs    map[domain.ConversationType]string
}

// NewFormatter returns the formatter of a language, time zone and names
// (which may be nil).
func NewFormatter(lang string, loc *time.Location, names *Names) *Formatter {
	f := &Formatter{lang: lang, loc: loc, layout: TimeLayout(lang), names: names, yes: i18n.T(lang, "common.yes"), no: i18n.T(lang, "common.no"),
		statuses: map[domain.Status]string{}, contents: map[string]string{}, convs: map[domain.ConversationType]string{}}
	for _, key := range i18n.Keys(i18n.Default) {
		switch prefix, value, _ := strings.Cut(key, "."); prefix {
		case "status":
			f.statuses[domain.Status(value)] = i18n.T(lang, key)
		case "content":
			f.contents[value] = ContentLabel(lang, value)
		case "conv":
			f.convs[domain.ConversationType(value)] = i18n.T(lang, key)
		}
	}
	return f
}

// withTimeLayout returns a copy of f that writes dates in layout.
func (f *Formatter) withTimeLayout(layout string) *Formatter {
	c := *f
	c.layout = layout
	return &c
}

// Row returns a message's cells in the order of Headers.
func (f *Formatter) Row(m *domain.Message) []string {
	at := f.formatTime(m.At)
	waUser := m.WAID
	if waUser == "" {
		waUser = m.UserID
	}
	campaign := ""
	if m.CampaignID != nil {
		campaign = "#" + strconv.FormatInt(*m.CampaignID, 10)
	}
	user, names := "", f.names
	switch {
	case m.SenderUserID != nil && names != nil && names.Users[*m.SenderUserID] != "":
		user = names.Users[*m.SenderUserID]
	case m.BotID != nil && names != nil && names.Tokens[*m.BotID] != "":
		user = "API · " + names.Tokens[*m.BotID]
	}
	content, ok := f.contents[m.ContentType]
	if !ok {
		content = m.ContentType
	}
	if m.Direction == domain.DirectionMO {
		return []string{at, m.Phone, waUser, campaign, user, content, m.Text, m.ButtonPayload}
	}
	session := f.no
	if m.WithSession {
		session = f.yes
	}
	status, ok := f.statuses[m.Status]
	if !ok {
		status = "status." + string(m.Status) // as i18n.T shows a missing key
	}
	convType, expires := "", ""
	if m.ConversationType != "" {
		if convType, ok = f.convs[m.ConversationType]; !ok {
			convType = "conv." + string(m.ConversationType)
		}
	}
	if m.ConversationExpires != nil {
		expires = f.formatTime(*m.ConversationExpires)
	}
	return []string{at, status, Reason(f.lang, m), m.Phone, waUser, campaign, user, content, m.Text, session, m.ConversationID,
		convType, expires}
}

// formatTime is t in f's zone and layout (see FormatTime).
func (f *Formatter) formatTime(t time.Time) string { return FormatTime(t, f.loc, f.layout) }

// FormatTime is t.In(loc).Format(layout), written digit by digit for the
// reports' layouts (TimeLayout's and export.DateTimeLayout) instead of
// interpreting the layout for each of an export's millions of cells.
func FormatTime(t time.Time, loc *time.Location, layout string) string {
	t = t.In(loc)
	year, month, day := t.Date()
	var b [19]byte
	switch {
	case year < 0 || year > 9999:
		return t.Format(layout)
	case layout == "02/01/2006 15:04:05":
		digits2(b[0:], day)
		b[2] = '/'
		digits2(b[3:], int(month))
		b[5] = '/'
		digits2(b[6:], year/100)
		digits2(b[8:], year%100)
	case layout == "2006-01-02 15:04:05":
		digits2(b[0:], year/100)
		digits2(b[2:], year%100)
		b[4] = '-'
		digits2(b[5:], int(month))
		b[7] = '-'
		digits2(b[8:], day)
	default:
		return t.Format(layout)
	}
	hour, minute, second := t.Clock()
	b[10] = ' '
	digits2(b[11:], hour)
	b[13] = ':'
	digits2(b[14:], minute)
	b[16] = ':'
	digits2(b[17:], second)
	return string(b[:])
}

// digits2 writes n (0–99) as two digits.
func digits2(b []byte, n int) {
	b[0], b[1] = byte('0'+n/10), byte('0'+n%10)
}

// Columns returns the column keys of a direction, in the seed's order.
func Columns(dir domain.Direction) []string {
	if dir == domain.DirectionMO {
		return MOColumns
	}
	return MTColumns
}
