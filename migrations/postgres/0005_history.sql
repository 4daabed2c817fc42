-- Tasks and workers as last known, so a restarted control room shows them again (issue 17),
-- and every control room on a shared PostgreSQL sees the same history. The body is the
-- control room's own JSON of the task or worker; the columns beside it are what is
-- searched and trimmed by.
CREATE TABLE task_history (
    id TEXT PRIMARY KEY,
    updated_ms BIGINT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL
);
CREATE INDEX task_history_updated ON task_history (updated_ms);
CREATE TABLE worker_history (
    hostname TEXT PRIMARY KEY,
    seen_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
