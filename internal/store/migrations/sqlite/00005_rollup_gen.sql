-- +goose Up
-- The apply of status webhooks counts its own changes in the rollup: it sums
-- a batch's moves between rollup keys in Go and writes each key once, where
-- the triggers would update two rows of two tables for every message. To
-- tell the triggers, it bumps rollup_gen in the same UPDATE; the update
-- triggers skip those rows and count every other write as before (sends,
-- the expirer, merges, channel claims, the derivation of sessions).
-- Adding a column with a constant default rewrites no row.
ALTER TABLE messages ADD COLUMN rollup_gen INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER messages_rollup_status_update;
-- +goose StatementBegin
CREATE TRIGGER messages_rollup_status_update AFTER UPDATE OF subaccount_id, direction, at, status, state, error_code ON messages
WHEN NEW.rollup_gen = OLD.rollup_gen AND (OLD.subaccount_id <> NEW.subaccount_id OR OLD.direction <> NEW.direction
      OR OLD.at / 3600000 <> NEW.at / 3600000 OR OLD.status <> NEW.status
      OR (OLD.state = 'failed' AND OLD.error_code = 0) <> (NEW.state = 'failed' AND NEW.error_code = 0))
BEGIN
    UPDATE message_rollup_status SET n = n - 1
    WHERE subaccount_id = OLD.subaccount_id AND direction = OLD.direction AND hour = OLD.at / 3600000
      AND status = OLD.status AND accepted = (OLD.state <> 'failed' OR OLD.error_code <> 0);
    INSERT INTO message_rollup_status VALUES (NEW.subaccount_id, NEW.direction, NEW.at / 3600000, NEW.status,
        (NEW.state <> 'failed' OR NEW.error_code <> 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

DROP TRIGGER messages_rollup_update;
-- +goose StatementBegin
CREATE TRIGGER messages_rollup_update AFTER UPDATE OF subaccount_id, direction, at, status, content_type,
    with_session, conversation_type, state, error_code ON messages
WHEN NEW.rollup_gen = OLD.rollup_gen AND (OLD.subaccount_id <> NEW.subaccount_id OR OLD.direction <> NEW.direction
      OR OLD.at / 3600000 <> NEW.at / 3600000 OR OLD.status <> NEW.status OR OLD.content_type <> NEW.content_type
      OR OLD.with_session <> NEW.with_session OR OLD.conversation_type <> NEW.conversation_type
      OR (OLD.state = 'failed' AND OLD.error_code = 0) <> (NEW.state = 'failed' AND NEW.error_code = 0))
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

DROP TRIGGER messages_rollup_attributed_update;
-- +goose StatementBegin
CREATE TRIGGER messages_rollup_attributed_update AFTER UPDATE OF subaccount_id, direction, at, status,
    content_type, with_session, conversation_type, state, error_code, campaign_id, sender_user_id ON messages
WHEN NEW.rollup_gen = OLD.rollup_gen AND ((OLD.campaign_id IS NOT NULL OR OLD.sender_user_id IS NOT NULL
          OR NEW.campaign_id IS NOT NULL OR NEW.sender_user_id IS NOT NULL)
     AND (OLD.subaccount_id <> NEW.subaccount_id OR OLD.direction <> NEW.direction
      OR OLD.at / 3600000 <> NEW.at / 3600000 OR OLD.status <> NEW.status OR OLD.content_type <> NEW.content_type
      OR OLD.with_session <> NEW.with_session OR OLD.conversation_type <> NEW.conversation_type
      OR (OLD.state = 'failed' AND OLD.error_code = 0) <> (NEW.state = 'failed' AND NEW.error_code = 0)
      OR OLD.campaign_id IS NOT NEW.campaign_id OR OLD.sender_user_id IS NOT NEW.sender_user_id))
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

-- +goose Down
SELECT 1;
