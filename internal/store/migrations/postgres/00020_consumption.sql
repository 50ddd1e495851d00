-- +goose Up
-- The consumption report (issue 15): see the SQLite migration for what
-- consumption_rollup counts. As with message_rollup, concurrent writers
-- would queue on its hot rows, so the statement triggers append signed
-- changes to consumption_rollup_delta, folded into the rollup every few
-- hundred statements by a writer that wins a try-lock; readers sum both.
CREATE TABLE consumption_rollup (
    subaccount_id BIGINT NOT NULL,
    hour          BIGINT NOT NULL,
    channel_id    BIGINT NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      BOOLEAN NOT NULL,
    opens         TEXT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (hour, subaccount_id, channel_id, category, pricing_type, billable, opens)
);

CREATE TABLE consumption_rollup_delta (
    subaccount_id BIGINT NOT NULL,
    hour          BIGINT NOT NULL,
    channel_id    BIGINT NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      BOOLEAN NOT NULL,
    opens         TEXT NOT NULL,
    n             BIGINT NOT NULL
);
CREATE INDEX consumption_rollup_delta_range ON consumption_rollup_delta (hour);
CREATE SEQUENCE consumption_rollup_fold_seq;

CREATE TABLE consumption_snapshot (
    month         TEXT NOT NULL,
    subaccount_id BIGINT NOT NULL,
    hour          BIGINT NOT NULL,
    channel_id    BIGINT NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      BOOLEAN NOT NULL,
    opens         TEXT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (month, hour, subaccount_id, channel_id, category, pricing_type, billable, opens)
);

CREATE TABLE consumption_closings (
    month     TEXT PRIMARY KEY,
    closed_at BIGINT NOT NULL
);

-- consumption_key is a message's key in the rollup, NULL when it is not
-- counted (inbound, or refused by ticks before sending).
-- +goose StatementBegin
CREATE FUNCTION consumption_counted(direction TEXT, state TEXT, error_code BIGINT) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT direction = 'mt' AND (state <> 'failed' OR error_code <> 0) $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION consumption_billable(billable BOOLEAN, pricing_type TEXT, state TEXT) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT COALESCE(billable, pricing_type = 'regular' AND state <> 'failed') $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION consumption_opens(conversation_type TEXT, expires_at BIGINT, at BIGINT) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN expires_at - at = CASE conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
                THEN conversation_type ELSE '' END $$;
-- +goose StatementEnd

INSERT INTO consumption_rollup
SELECT subaccount_id, at / 3600000, channel_id, pricing_category, pricing_type,
       consumption_billable(billable, pricing_type, state), consumption_opens(conversation_type, conversation_expires_at, at),
       COUNT(*)
FROM messages WHERE consumption_counted(direction, state, error_code)
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- +goose StatementBegin
CREATE FUNCTION consumption_rollup_fold() RETURNS void LANGUAGE sql AS $$
    WITH d AS (DELETE FROM consumption_rollup_delta RETURNING *)
    INSERT INTO consumption_rollup
    SELECT subaccount_id, hour, channel_id, category, pricing_type, billable, opens, SUM(n)
    FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING SUM(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (hour, subaccount_id, channel_id, category, pricing_type, billable, opens)
    DO UPDATE SET n = consumption_rollup.n + excluded.n;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION consumption_rollup_maybe_fold() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('consumption_rollup_fold_seq') % 256 = 0 THEN
        IF current_setting('transaction_isolation') = 'read committed' THEN
            IF pg_try_advisory_xact_lock(7311470155206528015) THEN
                PERFORM consumption_rollup_fold();
            END IF;
        END IF;
    END IF;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION messages_consumption_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO consumption_rollup_delta
    SELECT subaccount_id, at / 3600000, channel_id, pricing_category, pricing_type,
           consumption_billable(billable, pricing_type, state),
           consumption_opens(conversation_type, conversation_expires_at, at), COUNT(*)
    FROM consumption_new WHERE consumption_counted(direction, state, error_code)
    GROUP BY 1, 2, 3, 4, 5, 6, 7;
    IF FOUND THEN
        PERFORM consumption_rollup_maybe_fold();
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION messages_consumption_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO consumption_rollup_delta
    SELECT subaccount_id, at / 3600000, channel_id, pricing_category, pricing_type,
           consumption_billable(billable, pricing_type, state),
           consumption_opens(conversation_type, conversation_expires_at, at), -COUNT(*)
    FROM consumption_old WHERE consumption_counted(direction, state, error_code)
    GROUP BY 1, 2, 3, 4, 5, 6, 7;
    IF FOUND THEN
        PERFORM consumption_rollup_maybe_fold();
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION messages_consumption_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO consumption_rollup_delta
    SELECT k.subaccount_id, k.hour, k.channel_id, k.category, k.pricing_type, k.billable, k.opens, SUM(k.n)
    FROM consumption_old o JOIN consumption_new w ON w.id = o.id
    CROSS JOIN LATERAL (VALUES
        (consumption_counted(o.direction, o.state, o.error_code), o.subaccount_id, o.at / 3600000, o.channel_id,
         o.pricing_category, o.pricing_type, consumption_billable(o.billable, o.pricing_type, o.state),
         consumption_opens(o.conversation_type, o.conversation_expires_at, o.at), -1),
        (consumption_counted(w.direction, w.state, w.error_code), w.subaccount_id, w.at / 3600000, w.channel_id,
         w.pricing_category, w.pricing_type, consumption_billable(w.billable, w.pricing_type, w.state),
         consumption_opens(w.conversation_type, w.conversation_expires_at, w.at), 1)
    ) AS k(counted, subaccount_id, hour, channel_id, category, pricing_type, billable, opens, n)
    WHERE k.counted
      AND (consumption_counted(o.direction, o.state, o.error_code), o.subaccount_id, o.at / 3600000, o.channel_id,
           o.pricing_category, o.pricing_type, consumption_billable(o.billable, o.pricing_type, o.state),
           consumption_opens(o.conversation_type, o.conversation_expires_at, o.at))
          IS DISTINCT FROM
          (consumption_counted(w.direction, w.state, w.error_code), w.subaccount_id, w.at / 3600000, w.channel_id,
           w.pricing_category, w.pricing_type, consumption_billable(w.billable, w.pricing_type, w.state),
           consumption_opens(w.conversation_type, w.conversation_expires_at, w.at))
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING SUM(k.n) <> 0;
    IF FOUND THEN
        PERFORM consumption_rollup_maybe_fold();
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER messages_consumption_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS consumption_new FOR EACH STATEMENT EXECUTE FUNCTION messages_consumption_insert();
CREATE TRIGGER messages_consumption_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS consumption_old FOR EACH STATEMENT EXECUTE FUNCTION messages_consumption_delete();
CREATE TRIGGER messages_consumption_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS consumption_old NEW TABLE AS consumption_new FOR EACH STATEMENT
    EXECUTE FUNCTION messages_consumption_update();

-- +goose Down
SELECT 1;
