package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/ingest/apply"
)

// ConversationDrift derives every contact's timeline again from its first
// message, with the derivation the ingestion and the send pipeline use,
// and returns how many messages have a stored session or conversation that
// differs from it. It changes nothing, but reads in a write transaction,
// as the derivation's statements belong to the writer: a check for tests
// and repairs, not for requests. Loads that write messages directly (the
// bench's and the demo's histories) check with it that they stored what
// ticks derives.
func (s *Store) ConversationDrift(ctx context.Context) (int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT contact_id, channel_id FROM messages WHERE contact_id <> 0
		ORDER BY contact_id, channel_id`)
	if err != nil {
		return 0, fmt.Errorf("conversation drift: %w", err)
	}
	var keys []apply.TimelineKey
	from := map[apply.TimelineKey]time.Time{}
	for rows.Next() {
		var k apply.TimelineKey
		if err := rows.Scan(&k.ContactID, &k.ChannelID); err != nil {
			rows.Close()
			return 0, err
		}
		keys = append(keys, k)
		from[k] = time.UnixMilli(0)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	drift := 0
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(keys); start += preloadChunk {
			u, err := s.deriveTimelines(ctx, tx, keys[start:min(start+preloadChunk, len(keys))], from)
			if err != nil {
				return fmt.Errorf("conversation drift: %w", err)
			}
			drift += len(u)
		}
		return nil
	})
	return drift, err
}
