-- +goose Up
-- One index of the events by time that holds what the hourly report reads
-- (issue 17): its distinct contacts per hour and action come from the index
-- alone, no longer from a row of the table an event, and the index by action
-- and time, which only that report used, goes: an event writes one index
-- entry fewer. Retention and the extractions read the same index by its
-- first two columns.
DROP INDEX tracking_events_action;
DROP INDEX tracking_events_at;
CREATE INDEX tracking_events_at ON tracking_events (subaccount_id, at, category, action, contact_id);

-- +goose Down
DROP INDEX tracking_events_at;
CREATE INDEX tracking_events_at ON tracking_events (subaccount_id, at);
CREATE INDEX tracking_events_action ON tracking_events (subaccount_id, category, action, at);
