-- +goose Up
-- What Meta says it charged (issue 15, reconciliation): the answers of the
-- Graph API's pricing_analytics (kind 'pricing', per message, from July
-- 2025) and conversation_analytics (kind 'conversation', before), per WABA,
-- period (unix seconds, as Meta's data points give them), phone number
-- (display digits), category, type and direction ('' for messages). A
-- periodic job replaces a WABA's rows of the periods it asked for with
-- each new answer.
CREATE TABLE meta_charges (
    waba_id      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    start_at     BIGINT NOT NULL,
    end_at       BIGINT NOT NULL,
    phone        TEXT NOT NULL,
    category     TEXT NOT NULL,
    pricing_type TEXT NOT NULL,
    direction    TEXT NOT NULL,
    n            BIGINT NOT NULL,
    cost_micros  BIGINT NOT NULL,
    PRIMARY KEY (waba_id, kind, start_at, phone, category, pricing_type, direction)
);

-- When each WABA's analytics were last fetched, and for which periods.
CREATE TABLE meta_charge_fetches (
    waba_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    from_at    BIGINT NOT NULL,
    to_at      BIGINT NOT NULL,
    fetched_at BIGINT NOT NULL,
    error      TEXT NOT NULL,
    PRIMARY KEY (waba_id, kind)
);

-- +goose Down
DROP TABLE meta_charge_fetches;
DROP TABLE meta_charges;
