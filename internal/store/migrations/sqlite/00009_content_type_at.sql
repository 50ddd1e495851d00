-- +goose Up
-- The content type's index in time order within each type, as PostgreSQL's
-- has been since migration 00003: a page of a rare content type reads the
-- hours the rollup says hold its rows through it (a seek per hour, then
-- only that type's rows) instead of every row of those hours.
DROP INDEX messages_content_type;
CREATE INDEX messages_content_type ON messages (subaccount_id, direction, content_type, at);

-- +goose Down
DROP INDEX messages_content_type;
CREATE INDEX messages_content_type ON messages (subaccount_id, direction, content_type);
