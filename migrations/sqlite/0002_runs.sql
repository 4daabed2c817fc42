-- Executor runs: who ran what, where, when it started and ended, how it ended, and the
-- head and tail of its output.
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    started_ms   BIGINT NOT NULL,
    ended_ms     BIGINT NOT NULL,
    who          TEXT   NOT NULL,
    ssh_client   TEXT   NOT NULL,
    runbook      TEXT   NOT NULL,
    host         TEXT   NOT NULL,
    login        TEXT   NOT NULL,
    command      TEXT   NOT NULL,
    exit_status  BIGINT,
    outcome      TEXT   NOT NULL,
    output       TEXT   NOT NULL
);
CREATE INDEX runs_started ON runs (started_ms);
