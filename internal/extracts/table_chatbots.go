package extracts

import (
	"context"
	"strconv"
	"time"

	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/store"
)

// The chatbot and user metrics' tables (seed 004, "Métricas de chatbots e
// usuários"): the conversations of the period, a summary per month and
// router, and the contacts with their first and last messages.
func init() {
	register(&Table{Type: "conversations_details", Group: "extract.group.chatbots", Order: 30,
		Columns: []Column{{"extract.col.date", 0}, {"extract.col.time", 0}, {"extract.col.waba", 0}, {"extract.col.bot", 0},
			{"extract.col.contact", 0}, {"extract.col.conversation_id", 0}, {"extract.col.origin", 0},
			{"extract.col.sent", 0}, {"extract.col.received", 0}},
		Rows: conversationsDetails})
	register(&Table{Type: "conversations_summary", Group: "extract.group.chatbots", Order: 31,
		Columns: []Column{{"extract.col.month", 0}, {"extract.col.router", 0}, {"extract.col.channel", 0},
			{"extract.col.mau", 0}, {"extract.col.meu", 0}, {"extract.col.msgs", 0}},
		Rows: conversationsSummary})
	register(&Table{Type: "user_details", Group: "extract.group.chatbots", Order: 32,
		Columns: []Column{{"extract.col.first_at", export.KindDateTime}, {"extract.col.last_at", export.KindDateTime},
			{"extract.col.bot_id", 0}, {"extract.col.user_id", 0}, {"extract.col.contact", 0},
			{"extract.col.sent", 0}, {"extract.col.received", 0}},
		Rows: userDetails})
}

func count(n int64) string { return strconv.FormatInt(n, 10) }

func conversationsDetails(ctx context.Context, q *Query, emit func([]string) error) error {
	date, clock := "02/01/2006", "15:04:05"
	if i18n.Normalize(q.Lang) == "en" {
		date = "2006-01-02"
	}
	row := make([]string, 9)
	return q.Store.ConversationDetails(ctx, q.Scope, q.From, q.To, func(c *store.ConversationRow) error {
		at := c.Started.In(q.Location)
		origin := ""
		if c.ConversationType != "" {
			origin = i18n.T(q.Lang, "conv."+c.ConversationType)
		}
		row[0], row[1], row[2], row[3], row[4] = at.Format(date), at.Format(clock), c.WABAID, botName(q, idOrNil(c.BotID), nil), c.Phone
		row[5], row[6], row[7], row[8] = c.ConversationID, origin, count(c.Sent), count(c.Received)
		return emit(row)
	})
}

// conversationsSummary counts each month of the period (its part inside
// the period) per channel and its router.
func conversationsSummary(ctx context.Context, q *Query, emit func([]string) error) error {
	for lo := q.From; lo.Before(q.To); {
		local := lo.In(q.Location)
		hi := time.Date(local.Year(), local.Month()+1, 1, 0, 0, 0, 0, q.Location)
		if hi.After(q.To) {
			hi = q.To
		}
		rows, err := q.Store.ChannelActivity(ctx, q.Scope, lo, hi)
		if err != nil {
			return err
		}
		month := local.Format("01/2006")
		if i18n.Normalize(q.Lang) == "en" {
			month = local.Format("2006-01")
		}
		for _, a := range rows {
			if err := emit([]string{month, a.Router, a.Channel, count(a.Active), count(a.Engaged), count(a.Messages)}); err != nil {
				return err
			}
		}
		lo = hi
	}
	return nil
}

func userDetails(ctx context.Context, q *Query, emit func([]string) error) error {
	row := make([]string, 7)
	return q.Store.UserDetails(ctx, q.Scope, q.From, q.To, func(u *store.UserRow) error {
		bot := ""
		if u.BotID != 0 {
			bot = count(u.BotID)
		}
		user := u.WAID
		if user == "" {
			user = u.Phone
		}
		row[0], row[1], row[2], row[3], row[4], row[5], row[6] = q.Time(&u.First), q.Time(&u.Last), bot, user, u.Phone,
			count(u.Sent), count(u.Received)
		return emit(row)
	})
}
