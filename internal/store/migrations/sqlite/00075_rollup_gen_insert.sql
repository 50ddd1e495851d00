-- +goose Up
-- The apply of webhooks also counts the rows it creates (statuses of
-- messages ticks did not send, inbound messages) in the rollup itself: a
-- batch's new rows fall under a few keys, written once each, where these
-- triggers would upsert two or three rows (and their day rows) for every
-- message. It inserts those rows with rollup_gen = 1; the insert triggers
-- skip them, and count every other insert as before (sends, history
-- loads, merges), which leave rollup_gen at its default of 0.
DROP TRIGGER messages_rollup_insert;
-- +goose StatementBegin
CREATE TRIGGER messages_rollup_insert AFTER INSERT ON messages
WHEN NEW.rollup_gen = 0
BEGIN
    INSERT INTO message_rollup_status VALUES (NEW.subaccount_id, NEW.direction, NEW.at / 3600000, NEW.status,
        (NEW.state <> 'failed' OR NEW.error_code <> 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO message_rollup VALUES (NEW.subaccount_id, NEW.direction, NEW.at / 3600000, NEW.status,
        NEW.content_type, NEW.with_session, NEW.conversation_type, (NEW.state <> 'failed' OR NEW.error_code <> 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

DROP TRIGGER messages_rollup_attributed_insert;
-- +goose StatementBegin
CREATE TRIGGER messages_rollup_attributed_insert AFTER INSERT ON messages
WHEN NEW.rollup_gen = 0 AND (NEW.campaign_id IS NOT NULL OR NEW.sender_user_id IS NOT NULL)
BEGIN
    INSERT INTO message_rollup_attributed VALUES (NEW.subaccount_id, NEW.direction, NEW.at / 3600000, NEW.status,
        NEW.content_type, NEW.with_session, NEW.conversation_type, (NEW.state <> 'failed' OR NEW.error_code <> 0),
        COALESCE(NEW.campaign_id, 0), COALESCE(NEW.sender_user_id, 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose Down
SELECT 1;
