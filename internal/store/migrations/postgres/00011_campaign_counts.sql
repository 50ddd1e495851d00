-- +goose Up
-- A campaign's failures by reason and its quick-reply answers by button,
-- kept by triggers as messages change, so that a campaign's page reads
-- counters instead of its messages (a million of them for a large one).
CREATE TABLE campaign_failures (
    subaccount_id BIGINT NOT NULL,
    campaign_id   BIGINT NOT NULL,
    status        TEXT NOT NULL,
    error_code    BIGINT NOT NULL,
    error_title   TEXT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (subaccount_id, campaign_id, status, error_code, error_title)
);

CREATE TABLE campaign_buttons (
    subaccount_id BIGINT NOT NULL,
    campaign_id   BIGINT NOT NULL,
    payload       TEXT NOT NULL,
    text          TEXT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (subaccount_id, campaign_id, payload, text)
);

INSERT INTO campaign_failures
SELECT subaccount_id, campaign_id, status, error_code, error_title, COUNT(*) FROM messages
WHERE campaign_id IS NOT NULL AND direction = 'mt' AND state = 'failed' GROUP BY 1, 2, 3, 4, 5;

INSERT INTO campaign_buttons
SELECT subaccount_id, campaign_id, button_payload, text, COUNT(*) FROM messages
WHERE campaign_id IS NOT NULL AND direction = 'mo' AND content_type = 'button' GROUP BY 1, 2, 3, 4;

-- One row trigger for both tables; its WHEN clauses leave out every message
-- that is neither a campaign's failure nor an answer by button.
-- +goose StatementBegin
CREATE FUNCTION messages_campaign_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF OLD.campaign_id IS NOT NULL AND OLD.direction = 'mt' AND OLD.state = 'failed' THEN
            UPDATE campaign_failures SET n = n - 1
            WHERE subaccount_id = OLD.subaccount_id AND campaign_id = OLD.campaign_id AND status = OLD.status
              AND error_code = OLD.error_code AND error_title = OLD.error_title;
        END IF;
        IF OLD.campaign_id IS NOT NULL AND OLD.direction = 'mo' AND OLD.content_type = 'button' THEN
            UPDATE campaign_buttons SET n = n - 1
            WHERE subaccount_id = OLD.subaccount_id AND campaign_id = OLD.campaign_id
              AND payload = OLD.button_payload AND text = OLD.text;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        IF NEW.campaign_id IS NOT NULL AND NEW.direction = 'mt' AND NEW.state = 'failed' THEN
            INSERT INTO campaign_failures VALUES (NEW.subaccount_id, NEW.campaign_id, NEW.status, NEW.error_code, NEW.error_title, 1)
            ON CONFLICT (subaccount_id, campaign_id, status, error_code, error_title) DO UPDATE SET n = campaign_failures.n + 1;
        END IF;
        IF NEW.campaign_id IS NOT NULL AND NEW.direction = 'mo' AND NEW.content_type = 'button' THEN
            INSERT INTO campaign_buttons VALUES (NEW.subaccount_id, NEW.campaign_id, NEW.button_payload, NEW.text, 1)
            ON CONFLICT (subaccount_id, campaign_id, payload, text) DO UPDATE SET n = campaign_buttons.n + 1;
        END IF;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER messages_campaign_counts_insert AFTER INSERT ON messages FOR EACH ROW
WHEN (NEW.campaign_id IS NOT NULL AND (NEW.direction = 'mt' AND NEW.state = 'failed' OR NEW.direction = 'mo' AND NEW.content_type = 'button'))
EXECUTE FUNCTION messages_campaign_counts();

CREATE TRIGGER messages_campaign_counts_delete AFTER DELETE ON messages FOR EACH ROW
WHEN (OLD.campaign_id IS NOT NULL AND (OLD.direction = 'mt' AND OLD.state = 'failed' OR OLD.direction = 'mo' AND OLD.content_type = 'button'))
EXECUTE FUNCTION messages_campaign_counts();

CREATE TRIGGER messages_campaign_counts_update AFTER UPDATE OF subaccount_id, campaign_id, direction, state, status,
    error_code, error_title, content_type, button_payload, text ON messages FOR EACH ROW
WHEN ((OLD.campaign_id IS NOT NULL AND (OLD.direction = 'mt' AND OLD.state = 'failed' OR OLD.direction = 'mo' AND OLD.content_type = 'button')
       OR NEW.campaign_id IS NOT NULL AND (NEW.direction = 'mt' AND NEW.state = 'failed' OR NEW.direction = 'mo' AND NEW.content_type = 'button'))
  AND (OLD.subaccount_id, OLD.campaign_id, OLD.direction, OLD.state, OLD.status, OLD.error_code, OLD.error_title,
       OLD.content_type, OLD.button_payload, OLD.text)
      IS DISTINCT FROM (NEW.subaccount_id, NEW.campaign_id, NEW.direction, NEW.state, NEW.status, NEW.error_code, NEW.error_title,
       NEW.content_type, NEW.button_payload, NEW.text))
EXECUTE FUNCTION messages_campaign_counts();

-- +goose Down
DROP TRIGGER messages_campaign_counts_update ON messages;
DROP TRIGGER messages_campaign_counts_delete ON messages;
DROP TRIGGER messages_campaign_counts_insert ON messages;
DROP FUNCTION messages_campaign_counts();
DROP TABLE campaign_buttons;
DROP TABLE campaign_failures;
