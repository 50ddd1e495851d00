-- +goose Up
-- The free-entry-point rows (about 3 % of them) in time order, for the
-- pages of that conversation type with another filter: neither the
-- conversation type nor the session flag is in the time index (the
-- derivation of every send updates them), so such a page read every entry
-- of the hours holding its rows and the row behind each (436,000 entries
-- for "text + free_entry_point + no session" at 10 M). Partial, so an
-- update of any other row (the derivation's, a status's) only tests the
-- WHERE clause on the row before and after and writes nothing here. The
-- session flag, status and content type ride along so that the other
-- filters are tested on the entry, and id so the order is the page's.
-- A query reads it only when its WHERE clause holds this one's term with
-- the same literal (dialect.go, freeEntryPointIndex).
CREATE INDEX messages_free_entry_point ON messages (subaccount_id, direction, at, id, with_session, status,
    content_type) WHERE conversation_type = 'free_entry_point';

-- +goose Down
DROP INDEX messages_free_entry_point;
