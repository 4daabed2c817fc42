"""Writes the seed corpora: real shapes of every input the decoders take (see
docs/WIRE.md). Run from fuzz/: python3 make_seeds.py"""
import base64, json, os, shutil

def put(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

def envelope(body, key):
    return json.dumps({
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8", "content-type": "application/json",
        "headers": {"hostname": "w1@vm"},
        "properties": {"delivery_mode": 1, "delivery_info": {"exchange": "celeryev", "routing_key": key},
                       "priority": 0, "body_encoding": "base64", "delivery_tag": "5d2b9e0c-1"},
    })

task = {"hostname": "thinking@vm", "utcoffset": 0, "pid": 41, "clock": 7, "uuid": "9f2c41d0-aaaa-bbbb-cccc-0123456789ab",
        "timestamp": 1795000000.25, "local_received": 1795000000.26}
events = [
    dict(task, type="task-received", name="thinking.plan", args="('rollout',)", kwargs="{}", root_id=task["uuid"], parent_id=None, retries=0, eta=None, expires=None),
    dict(task, type="task-started"),
    dict(task, type="task-succeeded", result="'ok'", runtime=0.42),
    dict(task, type="task-failed", exception="RuntimeError('health check 502')", traceback="Traceback (most recent call last):\n  ..."),
    dict(task, type="task-revoked", terminated=True, signum=15, expired=False),
]
put("celery", "multi", envelope(events, "task.multi"))
put("celery", "single", envelope(events[0], "task.received"))
put("celery", "heartbeat", envelope({"hostname": "thinking@vm", "utcoffset": 0, "pid": 41, "clock": 3, "freq": 2.0,
                                     "active": 1, "processed": 12, "loadavg": [0.1, 0.2, 0.3], "sw_ident": "py-celery",
                                     "sw_ver": "5.7.0", "sw_sys": "Linux", "timestamp": 1795000000.0,
                                     "type": "worker-heartbeat"}, "worker.heartbeat"))
put("celery", "backend", json.dumps({"status": "SUCCESS", "result": 4, "traceback": None, "children": [],
                                      "date_done": "2026-11-24T10:00:00.123456+00:00", "task_id": "0f0e"}))
put("celery", "not_base64", '{"body":"@@@","properties":{"body_encoding":"base64"}}')

put("chavion_json", "agent", json.dumps({"agent": "thinking", "state": "busy", "task_id": "abc", "detail": "planning",
                                          "model": "claude", "ts": 1795000000.5}))
put("chavion_json", "activity", json.dumps({"level": "warn", "source": "JUDGING", "message": "risk 0.62 \u001b[31m",
                                             "ts": "2026-11-24T10:00:00Z", "task_id": "5d1e"}))
put("chavion_json", "audit", json.dumps({"instance": "00ff", "record": {"at_ms": 1, "who": "ops", "ssh_client": "",
                                          "action": "dispatch", "target": "THINKING x", "digest": "ab", "outcome": "sent", "detail": ""}}))
put("chavion_json", "unknown_state", '{"agent":"x","state":"dancing"}')

for i, frame in enumerate([
    '0{"sid":"abc","upgrades":[],"pingTimeout":20000,"pingInterval":25000,"maxPayload":1000000}',
    '2', '3', '6', '40{"sid":"xyz"}', '44/dash,{"message":"unauthorized","data":{"code":401}}',
    '44/nope,"Unable to connect"', '42["tick",{"n":8}]', '42/dash,["tick",{"n":8}]', '431[{"ok":true}]',
    '42/dash,1["question",{"q":42}]', '41/dash,', '451-9["bin",{"_placeholder":true,"num":0}]',
    '452-/dash,7["two",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]',
]):
    put("socketio", f"frame{i:02}", frame)

shutil.copy("../assets/config.example.toml", "corpus/config/example.toml") if os.path.isdir("corpus/config") else None
os.makedirs("corpus/config", exist_ok=True)
shutil.copy("../assets/config.example.toml", "corpus/config/example.toml")
put("config", "small", '[redis]\nurl = "redis://:secret@127.0.0.1:6379/0"\n[[keymap.normal]]\non = "ctrl-q"\nrun = "quit"\n')
put("config", "bad", '[ui]\nmax_fps = 0\ntheme = 3\n[[agents]]\nname = ""\n')

put("text", "csi", b"\x1b[31mred\x1b[0m \x1b]52;c;aGk=\x07 \x9b2J bidi\xe2\x80\xae done\r\n")
put("text", "journal", b'{"__REALTIME_TIMESTAMP":"1795000000123456","PRIORITY":"3","MESSAGE":[104,105,27]}')
put("text", "proc_net_tcp", b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
                            b"   0: 00000000:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 12345 1 0000000000000000 100 0 0 10 0\n")
put("text", "filter", "level:warn source:redis,celery agent:thinking !^GET (fail|refused)")
put("text", "url", "postgres://user:p%40ss@db:5432/chavion?sslmode=require")
