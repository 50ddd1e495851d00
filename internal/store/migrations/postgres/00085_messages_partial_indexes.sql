-- +goose Up
-- The SQLite migration makes three indexes of messages partial (only the
-- rows with a campaign, an idempotency key, a context), for the insert of
-- the rows webhooks create. PostgreSQL's indexes are left as they are here.
SELECT 1;

-- +goose Down
SELECT 1;
