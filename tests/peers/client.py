"""Sends one task the way any Celery producer would, and prints its id.

usage: client.py NAME [JSON_ARGS] [--priority N] [--queue Q] [--count N]
"""
import argparse
import json

from peerapp import app

p = argparse.ArgumentParser()
p.add_argument("name")
p.add_argument("args", nargs="?", default="[]")
p.add_argument("--priority", type=int)
p.add_argument("--queue")
p.add_argument("--count", type=int, default=1)
a = p.parse_args()
opts = {}
if a.priority is not None:
    opts["priority"] = a.priority
if a.queue:
    opts["queue"] = a.queue
for _ in range(a.count):
    result = app.send_task(a.name, args=json.loads(a.args), **opts)
    print(result.id, flush=True)
