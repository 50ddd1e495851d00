-- +goose Up
-- The distinct-contact sets keyed by contact first (issue 17): an event adds
-- up to six entries (its day, week and month, for its bot and across bots),
-- which with this key sit side by side in one leaf of the B-tree instead of
-- six leaves far apart, so a batch of events writes a page an event to the
-- sets, not six.
CREATE TABLE tracking_seen_new (
    subaccount_id INTEGER NOT NULL,
    contact_id    INTEGER NOT NULL,
    category      TEXT NOT NULL,
    action        TEXT NOT NULL,
    bot_id        INTEGER NOT NULL,
    kind          TEXT NOT NULL,           -- d, w, m
    period        INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, contact_id, category, action, bot_id, kind, period)
) WITHOUT ROWID;
INSERT INTO tracking_seen_new SELECT subaccount_id, contact_id, category, action, bot_id, kind, period FROM tracking_seen;
DROP TABLE tracking_seen;
ALTER TABLE tracking_seen_new RENAME TO tracking_seen;

-- +goose Down
SELECT 1;
