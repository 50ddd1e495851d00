-- +goose Up
-- The distinct-contact sets keep days only (issue 17): an event writes one
-- entry, its contact, action, day and bot (0 for none), and when that entry
-- is new, the contact's other days of the action around it (read in the same
-- transaction, side by side under this key) tell whether it is new to its
-- bot's week and month and to every bot's day, week and month. The entries
-- of weeks, months and every bot (bot_id -1) are no longer written; the days
-- of every bot that events without a bot left (bot_id -1) stay, read as any
-- bot's.
CREATE TABLE tracking_seen_new (
    subaccount_id INTEGER NOT NULL,
    contact_id    INTEGER NOT NULL,
    category      TEXT NOT NULL,
    action        TEXT NOT NULL,
    kind          TEXT NOT NULL,           -- d
    period        INTEGER NOT NULL,
    bot_id        INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, contact_id, category, action, kind, period, bot_id)
) WITHOUT ROWID;
INSERT INTO tracking_seen_new SELECT subaccount_id, contact_id, category, action, kind, period, bot_id
    FROM tracking_seen WHERE kind = 'd';
DROP TABLE tracking_seen;
ALTER TABLE tracking_seen_new RENAME TO tracking_seen;

-- +goose Down
SELECT 1;
