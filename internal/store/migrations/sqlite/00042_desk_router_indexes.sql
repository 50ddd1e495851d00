-- +goose Up
-- The desk's router polls what arrived since its cursor, the last
-- contact's message it routed: without this index each poll read every
-- message sent since, when traffic is mostly outbound.
CREATE INDEX messages_mo_id ON messages (id) WHERE direction = 'mo';
-- It also watches the states of the recent desk messages, from this index
-- alone, and reads whole rows only for the ones that moved.
CREATE INDEX messages_desk_states ON messages (at, id, state) WHERE origin = 'desk';
DROP INDEX messages_desk_at;

-- +goose Down
CREATE INDEX messages_desk_at ON messages (at) WHERE origin = 'desk';
DROP INDEX messages_desk_states;
DROP INDEX messages_mo_id;
