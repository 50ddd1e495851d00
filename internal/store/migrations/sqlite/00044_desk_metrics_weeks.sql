-- +goose Up
-- The attendance metrics' rollup of 00043 read a row per agent and day: 18,000
-- rows for 90 days of 200 agents. It now keeps each ticket twice, in its
-- day's row and in its week's (span 7: the days from day to day + 6, day a
-- multiple of 7), so that a period reads its whole weeks from the weeks'
-- rows and only its first and last days from the days' (4,800 rows for the
-- same 90 days). Derived data: the store fills the new tables from the
-- tickets (desk.metrics.rebuild).
DROP TABLE desk_metrics_daily;
DROP TABLE desk_metrics_daily_tags;

CREATE TABLE desk_metrics (
    subaccount_id INTEGER NOT NULL,
    span          INTEGER NOT NULL,   -- 1: a day, 7: a week
    day           INTEGER NOT NULL,   -- the first day (opened_at / 86400000)
    team_id       INTEGER NOT NULL,   -- 0: none
    agent_id      INTEGER NOT NULL,   -- 0: none
    figures       BLOB NOT NULL,   -- store.DeskCell, encoded
    PRIMARY KEY (subaccount_id, span, day, team_id, agent_id)
) WITHOUT ROWID;

CREATE TABLE desk_metrics_tags (
    subaccount_id INTEGER NOT NULL,
    span          INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    team_id       INTEGER NOT NULL,
    tag           TEXT NOT NULL,
    figures       BLOB NOT NULL,
    PRIMARY KEY (subaccount_id, span, day, team_id, tag)
) WITHOUT ROWID;

INSERT INTO kv (key, value) VALUES ('desk.metrics.rebuild', '1') ON CONFLICT (key) DO NOTHING;

-- +goose Down
DROP TABLE desk_metrics_tags;
DROP TABLE desk_metrics;
CREATE TABLE desk_metrics_daily (
    subaccount_id INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    team_id       INTEGER NOT NULL,
    agent_id      INTEGER NOT NULL,
    figures       BLOB NOT NULL,
    PRIMARY KEY (subaccount_id, day, team_id, agent_id)
) WITHOUT ROWID;
CREATE TABLE desk_metrics_daily_tags (
    subaccount_id INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    team_id       INTEGER NOT NULL,
    tag           TEXT NOT NULL,
    figures       BLOB NOT NULL,
    PRIMARY KEY (subaccount_id, day, team_id, tag)
) WITHOUT ROWID;
INSERT INTO kv (key, value) VALUES ('desk.metrics.rebuild', '1') ON CONFLICT (key) DO NOTHING;
