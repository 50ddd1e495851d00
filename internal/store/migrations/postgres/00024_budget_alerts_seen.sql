-- +goose Up
-- Budget alerts in the app's notice area (issue 15): an alert shows to
-- each admin until they dismiss it or open the consumption page it links
-- to; this is who has seen which.
CREATE TABLE budget_alerts_seen (
    user_id       BIGINT NOT NULL,
    subaccount_id BIGINT NOT NULL,
    month         TEXT NOT NULL,
    threshold     BIGINT NOT NULL,
    seen_at       BIGINT NOT NULL,
    PRIMARY KEY (user_id, subaccount_id, month, threshold)
);

-- +goose Down
DROP TABLE budget_alerts_seen;
