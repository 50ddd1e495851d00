-- +goose Up
-- The consumption report's day level (issue 15): see the SQLite migration
-- for what the tables hold. On PostgreSQL the fold that moves the
-- triggers' changes into consumption_rollup also adds them to the days of
-- every kept offset and to the changes of the closed months they fall in,
-- so writers pay nothing more; readers add the changes not folded yet. A
-- closing folds first and keeps writers out of the delta meanwhile, so
-- what the delta holds after it is all later than the snapshot.
CREATE TABLE consumption_offsets (
    off BIGINT PRIMARY KEY
);

CREATE TABLE consumption_daily (
    off           BIGINT NOT NULL,
    day           BIGINT NOT NULL,
    subaccount_id BIGINT NOT NULL,
    channel_id    BIGINT NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      BOOLEAN NOT NULL,
    opens         TEXT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (off, day, subaccount_id, channel_id, category, pricing_type, billable, opens)
);

CREATE TABLE consumption_snapshot_daily (
    month         TEXT NOT NULL,
    off           BIGINT NOT NULL,
    day           BIGINT NOT NULL,
    subaccount_id BIGINT NOT NULL,
    channel_id    BIGINT NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      BOOLEAN NOT NULL,
    opens         TEXT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (month, off, day, subaccount_id, channel_id, category, pricing_type, billable, opens)
);

ALTER TABLE consumption_closings ADD COLUMN from_hour BIGINT NOT NULL DEFAULT 0;
ALTER TABLE consumption_closings ADD COLUMN to_hour BIGINT NOT NULL DEFAULT 0;
UPDATE consumption_closings SET
    from_hour = CAST(EXTRACT(EPOCH FROM CAST(month || '-01' AS timestamp)) AS BIGINT) / 3600 - 14,
    to_hour = CAST(EXTRACT(EPOCH FROM CAST(month || '-01' AS timestamp) + interval '1 month') AS BIGINT) / 3600 + 14;
CREATE INDEX consumption_closings_to ON consumption_closings (to_hour);

CREATE TABLE consumption_changes (
    month         TEXT NOT NULL,
    hour          BIGINT NOT NULL,
    subaccount_id BIGINT NOT NULL,
    channel_id    BIGINT NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      BOOLEAN NOT NULL,
    opens         TEXT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (month, hour, subaccount_id, channel_id, category, pricing_type, billable, opens)
);
-- The months closed before this migration: what changed since is the
-- rollup minus the snapshot (the delta is counted in as it is folded).
INSERT INTO consumption_changes
SELECT month, hour, subaccount_id, channel_id, category, pricing_type, billable, opens, SUM(n)
FROM (SELECT c.month, r.hour, r.subaccount_id, r.channel_id, r.category, r.pricing_type, r.billable, r.opens, r.n
      FROM consumption_rollup r
      JOIN consumption_closings c ON r.hour >= c.from_hour AND r.hour < c.to_hour
      UNION ALL
      SELECT month, hour, subaccount_id, channel_id, category, pricing_type, billable, opens, -n FROM consumption_snapshot) x
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING SUM(n) <> 0;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION consumption_rollup_fold() RETURNS void LANGUAGE sql AS $$
    WITH d AS (DELETE FROM consumption_rollup_delta RETURNING *),
    g AS (SELECT subaccount_id, hour, channel_id, category, pricing_type, billable, opens, SUM(n) AS n
          FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING SUM(n) <> 0),
    r AS (INSERT INTO consumption_rollup
          SELECT subaccount_id, hour, channel_id, category, pricing_type, billable, opens, n
          FROM g ORDER BY 1, 2, 3, 4, 5, 6, 7
          ON CONFLICT (hour, subaccount_id, channel_id, category, pricing_type, billable, opens)
          DO UPDATE SET n = consumption_rollup.n + excluded.n),
    days AS (INSERT INTO consumption_daily
          SELECT o.off, (g.hour + o.off) / 24, g.subaccount_id, g.channel_id, g.category, g.pricing_type, g.billable,
                 g.opens, SUM(g.n)
          FROM g CROSS JOIN consumption_offsets o
          GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING SUM(g.n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
          ON CONFLICT (off, day, subaccount_id, channel_id, category, pricing_type, billable, opens)
          DO UPDATE SET n = consumption_daily.n + excluded.n)
    INSERT INTO consumption_changes
    SELECT c.month, g.hour, g.subaccount_id, g.channel_id, g.category, g.pricing_type, g.billable, g.opens, g.n
    FROM g JOIN consumption_closings c ON c.to_hour > g.hour AND c.from_hour <= g.hour
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (month, hour, subaccount_id, channel_id, category, pricing_type, billable, opens)
    DO UPDATE SET n = consumption_changes.n + excluded.n;
$$;
-- +goose StatementEnd

-- +goose Down
SELECT 1;
