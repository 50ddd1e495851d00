-- +goose Up
-- Each contact's first time of each action (issue 17), kept at intake: a
-- funnel's first step over a long period reads a row a contact here instead
-- of every event of the action, and goes back to the events only for the
-- contacts whose first time is before the period. Retention deletes old
-- events only, which leaves a first time before any period they could be
-- in.
CREATE TABLE tracking_firsts (
    subaccount_id BIGINT NOT NULL,
    category      TEXT NOT NULL,
    action        TEXT NOT NULL,
    contact_id    BIGINT NOT NULL,
    first_at      BIGINT NOT NULL,
    PRIMARY KEY (subaccount_id, category, action, contact_id)
);
INSERT INTO tracking_firsts SELECT subaccount_id, category, action, contact_id, MIN(at) FROM tracking_events
    GROUP BY subaccount_id, category, action, contact_id;

-- +goose Down
DROP TABLE tracking_firsts;
