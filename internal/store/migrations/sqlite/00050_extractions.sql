-- +goose Up
-- The report manager: extractions of a report table over a period, run in
-- the background into a file that is kept for a while.
CREATE TABLE extractions (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL DEFAULT 0,  -- who asked: a web user,
    token_id      INTEGER NOT NULL DEFAULT 0,  -- or an API token (both 0: the admin token)
    subaccount_id INTEGER,                     -- the subaccount chosen, NULL for all of scope
    scope         TEXT NOT NULL DEFAULT '',    -- the subaccounts it reads, "1,4"; '' for all (an organization admin)
    type          TEXT NOT NULL,
    format        TEXT NOT NULL,
    lang          TEXT NOT NULL,
    from_day      TEXT NOT NULL,               -- YYYY-MM-DD in the account's time zone, included
    to_day        TEXT NOT NULL,               -- included
    status        TEXT NOT NULL,               -- queued, running, ready, failed, expired, canceled
    rows_written  INTEGER NOT NULL DEFAULT 0,
    rows_total    INTEGER NOT NULL DEFAULT 0,  -- the estimate progress is measured against
    bytes         INTEGER NOT NULL DEFAULT 0,
    file          TEXT NOT NULL DEFAULT '',    -- the file's name in the extractions folder, once ready
    error         TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    expires_at    INTEGER
);
CREATE INDEX extractions_requester ON extractions (user_id, token_id, id);
CREATE INDEX extractions_status ON extractions (status, expires_at);

-- +goose Down
SELECT 1;
