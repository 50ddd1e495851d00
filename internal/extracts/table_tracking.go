package extracts

import (
	"context"

	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/store"
)

// Event tracking's table (seed 004, "Rastreamento de eventos"): every
// event track the bots recorded in the period, oldest first.
func init() {
	register(&Table{Type: "event_tracks", Group: "extract.group.tracking", Order: 20,
		Columns: []Column{{"extract.col.at", export.KindDateTime}, {"extract.col.bot", 0}, {"extract.col.category", 0},
			{"extract.col.action", 0}, {"extract.col.contact", 0}, {"extract.col.extras", 0}},
		Rows: eventTracks})
}

func eventTracks(ctx context.Context, q *Query, emit func([]string) error) error {
	row := make([]string, 6)
	return q.Store.EventTracks(ctx, q.Scope, q.From, q.To, func(e *store.TrackRow) error {
		row[0], row[1], row[2], row[3], row[4], row[5] = q.Time(&e.At), botName(q, idOrNil(e.BotID), nil), e.Category, e.Action, e.Phone, e.Extras
		return emit(row)
	})
}

// idOrNil is id, or nil for 0 (none).
func idOrNil(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
