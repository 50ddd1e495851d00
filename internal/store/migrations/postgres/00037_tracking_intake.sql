-- +goose Up
-- The event intake (issue 17): a request's checked events, one row, kept
-- until the folder has moved them into tracking_events and their counts
-- (the same transaction deletes the row). SQLite keeps its intake in a log
-- of files beside the database instead (internal/store/tracking_intake.go).
CREATE TABLE tracking_intake (
    id BIGSERIAL PRIMARY KEY,
    received_at BIGINT NOT NULL,
    body BYTEA NOT NULL
);

-- +goose Down
DROP TABLE tracking_intake;
