-- +goose Up
-- The MT messages sent outside a session in a user-initiated conversation
-- (0.03 % of them in the bench's seed: 2,400 of 7.7 M), for the pages of
-- "user_initiated + no session" with or without another filter, which
-- read every entry of the hours holding their rows and the row behind
-- each (neither column is in the time index). Partial, as 00070's: an
-- update of any other row only tests the WHERE clause. A query reads it
-- only when its WHERE clause holds these three terms with these literals
-- (dialect.go, userInitiatedNoSessionIndex).
CREATE INDEX messages_user_initiated_no_session ON messages (subaccount_id, direction, at, id, status, content_type)
    WHERE direction = 'mt' AND conversation_type = 'user_initiated' AND with_session = 0;

-- +goose Down
DROP INDEX messages_user_initiated_no_session;
