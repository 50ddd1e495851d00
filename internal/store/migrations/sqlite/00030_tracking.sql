-- +goose Up
-- Bots, event tracks and custom reports (issue 17).

-- A bot is an API client with a name and a place in a channel's flow. Its id
-- is its API token's id: messages sent with an API token have always carried
-- that id in messages.bot_id, so a bot's messages are attributed to it
-- without a second id. A router answers a channel; the bots under it name it.
CREATE TABLE bots (
    id            INTEGER PRIMARY KEY REFERENCES api_tokens(id),
    subaccount_id INTEGER NOT NULL REFERENCES subaccounts(id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,           -- router | bot
    router_id     INTEGER REFERENCES bots(id),
    channel_id    INTEGER REFERENCES channels(id),
    created_at    INTEGER NOT NULL,
    UNIQUE (subaccount_id, name)
);
-- One router answers a channel.
CREATE UNIQUE INDEX bots_channel_router ON bots (channel_id) WHERE kind = 'router';

-- One row per event a bot recorded. id is time-ordered (store.NewID); bot_id
-- is 0 for an event recorded without a bot.
CREATE TABLE tracking_events (
    id              INTEGER PRIMARY KEY,
    subaccount_id   INTEGER NOT NULL,
    bot_id          INTEGER NOT NULL DEFAULT 0,
    category        TEXT NOT NULL,
    action          TEXT NOT NULL,
    contact_id      INTEGER NOT NULL,
    message_id      INTEGER,
    extras          TEXT NOT NULL DEFAULT '',
    at              INTEGER NOT NULL,
    idempotency_key TEXT,
    created_at      INTEGER NOT NULL
);
-- NULL keys are distinct, so only events sent with a key are deduplicated.
CREATE UNIQUE INDEX tracking_events_key ON tracking_events (subaccount_id, idempotency_key);
-- Funnels read one action's events in a period.
CREATE INDEX tracking_events_action ON tracking_events (subaccount_id, category, action, at);
CREATE INDEX tracking_events_at ON tracking_events (subaccount_id, at);

-- Events per hour (unix hours), kept in the transaction that stores them.
CREATE TABLE tracking_hourly (
    subaccount_id INTEGER NOT NULL,
    hour          INTEGER NOT NULL,
    bot_id        INTEGER NOT NULL,
    category      TEXT NOT NULL,
    action        TEXT NOT NULL,
    events        INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, hour, bot_id, category, action)
);

-- Which contacts did an action on a day (of the subaccount's time zone when
-- the event was stored, as days since 1970-01-01): the distinct contacts of
-- the reports, without reading the events.
CREATE TABLE tracking_contact_days (
    subaccount_id INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    category      TEXT NOT NULL,
    action        TEXT NOT NULL,
    bot_id        INTEGER NOT NULL,
    contact_id    INTEGER NOT NULL,
    PRIMARY KEY (subaccount_id, day, category, action, bot_id, contact_id)
);

-- Saved custom reports: per user (or API token), shared with a subaccount
-- when shared is set. definition is the report's JSON.
CREATE TABLE custom_reports (
    id            INTEGER PRIMARY KEY,
    subaccount_id INTEGER NOT NULL REFERENCES subaccounts(id),
    user_id       INTEGER NOT NULL DEFAULT 0,
    token_id      INTEGER NOT NULL DEFAULT 0,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,           -- events | funnel
    definition    TEXT NOT NULL,
    shared        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL
);
CREATE INDEX custom_reports_subaccount ON custom_reports (subaccount_id);

-- +goose Down
SELECT 1;
