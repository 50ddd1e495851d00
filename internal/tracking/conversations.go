package tracking

import (
	"context"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// ConversationRow is a month's conversation figures of one bot (the
// report manager's conversation summary): distinct contacts with any
// message (MAU), distinct contacts who wrote (MEU), and messages in and
// out. Bot 0 is the messages of no bot (people, or API tokens that are not
// bots).
type ConversationRow struct {
	Month       string `json:"month"`
	Bot         int64  `json:"bot"`
	BotName     string `json:"bot_name"`
	MAU         int64  `json:"mau"`
	MEU         int64  `json:"meu"`
	MessagesIn  int64  `json:"messages_in"`
	MessagesOut int64  `json:"messages_out"`
}

// ConversationReport is the conversation summary: rows per month and bot,
// and each month's totals with every contact counted once.
type ConversationReport struct {
	Rows   []ConversationRow `json:"rows"`
	Totals []ConversationRow `json:"totals"`
}

// MaxMonths bounds a conversation report.
const MaxMonths = 24

// ConversationQuery names the months (YYYY-MM, both included; the current
// month by default) and optionally a bot and a subaccount.
type ConversationQuery struct {
	From, To   string
	BotID      int64
	Subaccount int64
}

// months reads a month range in the account's time zone.
func (s *Service) months(from, to string) (time.Time, time.Time, error) {
	now := s.Now().In(s.Location)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, s.Location)
	parse := func(field, v string) (time.Time, error) {
		if v == "" {
			return first, nil
		}
		t, err := time.ParseInLocation("2006-01", v, s.Location)
		if err != nil || t.Year() < 2000 || t.Year() > 2100 {
			return time.Time{}, domain.Errorf(domain.EINVALID, "%s %q is not a month (YYYY-MM)", field, v)
		}
		return t, nil
	}
	start, err := parse("from", from)
	if err != nil {
		return start, start, err
	}
	last, err := parse("to", to)
	if err != nil {
		return start, start, err
	}
	if to == "" && from != "" {
		last = start
	}
	if last.Before(start) {
		return start, start, domain.Errorf(domain.EINVALID, "from must not be after to")
	}
	end := last.AddDate(0, 1, 0)
	if start.AddDate(0, MaxMonths, 0).Before(end) {
		return start, start, domain.Errorf(domain.EINVALID, "at most %d months at once", MaxMonths)
	}
	return start, end, nil
}

// Conversations answers the conversation summary from the messages: per
// month of the account's time zone and per bot. A message counts for the
// bot it carries (sent with the bot's token, or a reply to such a message);
// another inbound message counts for the router of its channel.
func (s *Service) Conversations(ctx context.Context, p *access.Principal, q ConversationQuery) (*ConversationReport, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	scope, err := p.Narrow(q.Subaccount)
	if err != nil {
		return nil, err
	}
	start, end, err := s.months(q.From, q.To)
	if err != nil {
		return nil, err
	}
	names, err := s.sendersNames(ctx, scope)
	if err != nil {
		return nil, err
	}
	if q.BotID != 0 && names[q.BotID] == "" {
		return nil, domain.Errorf(domain.EINVALID, "bot %d is not a bot you may see", q.BotID)
	}
	out := &ConversationReport{Rows: []ConversationRow{}, Totals: []ConversationRow{}}
	for m := start; m.Before(end); m = m.AddDate(0, 1, 0) {
		next := m.AddDate(0, 1, 0)
		month := m.Format("2006-01")
		list, err := s.Store.ConversationFigures(ctx, scope, q.BotID, m, next)
		if err != nil {
			return nil, err
		}
		for _, b := range list {
			out.Rows = append(out.Rows, conversationRow(month, b, names))
		}
		if q.BotID == 0 {
			t, err := s.Store.ConversationTotals(ctx, scope, m, next)
			if err != nil {
				return nil, err
			}
			row := conversationRow(month, t, names)
			row.Bot = 0
			out.Totals = append(out.Totals, row)
		}
	}
	return out, nil
}

func conversationRow(month string, b store.BotMonth, names map[int64]string) ConversationRow {
	return ConversationRow{Month: month, Bot: b.BotID, BotName: names[b.BotID], MAU: b.MAU, MEU: b.MEU,
		MessagesIn: b.MessagesIn, MessagesOut: b.MessagesOut}
}

// sendersNames names what messages.bot_id holds: bots, and the API tokens
// that sent before (or without) being bots.
func (s *Service) sendersNames(ctx context.Context, scope []int64) (map[int64]string, error) {
	names, err := s.botNames(ctx, scope)
	if err != nil {
		return nil, err
	}
	tokens, err := s.Store.APITokens(ctx, scope)
	if err != nil {
		return nil, err
	}
	for _, t := range tokens {
		if names[t.ID] == "" {
			names[t.ID] = "API · " + t.Name
		}
	}
	return names, nil
}

// ConversationUsers lists the contacts of a month (of one bot, optionally),
// the most active first: the user details.
func (s *Service) ConversationUsers(ctx context.Context, p *access.Principal, q ConversationQuery, limit int) ([]store.ContactActivity, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	scope, err := p.Narrow(q.Subaccount)
	if err != nil {
		return nil, err
	}
	if q.To == "" {
		q.To = q.From
	}
	start, end, err := s.months(q.From, q.To)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	list, err := s.Store.ConversationUsers(ctx, scope, q.BotID, start, end, limit)
	if list == nil {
		list = []store.ContactActivity{}
	}
	return list, err
}
