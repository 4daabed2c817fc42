"""Issue 26's measurements against a running control room (bench/hostile.sh runs it).

flood PORT PID N RATE: N worker-online events from N new hostnames at RATE a second; prints
the most Redis clients and the most descriptors of process PID seen meanwhile and for 5 s
after (the ask window is 3 s).

tasks PORT NAMES: task-received + task-failed for NAMES task names, so /metrics nears its
label caps.

scrape METRICS_PORT CLIENTS SECS: CLIENTS threads scraping /metrics in a loop for SECS;
prints the scrapes done and the latency's median, 99th percentile and maximum.
"""
import base64, json, os, sys, threading, time, urllib.request, uuid

import redis


def envelope(body, host, key):
    return json.dumps({
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8", "content-type": "application/json",
        "headers": {"hostname": host},
        "properties": {"delivery_mode": 1, "priority": 0, "body_encoding": "base64",
                       "delivery_info": {"exchange": "celeryev", "routing_key": key},
                       "delivery_tag": str(uuid.uuid4())},
    })


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def flood(port, pid, n, rate):
    r = redis.Redis(port=port)
    clients = lambda: r.info("clients")["connected_clients"]
    before = (clients(), fds(pid))
    most = list(before)
    start = time.time()
    for i in range(n):
        host = f"fake{i}@h{i}"
        body = {"hostname": host, "freq": 1e9, "active": 0, "processed": 0, "type": "worker-online",
                "timestamp": time.time(), "loadavg": [0, 0, 0], "sw_ver": "5.7.0"}
        r.publish("/0.celeryev/worker.online", envelope(body, host, "worker.online"))
        if i % 100 == 0:
            most = [max(most[0], clients()), max(most[1], fds(pid))]
        lag = (i + 1) / rate - (time.time() - start)
        if lag > 0:
            time.sleep(lag)
    for _ in range(50):
        most = [max(most[0], clients()), max(most[1], fds(pid))]
        time.sleep(0.1)
    # At rest afterwards: what the kept workers cost each tick.
    ticks = lambda: sum(int(x) for x in open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[11:13])
    t0 = ticks()
    time.sleep(10)
    idle = (ticks() - t0) / os.sysconf("SC_CLK_TCK") / 10 * 100
    print(f"{n} fake workers at {rate}/s: Redis clients {before[0]} -> most {most[0]}; "
          f"descriptors {before[1]} -> most {most[1]}; at rest after: {idle:.1f} % of a core")


def tasks(port, names):
    r = redis.Redis(port=port)
    now = time.time()
    for b in range(0, names, 250):
        events = []
        for i in range(b, min(b + 250, names)):
            uid = str(uuid.uuid4())
            events.append({"type": "task-received", "uuid": uid, "name": f"chavion.bench.task{i}",
                           "hostname": "thinking@h", "timestamp": now})
            events.append({"type": "task-failed", "uuid": uid, "exception": "RuntimeError('x')",
                           "hostname": "thinking@h", "timestamp": now})
        r.publish("/0.celeryev/task.multi", envelope(events, "thinking@h", "task.multi"))


def scrape(port, clients, secs):
    lat, size = [], [0]
    end = time.time() + secs

    def one():
        while time.time() < end:
            t = time.time()
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
            lat.append(time.time() - t)
            size[0] = len(body)

    ts = [threading.Thread(target=one) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    print(f"{clients} scrapers for {secs} s: {len(lat)} scrapes of {size[0]} bytes; latency "
          f"median {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    what, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    {"flood": flood, "tasks": tasks, "scrape": scrape}[what](*args)
