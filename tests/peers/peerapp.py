"""A real Celery 5.7 app for the integration tests: the THINKING agent's worker.

Configured from the environment so the harness can point it at a throwaway redis-server:
  CHAVION_BROKER   redis URL (required)
  CHAVION_BACKEND  result backend URL (optional)
  CHAVION_RUNS     file that every executed task appends its name to (worker-side count)
  CHAVION_PIDFILE  file the `thinking.sleep` task writes its process id to
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


def _count(name):
    runs = os.environ.get("CHAVION_RUNS")
    if runs:
        with open(runs, "a") as f:
            f.write(name + "\n")


@app.task(name="thinking.mark")
def mark(token):
    """Records which dispatch ran: the soak counts each token on the worker's side."""
    _count(f"thinking.mark {token}")
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
