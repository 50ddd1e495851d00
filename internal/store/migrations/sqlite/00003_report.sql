-- +goose Up
-- The detailed report on large data: rollups of message counts kept exact
-- by triggers, and the indexes its filters need.

-- message_rollup counts messages per subaccount, direction, UTC hour (at /
-- 3,600,000), status, content type, session and conversation type. A total
-- whose filters are all among these is a sum over the whole hours of its
-- range plus an exact count of the partial hours at its edges; UTC hours let
-- any whole-hour time zone sum its local days. accepted is false for the
-- messages ticks refused itself before sending (failed with no Meta error
-- code): the others went to WhatsApp, the delivery rate's denominator. It
-- is not "has a wamid", so that recording the wamid of a send changes no
-- count.
CREATE TABLE message_rollup (
    subaccount_id     INTEGER NOT NULL,
    direction         TEXT NOT NULL,
    hour              INTEGER NOT NULL,
    status            TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    with_session      INTEGER NOT NULL,
    conversation_type TEXT NOT NULL,
    accepted          INTEGER NOT NULL,
    n                 INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, direction, hour, status, accepted, content_type, with_session, conversation_type)
) WITHOUT ROWID;

-- message_rollup_status is message_rollup without the content type,
-- session and conversation type: seven times fewer rows, for the most
-- common searches (a date range, a direction, statuses) and the daily chart.
CREATE TABLE message_rollup_status (
    subaccount_id     INTEGER NOT NULL,
    direction         TEXT NOT NULL,
    hour              INTEGER NOT NULL,
    status            TEXT NOT NULL,
    accepted          INTEGER NOT NULL,
    n                 INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, direction, hour, status, accepted)
) WITHOUT ROWID;

-- message_rollup_attributed adds the campaign and the sending user (0 for
-- none), for the messages that have either. Kept apart because users and
-- campaigns multiply the keys: in one table, every total would read them.
CREATE TABLE message_rollup_attributed (
    subaccount_id     INTEGER NOT NULL,
    direction         TEXT NOT NULL,
    hour              INTEGER NOT NULL,
    status            TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    with_session      INTEGER NOT NULL,
    conversation_type TEXT NOT NULL,
    accepted          INTEGER NOT NULL,
    campaign_id       INTEGER NOT NULL,
    sender_user_id    INTEGER NOT NULL,
    n                 INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, direction, campaign_id, hour, sender_user_id, status, content_type, with_session,
                 conversation_type, accepted)
) WITHOUT ROWID;
-- By campaign through the primary key, by user through this index.
CREATE INDEX message_rollup_user ON message_rollup_attributed (subaccount_id, direction, sender_user_id, hour);

INSERT INTO message_rollup
SELECT subaccount_id, direction, at / 3600000, status, content_type, with_session, conversation_type,
       (state <> 'failed' OR error_code <> 0), COUNT(*)
FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
INSERT INTO message_rollup_status
SELECT subaccount_id, direction, at / 3600000, status, (state <> 'failed' OR error_code <> 0), COUNT(*)
FROM messages GROUP BY 1, 2, 3, 4, 5;
INSERT INTO message_rollup_attributed
SELECT subaccount_id, direction, at / 3600000, status, content_type, with_session, conversation_type,
       (state <> 'failed' OR error_code <> 0), COALESCE(campaign_id, 0), COALESCE(sender_user_id, 0), COUNT(*)
FROM messages WHERE campaign_id IS NOT NULL OR sender_user_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;

-- One writer at a time on SQLite, so the triggers update the counts in
-- place. The UPDATE triggers fire only when a counted value changed: most
-- updates (ids, pricing, timestamps) cost a comparison.
-- +goose StatementBegin
CREATE TRIGGER messages_rollup_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_rollup_status VALUES (NEW.subaccount_id, NEW.direction, NEW.at / 3600000, NEW.status,
        (NEW.state <> 'failed' OR NEW.error_code <> 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO message_rollup VALUES (NEW.subaccount_id, NEW.direction, NEW.at / 3600000, NEW.status,
        NEW.content_type, NEW.with_session, NEW.conversation_type, (NEW.state <> 'failed' OR NEW.error_code <> 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_rollup_attributed_insert AFTER INSERT ON messages
WHEN NEW.campaign_id IS NOT NULL OR NEW.sender_user_id IS NOT NULL
BEGIN
    INSERT INTO message_rollup_attributed VALUES (NEW.subaccount_id, NEW.direction, NEW.at / 3600000, NEW.status,
        NEW.content_type, NEW.with_session, NEW.conversation_type, (NEW.state <> 'failed' OR NEW.error_code <> 0),
        COALESCE(NEW.campaign_id, 0), COALESCE(NEW.sender_user_id, 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_rollup_delete AFTER DELETE ON messages BEGIN
    UPDATE message_rollup_status SET n = n - 1
    WHERE subaccount_id = OLD.subaccount_id AND direction = OLD.direction AND hour = OLD.at / 3600000
      AND status = OLD.status AND accepted = (OLD.state <> 'failed' OR OLD.error_code <> 0);
    UPDATE message_rollup SET n = n - 1
    WHERE subaccount_id = OLD.subaccount_id AND direction = OLD.direction AND hour = OLD.at / 3600000
      AND status = OLD.status AND content_type = OLD.content_type AND with_session = OLD.with_session
      AND conversation_type = OLD.conversation_type AND accepted = (OLD.state <> 'failed' OR OLD.error_code <> 0);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_rollup_attributed_delete AFTER DELETE ON messages
WHEN OLD.campaign_id IS NOT NULL OR OLD.sender_user_id IS NOT NULL
BEGIN
    UPDATE message_rollup_attributed SET n = n - 1
    WHERE subaccount_id = OLD.subaccount_id AND direction = OLD.direction AND hour = OLD.at / 3600000
      AND status = OLD.status AND content_type = OLD.content_type AND with_session = OLD.with_session
      AND conversation_type = OLD.conversation_type AND accepted = (OLD.state <> 'failed' OR OLD.error_code <> 0)
      AND campaign_id = COALESCE(OLD.campaign_id, 0) AND sender_user_id = COALESCE(OLD.sender_user_id, 0);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_rollup_status_update AFTER UPDATE OF subaccount_id, direction, at, status, state, error_code ON messages
WHEN OLD.subaccount_id <> NEW.subaccount_id OR OLD.direction <> NEW.direction
  OR OLD.at / 3600000 <> NEW.at / 3600000 OR OLD.status <> NEW.status
  OR (OLD.state = 'failed' AND OLD.error_code = 0) <> (NEW.state = 'failed' AND NEW.error_code = 0)
BEGIN
    UPDATE message_rollup_status SET n = n - 1
    WHERE subaccount_id = OLD.subaccount_id AND direction = OLD.direction AND hour = OLD.at / 3600000
      AND status = OLD.status AND accepted = (OLD.state <> 'failed' OR OLD.error_code <> 0);
    INSERT INTO message_rollup_status VALUES (NEW.subaccount_id, NEW.direction, NEW.at / 3600000, NEW.status,
        (NEW.state <> 'failed' OR NEW.error_code <> 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_rollup_update AFTER UPDATE OF subaccount_id, direction, at, status, content_type,
    with_session, conversation_type, state, error_code ON messages
WHEN OLD.subaccount_id <> NEW.subaccount_id OR OLD.direction <> NEW.direction
  OR OLD.at / 3600000 <> NEW.at / 3600000 OR OLD.status <> NEW.status OR OLD.content_type <> NEW.content_type
  OR OLD.with_session <> NEW.with_session OR OLD.conversation_type <> NEW.conversation_type
  OR (OLD.state = 'failed' AND OLD.error_code = 0) <> (NEW.state = 'failed' AND NEW.error_code = 0)
BEGIN
    UPDATE message_rollup SET n = n - 1
    WHERE subaccount_id = OLD.subaccount_id AND direction = OLD.direction AND hour = OLD.at / 3600000
      AND status = OLD.status AND content_type = OLD.content_type AND with_session = OLD.with_session
      AND conversation_type = OLD.conversation_type AND accepted = (OLD.state <> 'failed' OR OLD.error_code <> 0);
    INSERT INTO message_rollup VALUES (NEW.subaccount_id, NEW.direction, NEW.at / 3600000, NEW.status,
        NEW.content_type, NEW.with_session, NEW.conversation_type, (NEW.state <> 'failed' OR NEW.error_code <> 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_rollup_attributed_update AFTER UPDATE OF subaccount_id, direction, at, status,
    content_type, with_session, conversation_type, state, error_code, campaign_id, sender_user_id ON messages
WHEN (OLD.campaign_id IS NOT NULL OR OLD.sender_user_id IS NOT NULL
      OR NEW.campaign_id IS NOT NULL OR NEW.sender_user_id IS NOT NULL)
 AND (OLD.subaccount_id <> NEW.subaccount_id OR OLD.direction <> NEW.direction
  OR OLD.at / 3600000 <> NEW.at / 3600000 OR OLD.status <> NEW.status OR OLD.content_type <> NEW.content_type
  OR OLD.with_session <> NEW.with_session OR OLD.conversation_type <> NEW.conversation_type
  OR (OLD.state = 'failed' AND OLD.error_code = 0) <> (NEW.state = 'failed' AND NEW.error_code = 0)
  OR OLD.campaign_id IS NOT NEW.campaign_id OR OLD.sender_user_id IS NOT NEW.sender_user_id)
BEGIN
    UPDATE message_rollup_attributed SET n = n - 1
    WHERE subaccount_id = OLD.subaccount_id AND direction = OLD.direction AND hour = OLD.at / 3600000
      AND status = OLD.status AND content_type = OLD.content_type AND with_session = OLD.with_session
      AND conversation_type = OLD.conversation_type AND accepted = (OLD.state <> 'failed' OR OLD.error_code <> 0)
      AND campaign_id = COALESCE(OLD.campaign_id, 0) AND sender_user_id = COALESCE(OLD.sender_user_id, 0);
    INSERT INTO message_rollup_attributed SELECT NEW.subaccount_id, NEW.direction, NEW.at / 3600000, NEW.status,
        NEW.content_type, NEW.with_session, NEW.conversation_type, (NEW.state <> 'failed' OR NEW.error_code <> 0),
        COALESCE(NEW.campaign_id, 0), COALESCE(NEW.sender_user_id, 0), 1
    WHERE NEW.campaign_id IS NOT NULL OR NEW.sender_user_id IS NOT NULL
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- The report's time index, now covering the filters the status upsert
-- already rewrites it for (it sets "at"; SQLite rewrites every index holding
-- a column an UPDATE sets, changed or not): a first page whose filters match
-- many rows is a backward scan of this index that tests the filters on index
-- entries and reads only the rows it returns. Not the session and
-- conversation type, which the derivation of every send updates.
DROP INDEX messages_report;
CREATE INDEX messages_report ON messages (subaccount_id, direction, at, id, status, content_type, campaign_id,
    sender_user_id);
-- For filters matching few rows. Without "at", for the same reason.
CREATE INDEX messages_content_type ON messages (subaccount_id, direction, content_type);
CREATE INDEX messages_sender_user ON messages (sender_user_id) WHERE sender_user_id IS NOT NULL;
CREATE INDEX messages_correlation ON messages (correlation_id) WHERE correlation_id <> '';
CREATE INDEX contacts_phone_key ON contacts (phone_key);
CREATE INDEX contacts_correlation_id ON contacts (correlation_id) WHERE correlation_id <> '';

-- +goose Down
SELECT 1;
