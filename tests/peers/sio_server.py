"""A real Flask-SocketIO 5.7 server for the integration tests (threading mode).

Namespaces: "/" is open; "/dash" needs auth {"token": PEER_TOKEN}. Event "cmd" answers with
an ack. Plain HTTP routes let the test make the server do things:
  /emit?event=E&ns=N&data=JSON   emit an event to every client of a namespace
  /emit_binary                   emit an event carrying bytes (a binary attachment)
  /emit_big?n=N                  emit an event of N characters
  /kick?ns=N                     disconnect every client of a namespace, server-side
Prints the port it listens on (PEER_PORT, or a free one), then serves until killed.
"""
import json
import os

from flask import Flask, request
from flask_socketio import ConnectionRefusedError, SocketIO
from werkzeug.serving import make_server

app = Flask(__name__)
# Short heartbeats, so a silent server is noticed within seconds in the tests.
sio = SocketIO(app, async_mode="threading", ping_interval=1, ping_timeout=1)
TOKEN = os.environ.get("PEER_TOKEN", "secret")
CLIENTS = {"/": set(), "/dash": set()}


@sio.on("connect")
def on_connect(auth):
    CLIENTS["/"].add(request.sid)


@sio.on("connect", namespace="/dash")
def on_dash_connect(auth):
    if not auth or auth.get("token") != TOKEN:
        raise ConnectionRefusedError("unauthorized")
    CLIENTS["/dash"].add(request.sid)


@sio.on("cmd")
def on_cmd(data):
    return {"ok": True, "echo": data}


@sio.on("cmd", namespace="/dash")
def on_dash_cmd(data):
    return {"ok": True, "echo": data, "ns": "/dash"}


@app.route("/emit")
def http_emit():
    data = json.loads(request.args.get("data", "null"))
    sio.emit(request.args["event"], data, namespace=request.args.get("ns", "/"))
    return "ok"


@app.route("/emit_binary")
def http_emit_binary():
    sio.emit("blob", {"name": "frame", "bytes": b"\xde\xad\xbe\xef"}, namespace="/")
    return "ok"


@app.route("/emit_big")
def http_emit_big():
    sio.emit("big", "x" * int(request.args.get("n", "2000000")), namespace="/")
    return "ok"


@app.route("/kick")
def http_kick():
    ns = request.args.get("ns", "/")
    for sid in list(CLIENTS.get(ns, ())):
        sio.server.disconnect(sid, namespace=ns)
        CLIENTS[ns].discard(sid)
    return "ok"


if __name__ == "__main__":
    # PEER_TLS=cert.pem:key.pem serves wss:// instead.
    tls = os.environ.get("PEER_TLS") or None
    ssl_context = tuple(tls.split(":")) if tls else None
    srv = make_server("127.0.0.1", int(os.environ.get("PEER_PORT", "0")), app, threaded=True, ssl_context=ssl_context)
    print(srv.port, flush=True)
    srv.serve_forever()
