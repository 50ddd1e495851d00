-- +goose Up
-- A campaign (Mensagens Ativas): a template sent to an uploaded audience.
-- processed is how many of its audience rows (seq 1..audience) have become a
-- message; lease_until and lease_owner say which dispatch job holds it, so
-- that one job at a time sends, on any server.
CREATE TABLE campaigns (
    id                INTEGER PRIMARY KEY,
    subaccount_id     INTEGER NOT NULL REFERENCES subaccounts(id),
    name              TEXT NOT NULL,
    name_key          TEXT NOT NULL,
    channel_id        INTEGER NOT NULL REFERENCES channels(id),
    template          TEXT NOT NULL,
    language          TEXT NOT NULL,
    fallback_template TEXT NOT NULL DEFAULT '',
    fallback_language TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    created_by        INTEGER,
    created_at        INTEGER NOT NULL,
    scheduled_at      INTEGER,
    started_at        INTEGER,
    finished_at       INTEGER,
    rows_total        INTEGER NOT NULL DEFAULT 0,
    audience          INTEGER NOT NULL DEFAULT 0,
    invalid           INTEGER NOT NULL DEFAULT 0,
    duplicates        INTEGER NOT NULL DEFAULT 0,
    opted_out         INTEGER NOT NULL DEFAULT 0,
    processed         INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT NOT NULL DEFAULT '',
    lease_until       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX campaigns_subaccount ON campaigns (subaccount_id, id);
CREATE INDEX campaigns_status ON campaigns (status, scheduled_at);

-- The audience's valid rows, numbered from 1 in file order.
CREATE TABLE campaign_rows (
    campaign_id    INTEGER NOT NULL REFERENCES campaigns(id),
    seq            INTEGER NOT NULL,
    line           INTEGER NOT NULL,
    phone          TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    vars           TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (campaign_id, seq)
);

-- The audience's rejected rows, by line in the file.
CREATE TABLE campaign_row_errors (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    line        INTEGER NOT NULL,
    phone       TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL,
    PRIMARY KEY (campaign_id, line)
);

-- +goose Down
DROP TABLE campaign_row_errors;
DROP TABLE campaign_rows;
DROP TABLE campaigns;
