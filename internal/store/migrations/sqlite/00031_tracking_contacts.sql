-- +goose Up
-- Distinct contacts of the custom reports as counters, so a report over
-- months reads a few thousand rows instead of counting distinct contacts
-- over millions (issue 17). A period is a day (days since 1970-01-01 in the
-- account's time zone), a Monday-started week ((day + 3) / 7) or a month
-- (year * 12 + month - 1); bot_id -1 counts a contact once across bots.
-- On SQLite the tables are WITHOUT ROWID: a row is one B-tree entry.

-- Which contacts did an action in a period: the set the counters count.
CREATE TABLE tracking_seen (
    subaccount_id INTEGER NOT NULL,
    kind          TEXT NOT NULL,           -- d, w, m
    period        INTEGER NOT NULL,
    bot_id        INTEGER NOT NULL,
    category      TEXT NOT NULL,
    action        TEXT NOT NULL,
    contact_id    INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, kind, period, bot_id, category, action, contact_id)
) WITHOUT ROWID;

-- How many: bumped in the transaction that adds to tracking_seen.
CREATE TABLE tracking_contacts (
    subaccount_id INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    period        INTEGER NOT NULL,
    bot_id        INTEGER NOT NULL,
    category      TEXT NOT NULL,
    action        TEXT NOT NULL,
    contacts      INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, kind, bot_id, period, category, action)
) WITHOUT ROWID;

-- The daily sets become the d rows; weeks, months and the across-bots rows
-- are counted from them.
INSERT INTO tracking_seen SELECT subaccount_id, 'd', day, bot_id, category, action, contact_id FROM tracking_contact_days;
INSERT INTO tracking_seen SELECT DISTINCT subaccount_id, 'd', day, -1, category, action, contact_id FROM tracking_contact_days;
INSERT INTO tracking_seen SELECT DISTINCT subaccount_id, 'w', (day + 3) / 7, bot_id, category, action, contact_id FROM tracking_contact_days;
INSERT INTO tracking_seen SELECT DISTINCT subaccount_id, 'w', (day + 3) / 7, -1, category, action, contact_id FROM tracking_contact_days;
INSERT INTO tracking_contacts SELECT subaccount_id, kind, period, bot_id, category, action, COUNT(*) FROM tracking_seen
    GROUP BY subaccount_id, kind, period, bot_id, category, action;
-- Months cannot be told from a day number in SQL: an event stored before
-- this migration counts its contact in days and weeks only.
DROP TABLE tracking_contact_days;

-- The hourly rollup keyed by its primary key alone (WITHOUT ROWID): one
-- B-tree to write instead of a table and its key's index.
CREATE TABLE tracking_hourly_new (
    subaccount_id INTEGER NOT NULL,
    hour          INTEGER NOT NULL,
    bot_id        INTEGER NOT NULL,
    category      TEXT NOT NULL,
    action        TEXT NOT NULL,
    events        INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, hour, bot_id, category, action)
) WITHOUT ROWID;
INSERT INTO tracking_hourly_new SELECT subaccount_id, hour, bot_id, category, action, events FROM tracking_hourly;
DROP TABLE tracking_hourly;
ALTER TABLE tracking_hourly_new RENAME TO tracking_hourly;

-- +goose Down
SELECT 1;
