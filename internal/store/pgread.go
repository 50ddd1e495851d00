package store

import (
	"context"
	"fmt"

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
		return scanExport(rows, notifications, each)
	})
}
