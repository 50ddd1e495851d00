-- +goose Up
-- The detailed report on large data: rollups of message counts kept exact
-- by triggers, and the indexes its filters need.

-- message_rollup counts messages per subaccount, direction, UTC hour (at /
-- 3,600,000), status, content type, session and conversation type. A total
-- whose filters are all among these is a sum over the whole hours of its
-- range plus an exact count of the partial hours at its edges; UTC hours let
-- any whole-hour time zone sum its local days. accepted is false for the
-- messages ticks refused itself before sending (failed with no Meta error
-- code): the others went to WhatsApp, the delivery rate's denominator. It
-- is not "has a wamid", so that recording the wamid of a send changes no
-- count.
CREATE TABLE message_rollup (
    subaccount_id     BIGINT NOT NULL,
    direction         TEXT NOT NULL,
    hour              BIGINT NOT NULL,
    status            TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    with_session      BOOLEAN NOT NULL,
    conversation_type TEXT NOT NULL,
    accepted          BOOLEAN NOT NULL,
    n                 BIGINT NOT NULL,
    PRIMARY KEY (subaccount_id, direction, hour, status, accepted, content_type, with_session, conversation_type)
);

-- message_rollup_status is message_rollup without the content type,
-- session and conversation type: seven times fewer rows, for the most
-- common searches (a date range, a direction, statuses) and the daily chart.
CREATE TABLE message_rollup_status (
    subaccount_id     BIGINT NOT NULL,
    direction         TEXT NOT NULL,
    hour              BIGINT NOT NULL,
    status            TEXT NOT NULL,
    accepted          BOOLEAN NOT NULL,
    n                 BIGINT NOT NULL,
    PRIMARY KEY (subaccount_id, direction, hour, status, accepted)
);

-- message_rollup_attributed adds the campaign and the sending user (0 for
-- none), for the messages that have either. Kept apart because users and
-- campaigns multiply the keys: in one table, every total would read them.
CREATE TABLE message_rollup_attributed (
    subaccount_id     BIGINT NOT NULL,
    direction         TEXT NOT NULL,
    hour              BIGINT NOT NULL,
    status            TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    with_session      BOOLEAN NOT NULL,
    conversation_type TEXT NOT NULL,
    accepted          BOOLEAN NOT NULL,
    campaign_id       BIGINT NOT NULL,
    sender_user_id    BIGINT NOT NULL,
    n                 BIGINT NOT NULL,
    PRIMARY KEY (subaccount_id, direction, campaign_id, hour, sender_user_id, status, content_type, with_session,
                 conversation_type, accepted)
);
-- By campaign through the primary key, by user through this index.
CREATE INDEX message_rollup_user ON message_rollup_attributed (subaccount_id, direction, sender_user_id, hour);

-- Concurrent writers on PostgreSQL would queue on the hot rows of the
-- rollup (every send of the hour adds to the same one) and hold each other
-- until commit. So the triggers only append signed changes here, which never
-- conflict, and every few hundred statements one writer that wins a
-- try-lock folds the committed changes into the rollup tables. Readers sum
-- both in one statement, hence one snapshot.
CREATE TABLE message_rollup_delta (
    subaccount_id     BIGINT NOT NULL,
    direction         TEXT NOT NULL,
    hour              BIGINT NOT NULL,
    status            TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    with_session      BOOLEAN NOT NULL,
    conversation_type TEXT NOT NULL,
    accepted          BOOLEAN NOT NULL,
    campaign_id       BIGINT NOT NULL,
    sender_user_id    BIGINT NOT NULL,
    n                 BIGINT NOT NULL
);
CREATE INDEX message_rollup_delta_range ON message_rollup_delta (subaccount_id, direction, hour);
CREATE SEQUENCE message_rollup_fold_seq;

INSERT INTO message_rollup
SELECT subaccount_id, direction, at / 3600000, status, content_type, with_session, conversation_type,
       (state <> 'failed' OR error_code <> 0), COUNT(*)
FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
INSERT INTO message_rollup_status
SELECT subaccount_id, direction, at / 3600000, status, (state <> 'failed' OR error_code <> 0), COUNT(*)
FROM messages GROUP BY 1, 2, 3, 4, 5;
INSERT INTO message_rollup_attributed
SELECT subaccount_id, direction, at / 3600000, status, content_type, with_session, conversation_type,
       (state <> 'failed' OR error_code <> 0), COALESCE(campaign_id, 0), COALESCE(sender_user_id, 0), COUNT(*)
FROM messages WHERE campaign_id IS NOT NULL OR sender_user_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;

-- message_rollup_fold moves the committed changes into the three rollup
-- tables. Callers hold the fold lock, so no two folds run at once.
-- +goose StatementBegin
CREATE FUNCTION message_rollup_fold() RETURNS void LANGUAGE sql AS $$
    WITH d AS (DELETE FROM message_rollup_delta RETURNING *),
    by_status AS (
        INSERT INTO message_rollup_status
        SELECT subaccount_id, direction, hour, status, accepted, SUM(n)
        FROM d GROUP BY 1, 2, 3, 4, 5 HAVING SUM(n) <> 0 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (subaccount_id, direction, hour, status, accepted)
        DO UPDATE SET n = message_rollup_status.n + excluded.n),
    attributed AS (
        INSERT INTO message_rollup_attributed
        SELECT subaccount_id, direction, hour, status, content_type, with_session, conversation_type, accepted,
               campaign_id, sender_user_id, SUM(n)
        FROM d WHERE campaign_id <> 0 OR sender_user_id <> 0
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 HAVING SUM(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
        ON CONFLICT (subaccount_id, direction, hour, status, content_type, with_session, conversation_type, accepted,
                     campaign_id, sender_user_id)
        DO UPDATE SET n = message_rollup_attributed.n + excluded.n)
    INSERT INTO message_rollup
    SELECT subaccount_id, direction, hour, status, content_type, with_session, conversation_type, accepted, SUM(n)
    FROM d
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING SUM(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (subaccount_id, direction, hour, status, content_type, with_session, conversation_type, accepted)
    DO UPDATE SET n = message_rollup.n + excluded.n;
$$;
-- +goose StatementEnd

-- message_rollup_maybe_fold folds one statement in 256, when no other fold
-- is running (the lock is held until the folding transaction ends). Only
-- in READ COMMITTED, where the fold's DELETE sees the folds committed
-- before it (in a snapshot taken earlier, it would fail to serialize).
-- +goose StatementBegin
CREATE FUNCTION message_rollup_maybe_fold() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('message_rollup_fold_seq') % 256 = 0 THEN
        IF current_setting('transaction_isolation') = 'read committed' THEN
            IF pg_try_advisory_xact_lock(7311470155206528001) THEN
                PERFORM message_rollup_fold();
            END IF;
        END IF;
    END IF;
END $$;
-- +goose StatementEnd

-- Statement-level triggers with transition tables: one aggregated insert
-- per statement, whatever its row count (the webhook applier writes 50
-- messages per statement).
-- +goose StatementBegin
CREATE FUNCTION messages_rollup_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_rollup_delta
    SELECT subaccount_id, direction, at / 3600000, status, content_type, with_session, conversation_type,
           (state <> 'failed' OR error_code <> 0), COALESCE(campaign_id, 0), COALESCE(sender_user_id, 0), COUNT(*)
    FROM rollup_new GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
    PERFORM message_rollup_maybe_fold();
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION messages_rollup_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_rollup_delta
    SELECT subaccount_id, direction, at / 3600000, status, content_type, with_session, conversation_type,
           (state <> 'failed' OR error_code <> 0), COALESCE(campaign_id, 0), COALESCE(sender_user_id, 0), -COUNT(*)
    FROM rollup_old GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
    PERFORM message_rollup_maybe_fold();
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION messages_rollup_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_rollup_delta
    SELECT k.subaccount_id, k.direction, k.hour, k.status, k.content_type, k.with_session, k.conversation_type,
           k.accepted, k.campaign_id, k.sender_user_id, SUM(k.n)
    FROM rollup_old o JOIN rollup_new w ON w.id = o.id
    CROSS JOIN LATERAL (VALUES
        (o.subaccount_id, o.direction, o.at / 3600000, o.status, o.content_type, o.with_session,
         o.conversation_type, (o.state <> 'failed' OR o.error_code <> 0), COALESCE(o.campaign_id, 0),
         COALESCE(o.sender_user_id, 0), -1),
        (w.subaccount_id, w.direction, w.at / 3600000, w.status, w.content_type, w.with_session,
         w.conversation_type, (w.state <> 'failed' OR w.error_code <> 0), COALESCE(w.campaign_id, 0),
         COALESCE(w.sender_user_id, 0), 1)
    ) AS k(subaccount_id, direction, hour, status, content_type, with_session, conversation_type,
           accepted, campaign_id, sender_user_id, n)
    WHERE (o.subaccount_id, o.direction, o.at / 3600000, o.status, o.content_type, o.with_session,
           o.conversation_type, o.campaign_id, o.sender_user_id, (o.state = 'failed' AND o.error_code = 0))
        IS DISTINCT FROM
          (w.subaccount_id, w.direction, w.at / 3600000, w.status, w.content_type, w.with_session,
           w.conversation_type, w.campaign_id, w.sender_user_id, (w.state = 'failed' AND w.error_code = 0))
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    HAVING SUM(k.n) <> 0;
    IF FOUND THEN
        PERFORM message_rollup_maybe_fold();
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER messages_rollup_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS rollup_new FOR EACH STATEMENT EXECUTE FUNCTION messages_rollup_insert();
CREATE TRIGGER messages_rollup_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS rollup_old FOR EACH STATEMENT EXECUTE FUNCTION messages_rollup_delete();
CREATE TRIGGER messages_rollup_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS rollup_old NEW TABLE AS rollup_new FOR EACH STATEMENT EXECUTE FUNCTION messages_rollup_update();

-- The report's time index, covering the counted filters, so that a first
-- page whose filters match many rows is an index-only backward scan.
DROP INDEX messages_report;
CREATE INDEX messages_report ON messages (subaccount_id, direction, at, id)
    INCLUDE (status, content_type, with_session, conversation_type, campaign_id, sender_user_id);
-- For filters matching few rows: ordered by time within each value. Every
-- index costs each status change (no update that changes the status is
-- HOT), so only where a time scan could read millions of entries.
CREATE INDEX messages_content_type ON messages (subaccount_id, direction, content_type, at, id);
CREATE INDEX messages_sender_user ON messages (sender_user_id, at, id) WHERE sender_user_id IS NOT NULL;
CREATE INDEX messages_correlation ON messages (correlation_id) WHERE correlation_id <> '';
CREATE INDEX contacts_phone_key ON contacts (phone_key);
CREATE INDEX contacts_correlation_id ON contacts (correlation_id) WHERE correlation_id <> '';

-- +goose Down
SELECT 1;
