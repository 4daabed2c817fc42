-- Contexts that share one store (the PostgreSQL every control room uses) keep their activity
-- lines and their task and worker history apart: each row says its context, and the history
-- is keyed by context and task id, context and hostname (one hostname may be a worker on
-- staging and on production). Rows written before carry 'default'.
ALTER TABLE activity ADD COLUMN context TEXT NOT NULL DEFAULT 'default';
CREATE INDEX activity_context ON activity (context, id);

CREATE TABLE task_history_by_context (
    context TEXT NOT NULL DEFAULT 'default',
    id TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    PRIMARY KEY (context, id)
);
INSERT INTO task_history_by_context (id, updated_ms, name, body)
    SELECT id, updated_ms, name, body FROM task_history;
DROP TABLE task_history;
ALTER TABLE task_history_by_context RENAME TO task_history;
CREATE INDEX task_history_context_updated ON task_history (context, updated_ms);

CREATE TABLE worker_history_by_context (
    context TEXT NOT NULL DEFAULT 'default',
    hostname TEXT NOT NULL,
    seen_ms BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (context, hostname)
);
INSERT INTO worker_history_by_context (hostname, seen_ms, body)
    SELECT hostname, seen_ms, body FROM worker_history;
DROP TABLE worker_history;
ALTER TABLE worker_history_by_context RENAME TO worker_history;
