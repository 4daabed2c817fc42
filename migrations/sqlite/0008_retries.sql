-- Which task each retry sent again, and under which new id (issue 27): a bulk retry leaves
-- out a task already retried and picks only the newest of a chain, in every control room
-- that shares the store.
CREATE TABLE retries (
    old_id TEXT NOT NULL,
    new_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    context TEXT NOT NULL DEFAULT 'default',
    PRIMARY KEY (old_id, new_id)
);
CREATE INDEX retries_at ON retries (at_ms);
