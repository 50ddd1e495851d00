-- +goose Up
-- The web app: login sessions and saved searches.
CREATE TABLE sessions (
    hash        TEXT PRIMARY KEY,          -- SHA-256 of the cookie value
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE saved_searches (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    subaccount_id INTEGER,                 -- shared with this subaccount when set
    name          TEXT NOT NULL,
    query         TEXT NOT NULL,           -- the report's query string
    created_at    INTEGER NOT NULL,
    UNIQUE (user_id, name)
);
CREATE INDEX saved_searches_subaccount ON saved_searches (subaccount_id);

-- +goose Down
SELECT 1;
