"""A real Celery 5.7 app for the integration tests: the THINKING agent's worker.

Configured from the environment so the harness can point it at a throwaway redis-server:
  CHAVION_BROKER   redis URL (required)
  CHAVION_BACKEND  result backend URL (optional)
  CHAVION_RUNS     file that every executed task appends its name to (worker-side count)
  CHAVION_PIDFILE  file the `thinking.sleep` task writes its process id to
  CHAVION_POOL_RESTARTS  set: the worker accepts `pool_restart` (worker_pool_restarts)
  CHAVION_VISIBILITY_TIMEOUT  seconds after which kombu gives back a message a worker took
                   but never acked (default an hour); the soak lowers it, see below
A broker URL in kombu's Sentinel form (sentinel://h:p;sentinel://h2:p2) is followed through
the sentinels, with the master's name from CHAVION_MASTER_NAME (default `mymaster`).
"""
import os
import time

from celery import Celery

app = Celery("peerapp", broker=os.environ["CHAVION_BROKER"], backend=os.environ.get("CHAVION_BACKEND") or None)
app.conf.update(
    task_default_queue="thinking",
    task_send_sent_event=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

if os.environ.get("CHAVION_POOL_RESTARTS"):
    app.conf.worker_pool_restarts = True

# When Redis dies while this worker holds a message it took but has not acked, kombu keeps it
# in the `unacked` hash and hands it back only after the visibility timeout. The soak kills
# Redis every 30 s and checks every dispatch ran, so it shortens the timeout and sweeps often,
# as a platform that wants such tasks back within a minute would.
if os.environ.get("CHAVION_VISIBILITY_TIMEOUT"):
    app.conf.broker_transport_options = {
        "visibility_timeout": int(os.environ["CHAVION_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 2,
        "unacked_restore_throttle": 1,
    }

# kombu's Sentinel transport: the master's name is a transport option, not part of the URL.
if os.environ["CHAVION_BROKER"].startswith("sentinel://"):
    app.conf.broker_transport_options = {
        **(app.conf.broker_transport_options or {}),
        "master_name": os.environ.get("CHAVION_MASTER_NAME", "mymaster"),
    }


def _count(name):
    runs = os.environ.get("CHAVION_RUNS")
    if runs:
        with open(runs, "a") as f:
            f.write(name + "\n")


@app.task(name="thinking.mark", bind=True)
def mark(self, token):
    """Records which dispatch ran: the soak counts each token on the worker's side.

    Idempotent on the task id, as the platform's tasks must be: when Redis dies after the
    worker ran a task but before its ack landed, kombu hands the message back after the
    visibility timeout. A second delivery is recorded as `thinking.mark.again`, not run.
    """
    ledger = os.environ.get("CHAVION_RUNS", os.devnull) + ".ids"
    try:
        with open(ledger) as f:
            seen = self.request.id in f.read().split()
    except FileNotFoundError:
        seen = False
    if seen:
        _count(f"thinking.mark.again {token} {time.time():.3f}")
        return token
    with open(ledger, "a") as f:
        f.write(self.request.id + "\n")
    _count(f"thinking.mark {token} {time.time():.3f}")
    return token


@app.task(name="thinking.add")
def add(x, y):
    _count("thinking.add")
    return x + y


@app.task(name="thinking.fail")
def fail():
    _count("thinking.fail")
    raise RuntimeError("planned failure")


@app.task(name="thinking.flaky", bind=True, max_retries=2, default_retry_delay=0)
def flaky(self):
    _count("thinking.flaky")
    if self.request.retries == 0:
        raise self.retry(exc=ConnectionError("first try fails"), countdown=0)
    return "ok on retry"


@app.task(name="thinking.sleep")
def sleep(seconds):
    _count("thinking.sleep")
    pidfile = os.environ.get("CHAVION_PIDFILE")
    if pidfile:
        with open(pidfile, "w") as f:
            f.write(str(os.getpid()))
    time.sleep(seconds)
    return "slept"


@app.task(name="thinking.stubborn")
def stubborn(seconds):
    """As `thinking.sleep`, but sleeps through SIGTERM: only SIGKILL (or SIGINT) ends it, so
    a test can tell which signal a terminate sent."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return sleep(seconds)
