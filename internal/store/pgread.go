package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ticksapp/ticks/internal/domain"
)

// pgExport runs query, which selects exportColumns (notificationColumns
// when notifications is set), on PostgreSQL through pgx itself on one of
// the pool's connections, and calls each with every row in order; the
// message is reused between calls. database/sql's rows turn every column
// of every row into a driver.Value and convert it again on Scan (a third
// of the CPU of a 1 M-row export at 10 M, measured); pgx scans each
// column once into its destination.
func (s *Store) pgExport(ctx context.Context, query string, args []any, notifications bool, each func(m *domain.Message, at int64)) error {
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("export: a %T, not pgx's connection", driverConn)
		}
		// No JIT compilation: PostgreSQL estimates the first-reply
		// subquery of a notifications export at thousands of rows a
		// message (most messages' context_wamid is '', one value), so
		// the window's plan passes jit_above_cost and each window's
		// statement spent ~0.46 s compiling to read 1,650 rows in 8 ms
		// (EXPLAIN ANALYZE on the 10 M seed). A server without the
		// setting (before PostgreSQL 11) has no JIT either: its error is
		// not the export's.
		if _, err := c.Conn().Exec(ctx, `SET jit = off`); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		defer c.Conn().Exec(context.WithoutCancel(ctx), `RESET jit`)
		rows, err := c.Conn().Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var m domain.Message
		var dir, status, convType, errArgs string
		var at int64
		var sender, bot, campaign, convExp, delivered, read, replied pgtype.Int8
		var senderV, botV, campaignV int64
		var expires, deliveredV, readV, repliedV time.Time
		dest := []any{&m.ID, &dir, &at, &status, &m.ErrorCode, &m.ErrorTitle, &m.ErrorDetail, &m.Phone,
			&m.WAID, &m.UserID, &sender, &bot, &campaign, &m.ContentType, &m.Text, &m.WithSession,
			&m.ConversationID, &convType, &convExp, &m.ButtonPayload, &errArgs}
		if notifications {
			dest = append(dest, &m.TemplateName, &delivered, &read, &replied)
		}
		ptr := func(v pgtype.Int8, to *int64) *int64 {
			if !v.Valid {
				return nil
			}
			*to = v.Int64
			return to
		}
		tm := func(v pgtype.Int8, to *time.Time) *time.Time {
			if !v.Valid {
				return nil
			}
			*to = fromMS(v.Int64)
			return to
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			m.Direction, m.Status, m.ConversationType = domain.Direction(dir), domain.Status(status), domain.ConversationType(convType)
			m.At = fromMS(at)
			m.ErrorArgs = decodeArgs(errArgs)
			m.SenderUserID, m.BotID, m.CampaignID = ptr(sender, &senderV), ptr(bot, &botV), ptr(campaign, &campaignV)
			m.ConversationExpires = tm(convExp, &expires)
			if notifications {
				m.DeliveredAt, m.ReadAt, m.RepliedAt = tm(delivered, &deliveredV), tm(read, &readV), tm(replied, &repliedV)
			}
			each(&m, at)
		}
		return rows.Err()
	})
}
