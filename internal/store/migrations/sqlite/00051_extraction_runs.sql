-- +goose Up
-- An extraction's run holds a lease: the run that started it (run_id) and
-- when that run last said it is alive (beat_at). A run that stops beating
-- (its process was killed) is taken over by another; a run that lost its
-- lease stops writing.
ALTER TABLE extractions ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
ALTER TABLE extractions ADD COLUMN beat_at INTEGER;

-- +goose Down
SELECT 1;
