-- +goose Up
-- The attendance metrics' rollup: the figures of the tickets opened on a
-- day (UTC), by subaccount, team and agent, and again by team and tag. The
-- store keeps them in the transactions that open, assign, answer,
-- transfer, close and abandon a ticket (desk_metrics.go): it takes the
-- ticket's old figures out and puts its new ones in. Counts and sums are
-- exact; each time's histogram (hist package) gives the percentiles. The
-- figures are one encoded value, so that reading a row costs one column.
-- team_id and agent_id are 0 for none. Tickets pruned by retention stay
-- counted here.
CREATE TABLE desk_metrics_daily (
    subaccount_id       INTEGER NOT NULL,
    day                 INTEGER NOT NULL,   -- opened_at / 86400000
    team_id             INTEGER NOT NULL,
    agent_id            INTEGER NOT NULL,
    figures             BLOB NOT NULL,    -- store.DeskCell, encoded
    PRIMARY KEY (subaccount_id, day, team_id, agent_id)
) WITHOUT ROWID;

CREATE TABLE desk_metrics_daily_tags (
    subaccount_id       INTEGER NOT NULL,
    day                 INTEGER NOT NULL,
    team_id             INTEGER NOT NULL,
    tag                 TEXT NOT NULL,
    figures             BLOB NOT NULL,    -- store.DeskCell, encoded
    PRIMARY KEY (subaccount_id, day, team_id, tag)
) WITHOUT ROWID;

-- One agent's metrics with their tags are read from the tickets: this
-- index finds that agent's tickets of a period.
CREATE INDEX desk_tickets_agent_opened ON desk_tickets (agent_id, opened_at);

-- The active messages sent from the desk, by day (UTC) and agent, kept by
-- triggers on messages.
CREATE TABLE desk_active_sent_daily (
    subaccount_id INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    agent_id      INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, day, agent_id)
) WITHOUT ROWID;

INSERT INTO desk_active_sent_daily
SELECT subaccount_id, at / 86400000, COALESCE(sender_user_id, 0), COUNT(*) FROM messages
WHERE origin = 'desk' AND direction = 'mt' GROUP BY 1, 2, 3;

-- +goose StatementBegin
CREATE TRIGGER messages_desk_sent_insert AFTER INSERT ON messages
WHEN NEW.origin = 'desk' AND NEW.direction = 'mt'
BEGIN
    INSERT INTO desk_active_sent_daily VALUES (NEW.subaccount_id, NEW.at / 86400000, COALESCE(NEW.sender_user_id, 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_desk_sent_update AFTER UPDATE OF subaccount_id, origin, direction, sender_user_id, at ON messages
WHEN (OLD.origin = 'desk' AND OLD.direction = 'mt' OR NEW.origin = 'desk' AND NEW.direction = 'mt')
  AND (OLD.subaccount_id, OLD.origin, OLD.direction, OLD.sender_user_id, OLD.at / 86400000)
      IS NOT (NEW.subaccount_id, NEW.origin, NEW.direction, NEW.sender_user_id, NEW.at / 86400000)
BEGIN
    UPDATE desk_active_sent_daily SET n = n - 1
    WHERE OLD.origin = 'desk' AND OLD.direction = 'mt'
      AND subaccount_id = OLD.subaccount_id AND day = OLD.at / 86400000 AND agent_id = COALESCE(OLD.sender_user_id, 0);
    INSERT INTO desk_active_sent_daily
    SELECT NEW.subaccount_id, NEW.at / 86400000, COALESCE(NEW.sender_user_id, 0), 1 WHERE NEW.origin = 'desk' AND NEW.direction = 'mt'
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- The store fills the tickets' rollup from the tickets there are (in Go:
-- the histograms) when it sees this key, then deletes it.
INSERT INTO kv (key, value) VALUES ('desk.metrics.rebuild', '1') ON CONFLICT (key) DO NOTHING;

-- +goose Down
DROP TRIGGER messages_desk_sent_update;
DROP TRIGGER messages_desk_sent_insert;
DROP TABLE desk_active_sent_daily;
DROP INDEX desk_tickets_agent_opened;
DROP TABLE desk_metrics_daily_tags;
DROP TABLE desk_metrics_daily;
DELETE FROM kv WHERE key = 'desk.metrics.rebuild';
