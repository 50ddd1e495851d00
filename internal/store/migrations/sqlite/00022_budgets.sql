-- +goose Up
-- Monthly budgets per subaccount (issue 15): an amount in the rate card's
-- currency (millionths) and an optional URL alerts are posted to.
CREATE TABLE budgets (
    subaccount_id INTEGER PRIMARY KEY,
    amount_micros INTEGER NOT NULL,
    webhook_url   TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- The alerts a budget gave: once per subaccount, month and threshold (80,
-- 100), with the spend that crossed it; delivered_at is when its webhook
-- was answered 2xx (0 while pending, or when there is no URL), error the
-- last failure to deliver it.
CREATE TABLE budget_alerts (
    subaccount_id INTEGER NOT NULL,
    month         TEXT NOT NULL,
    threshold     INTEGER NOT NULL,
    amount_micros INTEGER NOT NULL,
    spent_micros  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    delivered_at  INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    error         TEXT NOT NULL,
    PRIMARY KEY (subaccount_id, month, threshold)
);

-- +goose Down
DROP TABLE budget_alerts;
DROP TABLE budgets;
