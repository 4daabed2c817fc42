"""Captures the pidbox's request and reply bytes for every inspect and control method that
chavion-tui speaks, from a real Celery worker, through redis-server's MONITOR.

  CHAVION_BROKER=redis://127.0.0.1:P/0 python capture_pidbox.py OUT_DIR

Two workers of peerapp run on that broker for the capture in tests/fixtures/pidbox/:
`thinking@localhost` (prefork, -E, --autoscale 3,1) and `plain@localhost` (prefork -c 2,
without -E, so it accepts pool_grow and pool_shrink). Each method's
request (PUBLISH on the pidbox channel) and each reply (LPUSH on the reply queue) are written
to OUT_DIR/METHOD.txt as the decoded envelope bodies, one JSON document per line, preceded by
the raw envelope of the request. tests/fixtures/pidbox/ holds a capture from celery 5.7.0.
"""
import base64
import json
import os
import sys
import threading
import time

import redis
from celery import Celery

out = sys.argv[1]
broker = os.environ["CHAVION_BROKER"]
app = Celery("capture", broker=broker)
r = redis.Redis.from_url(broker)
seen = []


def monitor():
    with r.monitor() as m:
        for cmd in m.listen():
            seen.append(cmd["command"])


threading.Thread(target=monitor, daemon=True).start()
time.sleep(0.5)
# Work for the workers, so active, reserved, scheduled, revoked and query_task have
# something to say: a long task running, one waiting behind it, one with an ETA, one revoked.
running = app.send_task("thinking.sleep", args=[30], queue="thinking")
app.send_task("thinking.sleep", args=[30], queue="thinking")
app.send_task("thinking.add", args=[1, 2], kwargs={}, queue="thinking", countdown=600)
app.control.revoke("11111111-1111-1111-1111-111111111111")
time.sleep(2)
insp = app.control.inspect(timeout=1.0)
calls = [
    ("ping", lambda: insp.ping()),
    ("active", lambda: insp.active()),
    ("reserved", lambda: insp.reserved()),
    ("scheduled", lambda: insp.scheduled()),
    ("revoked", lambda: insp.revoked()),
    ("registered", lambda: insp.registered()),
    ("stats", lambda: insp.stats()),
    ("active_queues", lambda: insp.active_queues()),
    ("conf", lambda: insp.conf()),
    ("query_task", lambda: insp.query_task(running.id)),
    ("pool_grow", lambda: app.control.pool_grow(1, reply=True, timeout=1.0)),
    ("pool_shrink", lambda: app.control.pool_shrink(1, reply=True, timeout=1.0)),
    ("autoscale", lambda: app.control.autoscale(3, 1, reply=True, timeout=1.0)),
    ("add_consumer", lambda: app.control.add_consumer("spare", reply=True, timeout=1.0)),
    ("cancel_consumer", lambda: app.control.cancel_consumer("spare", reply=True, timeout=1.0)),
    ("rate_limit", lambda: app.control.rate_limit("thinking.add", "10/m", reply=True, timeout=1.0)),
    ("time_limit", lambda: app.control.time_limit("thinking.sleep", 1, 2, reply=True, timeout=1.0)),
    ("pool_restart", lambda: app.control.pool_restart(reply=True, timeout=1.0)),
    # Last: it ends plain@localhost.
    ("shutdown", lambda: app.control.shutdown(destination=["plain@localhost"], reply=True, timeout=1.0)),
]


def decode(raw):
    env = json.loads(raw)
    body = env["body"]
    if env.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body).decode()
    return env, body


for name, call in calls:
    seen.clear()
    answer = call()
    time.sleep(0.3)
    with open(os.path.join(out, name + ".txt"), "w") as f:
        for cmd in list(seen):
            parts = cmd.split(" ", 2)
            # COMMAND KEY PAYLOAD
            if parts[0] not in ("PUBLISH", "LPUSH") or len(parts) < 3:
                continue
            if parts[0] == "PUBLISH" and "pidbox" not in parts[1]:
                continue
            if parts[0] == "LPUSH" and "reply.celery.pidbox" not in parts[1]:
                continue
            # MONITOR writes the arguments space-separated, with bytes outside ASCII escaped.
            raw = parts[2].encode().decode("unicode_escape")
            try:
                env, body = decode(raw)
            except Exception:
                continue
            kind = "request" if parts[0] == "PUBLISH" else "reply"
            if kind == "request":
                f.write("# envelope " + json.dumps(env, sort_keys=True) + "\n")
            f.write(kind + " " + body + "\n")
    print(name, json.dumps(answer)[:300])
