-- +goose Up
-- Sending: idempotency keys, fallback templates, warm-up programs.
ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX messages_idempotency ON messages (subaccount_id, idempotency_key);

ALTER TABLE channels ADD COLUMN fallback_template TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN fallback_language TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN warmup_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN warmup_daily_limit INTEGER NOT NULL DEFAULT 0;

CREATE INDEX contacts_opted_out ON contacts (subaccount_id, opted_out);

-- +goose Down
SELECT 1;
