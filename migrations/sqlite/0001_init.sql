-- The audit trail: every operator action, who, when, what, on what, and how it went.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms       BIGINT  NOT NULL,
    who         TEXT    NOT NULL,
    ssh_client  TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    detail      TEXT    NOT NULL
);
CREATE INDEX audit_at ON audit (at_ms);

-- Dispatches waiting for Redis. A row is sent when sent_ms is set; delivery is made
-- idempotent on the Redis side (see docs/OPERATIONS.md, "Never lost, never twice").
CREATE TABLE outbox (
    task_id     TEXT    PRIMARY KEY,
    queue_key   TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    sent_event  TEXT    NOT NULL,
    created_ms  BIGINT  NOT NULL,
    sent_ms     BIGINT,
    attempts    BIGINT  NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (sent_ms, created_ms);

-- The activity log, kept for scrolling back and for the next start-up.
CREATE TABLE activity (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms    BIGINT NOT NULL,
    level    TEXT   NOT NULL,
    source   TEXT   NOT NULL,
    message  TEXT   NOT NULL
);
