-- +goose Up
-- The consumption delta's fold (migration 00023) touches a few hundred
-- rows, but the planner, which cannot see how few the delta holds, costs
-- it above jit_above_cost and compiled it on every fold: half a second of
-- JIT for a few milliseconds of work, every 256 writing statements. It
-- runs without JIT.
ALTER FUNCTION consumption_rollup_fold() SET jit = off;

-- +goose Down
ALTER FUNCTION consumption_rollup_fold() RESET jit;
