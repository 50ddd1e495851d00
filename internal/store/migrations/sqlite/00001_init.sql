-- +goose Up
-- Times are unix milliseconds (INTEGER) in both dialects: one code path,
-- compact keys, and no driver time-zone conversions.

CREATE TABLE subaccounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    time_zone   TEXT NOT NULL DEFAULT 'America/Sao_Paulo',
    created_at  INTEGER NOT NULL
);
INSERT INTO subaccounts (id, name, created_at) VALUES (1, 'unassigned', 0);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    lang          TEXT NOT NULL DEFAULT 'pt-BR',
    password_hash TEXT NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL
);

CREATE TABLE user_subaccounts (
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    subaccount_id INTEGER NOT NULL REFERENCES subaccounts(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, subaccount_id)
);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    subaccount_id INTEGER NOT NULL REFERENCES subaccounts(id),
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_subaccount ON api_tokens (subaccount_id);

CREATE TABLE channels (
    id               INTEGER PRIMARY KEY,
    subaccount_id    INTEGER NOT NULL REFERENCES subaccounts(id),
    name             TEXT NOT NULL,
    waba_id          TEXT NOT NULL DEFAULT '',
    phone_number_id  TEXT NOT NULL UNIQUE,
    display_phone    TEXT NOT NULL DEFAULT '',
    access_token_enc TEXT NOT NULL DEFAULT '',
    tier             TEXT NOT NULL DEFAULT 'TIER_250',
    throughput_mps   INTEGER NOT NULL DEFAULT 80,
    quality          TEXT NOT NULL DEFAULT '',
    account_at       INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
);
CREATE INDEX channels_subaccount ON channels (subaccount_id);
CREATE INDEX channels_waba ON channels (waba_id);

CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    subaccount_id   INTEGER NOT NULL REFERENCES subaccounts(id),
    phone           TEXT NOT NULL DEFAULT '',
    phone_key       TEXT,
    wa_id           TEXT NOT NULL DEFAULT '',
    user_id         TEXT,
    name            TEXT NOT NULL DEFAULT '',
    correlation_id  TEXT NOT NULL DEFAULT '',
    fields          TEXT NOT NULL DEFAULT '{}',
    opted_out       BOOLEAN NOT NULL DEFAULT FALSE,
    preference_at   INTEGER NOT NULL DEFAULT 0,
    last_inbound_at INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX contacts_phone ON contacts (subaccount_id, phone_key);
CREATE UNIQUE INDEX contacts_user ON contacts (subaccount_id, user_id);
CREATE INDEX contacts_correlation ON contacts (subaccount_id, correlation_id);

CREATE TABLE templates (
    id            INTEGER PRIMARY KEY,
    subaccount_id INTEGER NOT NULL REFERENCES subaccounts(id),
    waba_id       TEXT NOT NULL,
    meta_id       TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL,
    language      TEXT NOT NULL,
    category      TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT '',
    quality       TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    components    TEXT NOT NULL DEFAULT '[]',
    updated_at    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (waba_id, name, language)
);
CREATE INDEX templates_subaccount ON templates (subaccount_id);

-- One row per message, outbound (mt) or inbound (mo). id is time-ordered.
-- wamid is NULL for messages the platform refused before sending.
CREATE TABLE messages (
    id                      INTEGER PRIMARY KEY,
    subaccount_id           INTEGER NOT NULL,
    channel_id              INTEGER NOT NULL,
    direction               TEXT NOT NULL,
    wamid                   TEXT UNIQUE,
    origin                  TEXT NOT NULL DEFAULT 'webhook',
    contact_id              INTEGER NOT NULL,
    phone                   TEXT NOT NULL DEFAULT '',
    wa_id                   TEXT NOT NULL DEFAULT '',
    user_id                 TEXT NOT NULL DEFAULT '',
    sender_user_id          INTEGER,
    bot_id                  INTEGER,
    campaign_id             INTEGER,
    content_type            TEXT NOT NULL DEFAULT '',
    text                    TEXT NOT NULL DEFAULT '',
    template_name           TEXT NOT NULL DEFAULT '',
    template_language       TEXT NOT NULL DEFAULT '',
    template_category       TEXT NOT NULL DEFAULT '',
    correlation_id          TEXT NOT NULL DEFAULT '',
    state                   TEXT NOT NULL,
    state_rank              INTEGER NOT NULL,
    status                  TEXT NOT NULL,
    error_code              INTEGER NOT NULL DEFAULT 0,
    error_title             TEXT NOT NULL DEFAULT '',
    error_detail            TEXT NOT NULL DEFAULT '',
    with_session            BOOLEAN NOT NULL DEFAULT FALSE,
    conversation_id         TEXT,
    conversation_type       TEXT NOT NULL DEFAULT '',
    conversation_category   TEXT NOT NULL DEFAULT '',
    conversation_expires_at INTEGER,
    meta_conversation_id    TEXT NOT NULL DEFAULT '',
    meta_conversation_type  TEXT NOT NULL DEFAULT '',
    meta_conversation_expires_at INTEGER,
    pricing_model           TEXT NOT NULL DEFAULT '',
    pricing_category        TEXT NOT NULL DEFAULT '',
    pricing_type            TEXT NOT NULL DEFAULT '',
    billable                BOOLEAN,
    pricing_rank            INTEGER NOT NULL DEFAULT -1,
    at                      INTEGER NOT NULL,
    sent_at                 INTEGER,
    delivered_at            INTEGER,
    read_at                 INTEGER,
    failed_at               INTEGER,
    context_wamid           TEXT NOT NULL DEFAULT '',
    button_payload          TEXT NOT NULL DEFAULT '',
    referral                TEXT,
    content                 TEXT,
    created_at              INTEGER NOT NULL
);
-- The report's main access path: a subaccount's messages of one direction by time.
CREATE INDEX messages_report ON messages (subaccount_id, direction, at, id);
CREATE INDEX messages_status ON messages (subaccount_id, direction, status, at);
CREATE INDEX messages_timeline ON messages (contact_id, channel_id, at);
CREATE INDEX messages_conversation ON messages (conversation_id);
CREATE INDEX messages_campaign ON messages (campaign_id, at);
CREATE INDEX messages_context ON messages (context_wamid);

-- The durable inbox: every signed webhook body, written before Meta gets its 200.
CREATE TABLE webhook_inbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    body        BLOB NOT NULL
);

-- What the ingest processor has applied, and other small state.
CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Account-level and unmodelled webhook changes, shown to admins.
CREATE TABLE webhook_events (
    id            INTEGER PRIMARY KEY,
    subaccount_id INTEGER NOT NULL,
    channel_id    INTEGER,
    field         TEXT NOT NULL,
    event         TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT '',
    payload       TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    at            INTEGER NOT NULL
);
CREATE INDEX webhook_events_subaccount ON webhook_events (subaccount_id, at);

-- +goose Down
SELECT 1;
