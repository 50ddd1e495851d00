-- +goose Up
-- A day level of the message rollup: the counts of message_rollup_status and
-- message_rollup summed per UTC day (hour / 24). A question over 90 days
-- (the detailed report's totals and its search for the hours that hold a
-- rare page's rows) sums about 24 times fewer rows: the whole UTC days of
-- its range from these tables, the hours at its edges from the hourly ones
-- (every time zone's midnight is a whole hour, so any range of whole hours
-- splits this way).
--
-- The hourly tables' own triggers keep these exact, so every path that
-- writes the hourly rollup (the triggers on messages, the apply of status
-- webhooks, the rebuild) is counted here without code of its own. Only n
-- of an hourly row ever changes; its key never does.
CREATE TABLE message_rollup_status_day (
    subaccount_id     INTEGER NOT NULL,
    direction         TEXT NOT NULL,
    day               INTEGER NOT NULL,
    status            TEXT NOT NULL,
    accepted          INTEGER NOT NULL,
    n                 INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, direction, day, status, accepted)
) WITHOUT ROWID;

CREATE TABLE message_rollup_day (
    subaccount_id     INTEGER NOT NULL,
    direction         TEXT NOT NULL,
    day               INTEGER NOT NULL,
    status            TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    with_session      INTEGER NOT NULL,
    conversation_type TEXT NOT NULL,
    accepted          INTEGER NOT NULL,
    n                 INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, direction, day, status, accepted, content_type, with_session, conversation_type)
) WITHOUT ROWID;

INSERT INTO message_rollup_status_day
SELECT subaccount_id, direction, hour / 24, status, accepted, SUM(n)
FROM message_rollup_status GROUP BY 1, 2, 3, 4, 5;

INSERT INTO message_rollup_day
SELECT subaccount_id, direction, hour / 24, status, content_type, with_session, conversation_type, accepted, SUM(n)
FROM message_rollup GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

-- +goose StatementBegin
CREATE TRIGGER message_rollup_status_day_insert AFTER INSERT ON message_rollup_status BEGIN
    INSERT INTO message_rollup_status_day VALUES (NEW.subaccount_id, NEW.direction, NEW.hour / 24, NEW.status,
        NEW.accepted, NEW.n)
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER message_rollup_status_day_update AFTER UPDATE OF n ON message_rollup_status
WHEN NEW.n <> OLD.n BEGIN
    UPDATE message_rollup_status_day SET n = n + NEW.n - OLD.n
    WHERE subaccount_id = NEW.subaccount_id AND direction = NEW.direction AND day = NEW.hour / 24
      AND status = NEW.status AND accepted = NEW.accepted;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER message_rollup_status_day_delete AFTER DELETE ON message_rollup_status BEGIN
    UPDATE message_rollup_status_day SET n = n - OLD.n
    WHERE subaccount_id = OLD.subaccount_id AND direction = OLD.direction AND day = OLD.hour / 24
      AND status = OLD.status AND accepted = OLD.accepted;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER message_rollup_day_insert AFTER INSERT ON message_rollup BEGIN
    INSERT INTO message_rollup_day VALUES (NEW.subaccount_id, NEW.direction, NEW.hour / 24, NEW.status,
        NEW.content_type, NEW.with_session, NEW.conversation_type, NEW.accepted, NEW.n)
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER message_rollup_day_update AFTER UPDATE OF n ON message_rollup
WHEN NEW.n <> OLD.n BEGIN
    UPDATE message_rollup_day SET n = n + NEW.n - OLD.n
    WHERE subaccount_id = NEW.subaccount_id AND direction = NEW.direction AND day = NEW.hour / 24
      AND status = NEW.status AND accepted = NEW.accepted AND content_type = NEW.content_type
      AND with_session = NEW.with_session AND conversation_type = NEW.conversation_type;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER message_rollup_day_delete AFTER DELETE ON message_rollup BEGIN
    UPDATE message_rollup_day SET n = n - OLD.n
    WHERE subaccount_id = OLD.subaccount_id AND direction = OLD.direction AND day = OLD.hour / 24
      AND status = OLD.status AND accepted = OLD.accepted AND content_type = OLD.content_type
      AND with_session = OLD.with_session AND conversation_type = OLD.conversation_type;
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE message_rollup_day;
DROP TABLE message_rollup_status_day;
