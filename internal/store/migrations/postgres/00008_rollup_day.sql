-- +goose Up
-- A day level of the message rollup: the counts of message_rollup_status and
-- message_rollup summed per UTC day (hour / 24). A question over 90 days
-- (the detailed report's totals and its search for the hours that hold a
-- rare page's rows) sums about 24 times fewer rows: the whole UTC days of
-- its range from these tables, the hours at its edges from the hourly ones
-- (every time zone's midnight is a whole hour, so any range of whole hours
-- splits this way).
--
-- These mirror the hourly tables, not message_rollup_delta: row triggers on
-- the hourly tables keep them exact, so the fold (which moves the delta
-- into the hourly tables, under the fold lock) and the rebuild are counted
-- here without code of their own, and readers add the delta's pending
-- changes per day as they add them per hour. Only n of an hourly row ever
-- changes; its key never does.
CREATE TABLE message_rollup_status_day (
    subaccount_id     BIGINT NOT NULL,
    direction         TEXT NOT NULL,
    day               BIGINT NOT NULL,
    status            TEXT NOT NULL,
    accepted          BOOLEAN NOT NULL,
    n                 BIGINT NOT NULL,
    PRIMARY KEY (subaccount_id, direction, day, status, accepted)
);

CREATE TABLE message_rollup_day (
    subaccount_id     BIGINT NOT NULL,
    direction         TEXT NOT NULL,
    day               BIGINT NOT NULL,
    status            TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    with_session      BOOLEAN NOT NULL,
    conversation_type TEXT NOT NULL,
    accepted          BOOLEAN NOT NULL,
    n                 BIGINT NOT NULL,
    PRIMARY KEY (subaccount_id, direction, day, status, accepted, content_type, with_session, conversation_type)
);

LOCK TABLE message_rollup_status, message_rollup IN SHARE MODE;

INSERT INTO message_rollup_status_day
SELECT subaccount_id, direction, hour / 24, status, accepted, SUM(n)
FROM message_rollup_status GROUP BY 1, 2, 3, 4, 5;

INSERT INTO message_rollup_day
SELECT subaccount_id, direction, hour / 24, status, content_type, with_session, conversation_type, accepted, SUM(n)
FROM message_rollup GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

-- +goose StatementBegin
CREATE FUNCTION message_rollup_status_day() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r message_rollup_status;
    d BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD; d := -OLD.n;
    ELSIF TG_OP = 'UPDATE' THEN
        r := NEW; d := NEW.n - OLD.n;
    ELSE
        r := NEW; d := NEW.n;
    END IF;
    IF d <> 0 THEN
        INSERT INTO message_rollup_status_day VALUES (r.subaccount_id, r.direction, r.hour / 24, r.status, r.accepted, d)
        ON CONFLICT (subaccount_id, direction, day, status, accepted)
        DO UPDATE SET n = message_rollup_status_day.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION message_rollup_day() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r message_rollup;
    d BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD; d := -OLD.n;
    ELSIF TG_OP = 'UPDATE' THEN
        r := NEW; d := NEW.n - OLD.n;
    ELSE
        r := NEW; d := NEW.n;
    END IF;
    IF d <> 0 THEN
        INSERT INTO message_rollup_day VALUES (r.subaccount_id, r.direction, r.hour / 24, r.status, r.content_type,
            r.with_session, r.conversation_type, r.accepted, d)
        ON CONFLICT (subaccount_id, direction, day, status, accepted, content_type, with_session, conversation_type)
        DO UPDATE SET n = message_rollup_day.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER message_rollup_status_day AFTER INSERT OR UPDATE OF n OR DELETE ON message_rollup_status
    FOR EACH ROW EXECUTE FUNCTION message_rollup_status_day();
CREATE TRIGGER message_rollup_day AFTER INSERT OR UPDATE OF n OR DELETE ON message_rollup
    FOR EACH ROW EXECUTE FUNCTION message_rollup_day();

-- +goose Down
DROP TABLE message_rollup_day;
DROP TABLE message_rollup_status_day;
DROP FUNCTION message_rollup_day();
DROP FUNCTION message_rollup_status_day();
