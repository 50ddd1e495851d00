-- +goose Up
-- What a request sent with an idempotency key asked for (a hash of it), so
-- that the key reused for a different request is refused instead of
-- answering with the first message.
ALTER TABLE messages ADD COLUMN idempotency_fingerprint TEXT NOT NULL DEFAULT '';
