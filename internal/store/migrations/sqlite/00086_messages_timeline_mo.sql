-- +goose Up
-- The inbound rows of each timeline, for the apply's read of what deriving
-- a timeline from an instant needs (apply_timelines.go,
-- storedTimelineQuery): the last inbound message before that instant is
-- found by walking this index back, where messages_timeline would read
-- every row of the window to test its direction. Partial: an insert of an
-- outbound row only tests the WHERE clause.
CREATE INDEX messages_timeline_mo ON messages (contact_id, channel_id, at) WHERE direction = 'mo';

-- +goose Down
DROP INDEX messages_timeline_mo;
