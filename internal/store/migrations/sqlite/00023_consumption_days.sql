-- +goose Up
-- The consumption report's day level (issue 15). A month's report reads a
-- row per day and key instead of summing the hourly rollup's ~28,000 rows
-- a month at 10 M messages.
--
-- consumption_offsets are the UTC offsets (whole hours east of UTC) whose
-- local days are kept: ticks adds one, with its days counted from the
-- hourly rollup, the first time a report asks for days in it (UTC for the
-- reconciliation with Meta, the account's time zone for the report).
CREATE TABLE consumption_offsets (
    off INTEGER PRIMARY KEY
);

-- consumption_daily is consumption_rollup summed per local day of each kept
-- offset: day is the number of the local day since 1970-01-01, that is
-- (hour + off) / 24. Kept exact by triggers on consumption_rollup, so it
-- follows every write the rollup follows.
CREATE TABLE consumption_daily (
    off           INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    subaccount_id INTEGER NOT NULL,
    channel_id    INTEGER NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      INTEGER NOT NULL,
    opens         TEXT NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (off, day, subaccount_id, channel_id, category, pricing_type, billable, opens)
) WITHOUT ROWID;

-- A closed month's snapshot per local day of each kept offset, from its
-- hourly snapshot (whose 14-hour margins hold every offset's month).
CREATE TABLE consumption_snapshot_daily (
    month         TEXT NOT NULL,
    off           INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    subaccount_id INTEGER NOT NULL,
    channel_id    INTEGER NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      INTEGER NOT NULL,
    opens         TEXT NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (month, off, day, subaccount_id, channel_id, category, pricing_type, billable, opens)
) WITHOUT ROWID;

-- The UTC hours a closed month's snapshot holds, and what the rollup
-- changed in them after the month closed (late webhooks), per hour and
-- key, signed: a closed month's report reads its snapshot and these rows,
-- the adjustments, instead of comparing the live rollup with the snapshot.
ALTER TABLE consumption_closings ADD COLUMN from_hour INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consumption_closings ADD COLUMN to_hour INTEGER NOT NULL DEFAULT 0;
UPDATE consumption_closings SET
    from_hour = CAST(strftime('%s', month || '-01') AS INTEGER) / 3600 - 14,
    to_hour = CAST(strftime('%s', month || '-01', '+1 month') AS INTEGER) / 3600 + 14;
CREATE INDEX consumption_closings_to ON consumption_closings (to_hour);

CREATE TABLE consumption_changes (
    month         TEXT NOT NULL,
    hour          INTEGER NOT NULL,
    subaccount_id INTEGER NOT NULL,
    channel_id    INTEGER NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      INTEGER NOT NULL,
    opens         TEXT NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (month, hour, subaccount_id, channel_id, category, pricing_type, billable, opens)
) WITHOUT ROWID;
-- The months closed before this migration: what changed since is the live
-- rollup minus the snapshot.
INSERT INTO consumption_changes
SELECT month, hour, subaccount_id, channel_id, category, pricing_type, billable, opens, SUM(n)
FROM (SELECT c.month, r.hour, r.subaccount_id, r.channel_id, r.category, r.pricing_type, r.billable, r.opens, r.n
      FROM consumption_rollup r JOIN consumption_closings c ON r.hour >= c.from_hour AND r.hour < c.to_hour
      UNION ALL
      SELECT month, hour, subaccount_id, channel_id, category, pricing_type, billable, opens, -n FROM consumption_snapshot)
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING SUM(n) <> 0;

-- +goose StatementBegin
CREATE TRIGGER consumption_rollup_days_insert AFTER INSERT ON consumption_rollup
BEGIN
    INSERT INTO consumption_daily
    SELECT off, (NEW.hour + off) / 24, NEW.subaccount_id, NEW.channel_id, NEW.category, NEW.pricing_type, NEW.billable,
           NEW.opens, NEW.n
    FROM consumption_offsets WHERE true
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO consumption_changes
    SELECT month, NEW.hour, NEW.subaccount_id, NEW.channel_id, NEW.category, NEW.pricing_type, NEW.billable, NEW.opens, NEW.n
    FROM consumption_closings WHERE to_hour > NEW.hour AND from_hour <= NEW.hour
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER consumption_rollup_days_update AFTER UPDATE OF n ON consumption_rollup
WHEN NEW.n <> OLD.n
BEGIN
    INSERT INTO consumption_daily
    SELECT off, (NEW.hour + off) / 24, NEW.subaccount_id, NEW.channel_id, NEW.category, NEW.pricing_type, NEW.billable,
           NEW.opens, NEW.n - OLD.n
    FROM consumption_offsets WHERE true
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO consumption_changes
    SELECT month, NEW.hour, NEW.subaccount_id, NEW.channel_id, NEW.category, NEW.pricing_type, NEW.billable, NEW.opens, NEW.n - OLD.n
    FROM consumption_closings WHERE to_hour > NEW.hour AND from_hour <= NEW.hour
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER consumption_rollup_days_delete AFTER DELETE ON consumption_rollup
WHEN OLD.n <> 0
BEGIN
    INSERT INTO consumption_daily
    SELECT off, (OLD.hour + off) / 24, OLD.subaccount_id, OLD.channel_id, OLD.category, OLD.pricing_type, OLD.billable,
           OLD.opens, -OLD.n
    FROM consumption_offsets WHERE true
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO consumption_changes
    SELECT month, OLD.hour, OLD.subaccount_id, OLD.channel_id, OLD.category, OLD.pricing_type, OLD.billable, OLD.opens, -OLD.n
    FROM consumption_closings WHERE to_hour > OLD.hour AND from_hour <= OLD.hour
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- +goose Down
SELECT 1;
