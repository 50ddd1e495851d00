-- +goose Up
-- SQLite's migration adds a partial index of the inbound rows of each
-- timeline for the apply's read of a timeline's state; PostgreSQL's apply
-- runs the same read on messages_timeline.
SELECT 1;

-- +goose Down
SELECT 1;
