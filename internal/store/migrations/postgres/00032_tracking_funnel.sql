-- +goose Up
-- A funnel's steps read one action's events contact by contact: each
-- contact's first time for the first step, and for a later step only the
-- contacts that reached the one before (issue 17). With the contact before
-- the time, and both in the index, neither reads the table.
CREATE INDEX tracking_events_contact ON tracking_events (subaccount_id, category, action, contact_id, at);

-- +goose Down
DROP INDEX tracking_events_contact;
