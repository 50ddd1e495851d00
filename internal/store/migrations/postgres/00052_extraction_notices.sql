-- +goose Up
-- The report manager's notices: an extraction done (ready or failed) that
-- its requester has not yet seen (downloaded or dismissed) is shown to them
-- in the app.
ALTER TABLE extractions ADD COLUMN seen_at BIGINT;
CREATE INDEX extractions_unseen ON extractions (user_id, token_id, seen_at, finished_at);

-- +goose Down
SELECT 1;
