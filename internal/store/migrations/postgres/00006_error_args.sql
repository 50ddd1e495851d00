-- +goose Up
-- The parameters of ticks's own refusal reasons (a JSON array of strings,
-- '' for none), so reports can say them in the reader's language; Meta's
-- reasons are kept as Meta sent them in error_title and error_detail.
ALTER TABLE messages ADD COLUMN error_args TEXT NOT NULL DEFAULT '';
