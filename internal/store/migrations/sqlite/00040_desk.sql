-- +goose Up
-- The help desk (Atendimento): teams, agents and their status log, pause
-- reasons, tickets with their tags and history. A ticket's messages are the
-- contact's message rows on its channel; nothing is copied.

-- An API token may act as one user (their role, subaccounts and teams).
ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE CASCADE;

CREATE TABLE desk_teams (
    id                   INTEGER PRIMARY KEY,
    subaccount_id        INTEGER NOT NULL REFERENCES subaccounts(id),
    channel_id           INTEGER REFERENCES channels(id),   -- NULL: every channel of the subaccount
    name                 TEXT NOT NULL,
    abandon_after_minutes INTEGER NOT NULL DEFAULT 60,
    created_at           INTEGER NOT NULL,
    UNIQUE (subaccount_id, name)
);

CREATE TABLE desk_team_members (
    team_id  INTEGER NOT NULL REFERENCES desk_teams(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX desk_team_members_user ON desk_team_members (user_id);

-- An agent's settings and current status; the log below is the history.
CREATE TABLE desk_agents (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    max_tickets INTEGER NOT NULL DEFAULT 5,
    status      TEXT NOT NULL DEFAULT 'offline',
    reason      TEXT NOT NULL DEFAULT '',
    since       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE desk_status_log (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status   TEXT NOT NULL,
    reason   TEXT NOT NULL DEFAULT '',
    at       INTEGER NOT NULL
);
CREATE INDEX desk_status_log_user ON desk_status_log (user_id, at);
CREATE INDEX desk_status_log_at ON desk_status_log (at);

CREATE TABLE desk_pause_reasons (
    id            INTEGER PRIMARY KEY,
    subaccount_id INTEGER NOT NULL REFERENCES subaccounts(id),
    name          TEXT NOT NULL,
    UNIQUE (subaccount_id, name)
);

CREATE TABLE desk_tickets (
    id                   INTEGER PRIMARY KEY,
    subaccount_id        INTEGER NOT NULL,
    channel_id           INTEGER NOT NULL,
    contact_id           INTEGER NOT NULL,
    team_id              INTEGER,
    agent_id             INTEGER,
    state                TEXT NOT NULL,             -- waiting, open, closed, abandoned
    origin               TEXT NOT NULL,             -- active_message, inbound
    active_message_id    INTEGER UNIQUE,            -- the agent's message the contact answered
    opened_by_message_id INTEGER UNIQUE,            -- the contact's message that opened it
    opened_at            INTEGER NOT NULL,
    assigned_at          INTEGER,
    first_response_at    INTEGER,
    closed_at            INTEGER,
    last_activity_at     INTEGER NOT NULL,
    tags                 TEXT NOT NULL DEFAULT ''   -- comma-separated, also in desk_ticket_tags
);
CREATE INDEX desk_tickets_opened ON desk_tickets (subaccount_id, opened_at);
CREATE INDEX desk_tickets_state ON desk_tickets (subaccount_id, state, opened_at);
CREATE INDEX desk_tickets_agent ON desk_tickets (agent_id, state);
CREATE INDEX desk_tickets_contact ON desk_tickets (contact_id, channel_id, state);

CREATE TABLE desk_ticket_tags (
    ticket_id INTEGER NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX desk_ticket_tags_tag ON desk_ticket_tags (tag);

-- Assignment, transfer, close and abandonment, in order.
CREATE TABLE desk_ticket_events (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,                     -- assigned, transferred, closed, abandoned
    by_user_id  INTEGER,
    agent_id    INTEGER,
    team_id     INTEGER
);
CREATE INDEX desk_ticket_events_ticket ON desk_ticket_events (ticket_id, at);

-- The Mensagens Ativas tab: an agent's messages sent from the desk, and
-- the recent ones whose statuses the desk pages follow live.
CREATE INDEX messages_desk ON messages (sender_user_id, at) WHERE origin = 'desk';
CREATE INDEX messages_desk_at ON messages (at) WHERE origin = 'desk';
-- Idle tickets, for abandonment.
CREATE INDEX desk_tickets_activity ON desk_tickets (state, last_activity_at);

-- +goose Down
SELECT 1;
