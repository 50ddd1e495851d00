-- +goose Up
-- Three indexes of messages held an entry for every row though their
-- queries only look up rows that have a value: the campaign's messages
-- (campaign_id = ?), a send's idempotency key (subaccount_id = ? AND
-- idempotency_key = ?) and the replies quoting a message (context_wamid =
-- a wamid, with context_wamid <> '' in the query). A message from a
-- webhook has none of the three (no campaign, no key, and no context unless
-- it replies), and every insert of one wrote an entry in each: 4% of
-- applying statuses that each create their message. Partial, an insert of
-- such a row only tests the WHERE clauses. The idempotency index stays
-- unique for the keys it holds (NULL keys were never unique).
DROP INDEX messages_campaign;
CREATE INDEX messages_campaign ON messages (campaign_id, at) WHERE campaign_id IS NOT NULL;
DROP INDEX messages_idempotency;
CREATE UNIQUE INDEX messages_idempotency ON messages (subaccount_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
DROP INDEX messages_context;
CREATE INDEX messages_context ON messages (context_wamid) WHERE context_wamid <> '';

-- +goose Down
DROP INDEX messages_campaign;
CREATE INDEX messages_campaign ON messages (campaign_id, at);
DROP INDEX messages_idempotency;
CREATE UNIQUE INDEX messages_idempotency ON messages (subaccount_id, idempotency_key);
DROP INDEX messages_context;
CREATE INDEX messages_context ON messages (context_wamid);
