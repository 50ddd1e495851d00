-- +goose Up
-- A campaign's failures by reason and its quick-reply answers by button,
-- kept by triggers as messages change, so that a campaign's page reads
-- counters instead of its messages (a million of them for a large one).
CREATE TABLE campaign_failures (
    subaccount_id INTEGER NOT NULL,
    campaign_id   INTEGER NOT NULL,
    status        TEXT NOT NULL,
    error_code    INTEGER NOT NULL,
    error_title   TEXT NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, campaign_id, status, error_code, error_title)
) WITHOUT ROWID;

CREATE TABLE campaign_buttons (
    subaccount_id INTEGER NOT NULL,
    campaign_id   INTEGER NOT NULL,
    payload       TEXT NOT NULL,
    text          TEXT NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, campaign_id, payload, text)
) WITHOUT ROWID;

INSERT INTO campaign_failures
SELECT subaccount_id, campaign_id, status, error_code, error_title, COUNT(*) FROM messages
WHERE campaign_id IS NOT NULL AND direction = 'mt' AND state = 'failed' GROUP BY 1, 2, 3, 4, 5;

INSERT INTO campaign_buttons
SELECT subaccount_id, campaign_id, button_payload, text, COUNT(*) FROM messages
WHERE campaign_id IS NOT NULL AND direction = 'mo' AND content_type = 'button' GROUP BY 1, 2, 3, 4;

-- +goose StatementBegin
CREATE TRIGGER messages_campaign_failures_insert AFTER INSERT ON messages
WHEN NEW.campaign_id IS NOT NULL AND NEW.direction = 'mt' AND NEW.state = 'failed'
BEGIN
    INSERT INTO campaign_failures VALUES (NEW.subaccount_id, NEW.campaign_id, NEW.status, NEW.error_code, NEW.error_title, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_campaign_failures_delete AFTER DELETE ON messages
WHEN OLD.campaign_id IS NOT NULL AND OLD.direction = 'mt' AND OLD.state = 'failed'
BEGIN
    UPDATE campaign_failures SET n = n - 1
    WHERE subaccount_id = OLD.subaccount_id AND campaign_id = OLD.campaign_id AND status = OLD.status
      AND error_code = OLD.error_code AND error_title = OLD.error_title;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_campaign_failures_update AFTER UPDATE OF subaccount_id, campaign_id, direction, state, status,
    error_code, error_title ON messages
WHEN (OLD.campaign_id IS NOT NULL AND OLD.direction = 'mt' AND OLD.state = 'failed'
      OR NEW.campaign_id IS NOT NULL AND NEW.direction = 'mt' AND NEW.state = 'failed')
  AND (OLD.subaccount_id, OLD.campaign_id, OLD.direction, OLD.state, OLD.status, OLD.error_code, OLD.error_title)
      IS NOT (NEW.subaccount_id, NEW.campaign_id, NEW.direction, NEW.state, NEW.status, NEW.error_code, NEW.error_title)
BEGIN
    UPDATE campaign_failures SET n = n - 1
    WHERE OLD.campaign_id IS NOT NULL AND OLD.direction = 'mt' AND OLD.state = 'failed'
      AND subaccount_id = OLD.subaccount_id AND campaign_id = OLD.campaign_id AND status = OLD.status
      AND error_code = OLD.error_code AND error_title = OLD.error_title;
    INSERT INTO campaign_failures
    SELECT NEW.subaccount_id, NEW.campaign_id, NEW.status, NEW.error_code, NEW.error_title, 1
    WHERE NEW.campaign_id IS NOT NULL AND NEW.direction = 'mt' AND NEW.state = 'failed'
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_campaign_buttons_insert AFTER INSERT ON messages
WHEN NEW.campaign_id IS NOT NULL AND NEW.direction = 'mo' AND NEW.content_type = 'button'
BEGIN
    INSERT INTO campaign_buttons VALUES (NEW.subaccount_id, NEW.campaign_id, NEW.button_payload, NEW.text, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_campaign_buttons_delete AFTER DELETE ON messages
WHEN OLD.campaign_id IS NOT NULL AND OLD.direction = 'mo' AND OLD.content_type = 'button'
BEGIN
    UPDATE campaign_buttons SET n = n - 1
    WHERE subaccount_id = OLD.subaccount_id AND campaign_id = OLD.campaign_id AND payload = OLD.button_payload AND text = OLD.text;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_campaign_buttons_update AFTER UPDATE OF subaccount_id, campaign_id, direction, content_type,
    button_payload, text ON messages
WHEN (OLD.campaign_id IS NOT NULL AND OLD.direction = 'mo' AND OLD.content_type = 'button'
      OR NEW.campaign_id IS NOT NULL AND NEW.direction = 'mo' AND NEW.content_type = 'button')
  AND (OLD.subaccount_id, OLD.campaign_id, OLD.direction, OLD.content_type, OLD.button_payload, OLD.text)
      IS NOT (NEW.subaccount_id, NEW.campaign_id, NEW.direction, NEW.content_type, NEW.button_payload, NEW.text)
BEGIN
    UPDATE campaign_buttons SET n = n - 1
    WHERE OLD.campaign_id IS NOT NULL AND OLD.direction = 'mo' AND OLD.content_type = 'button'
      AND subaccount_id = OLD.subaccount_id AND campaign_id = OLD.campaign_id AND payload = OLD.button_payload AND text = OLD.text;
    INSERT INTO campaign_buttons
    SELECT NEW.subaccount_id, NEW.campaign_id, NEW.button_payload, NEW.text, 1
    WHERE NEW.campaign_id IS NOT NULL AND NEW.direction = 'mo' AND NEW.content_type = 'button'
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER messages_campaign_buttons_update;
DROP TRIGGER messages_campaign_buttons_delete;
DROP TRIGGER messages_campaign_buttons_insert;
DROP TRIGGER messages_campaign_failures_update;
DROP TRIGGER messages_campaign_failures_delete;
DROP TRIGGER messages_campaign_failures_insert;
DROP TABLE campaign_buttons;
DROP TABLE campaign_failures;
