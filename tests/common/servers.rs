//! Real servers for the integration tests, each on a free loopback port, stopped on drop.
//! How and why: docs/TESTING.md.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_until(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "{what} did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    /// With an append-only file here, what Redis took survives a kill -9.
    aof_dir: Option<PathBuf>,
    /// A replica of the Redis on this port.
    replica_of: Option<u16>,
    /// TLS only, with this certificate, key and CA (for redis-cli).
    tls: Option<[PathBuf; 3]>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let mut r = RedisServer {
            port: free_port(),
            child: None,
            aof_dir: None,
            replica_of: None,
            tls: None,
        };
        r.restart();
        r
    }

    /// Redis over TLS only (`--port 0 --tls-port`), serving `cert` and `key`; clients are not
    /// asked for certificates. `ca` is what redis-cli trusts here.
    pub fn start_tls(cert: &Path, key: &Path, ca: &Path) -> RedisServer {
        let mut r = RedisServer {
            port: free_port(),
            child: None,
            aof_dir: None,
            replica_of: None,
            tls: Some([cert.into(), key.into(), ca.into()]),
        };
        r.restart();
        r
    }

    /// A replica of the Redis on `master`'s port.
    pub fn start_replica(master: u16) -> RedisServer {
        let mut r = RedisServer {
            port: free_port(),
            child: None,
            aof_dir: None,
            replica_of: Some(master),
            tls: None,
        };
        r.restart();
        r
    }

    /// Every write fsynced to an append-only file in `dir` before it is acknowledged.
    pub fn start_persistent(dir: &Path) -> RedisServer {
        let mut r = RedisServer {
            port: free_port(),
            child: None,
            aof_dir: Some(dir.to_path_buf()),
            replica_of: None,
            tls: None,
        };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts (again) on the same port.
    pub fn restart(&mut self) {
        let port = self.port.to_string();
        let mut args = vec![
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--daemonize",
            "no",
        ];
        // Always a directory of its own: a replica's full sync writes an RDB file there,
        // never into the checkout.
        let dir = self
            .aof_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("chavion-redis-{port}")));
        std::fs::create_dir_all(&dir).unwrap();
        let dir = dir.display().to_string();
        args.extend(["--dir", &dir]);
        match self.aof_dir {
            Some(_) => args.extend(["--appendonly", "yes", "--appendfsync", "always"]),
            None => args.extend(["--appendonly", "no"]),
        }
        let master = self.replica_of.map(|p| p.to_string());
        if let Some(m) = &master {
            args.extend(["--replicaof", "127.0.0.1", m]);
        }
        let tls: Vec<String> = self
            .tls
            .iter()
            .flat_map(|[cert, key, ca]| {
                [
                    "--port".to_string(),
                    "0".into(),
                    "--tls-port".into(),
                    port.clone(),
                    "--tls-cert-file".into(),
                    cert.display().to_string(),
                    "--tls-key-file".into(),
                    key.display().to_string(),
                    "--tls-ca-cert-file".into(),
                    ca.display().to_string(),
                    "--tls-auth-clients".into(),
                    "no".into(),
                ]
            })
            .collect();
        args.extend(tls.iter().map(String::as_str));
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test installs it)");
        self.child = Some(child);
        wait_until("redis-server", 10, || self.cli(&["ping"]).trim() == "PONG");
    }

    /// Kills it hard, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let tls: Vec<String> = self
            .tls
            .iter()
            .flat_map(|[_, _, ca]| {
                [
                    "--tls".to_string(),
                    "--cacert".into(),
                    ca.display().to_string(),
                ]
            })
            .collect();
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(&tls)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn publish(&self, channel: &str, payload: &[u8]) {
        self.publish_to(channel, payload);
    }

    /// Publishes, and says how many subscriptions received it (Redis counts each).
    pub fn publish_to(&self, channel: &str, payload: &[u8]) -> i64 {
        let client = redis::Client::open(self.url()).unwrap();
        let mut conn = client.get_connection().unwrap();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query(&mut conn)
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Redis behind Sentinel, as test-servers.md's recipe has it: a master, a replica and three
/// sentinels (redis-server in sentinel mode, each with its own config file: a sentinel
/// rewrites it), all on loopback, watching the master `mymaster` with a quorum of 2 and
/// calling it down after a second.
pub struct Sentinels {
    pub master: RedisServer,
    pub replica: RedisServer,
    pub ports: Vec<u16>,
    children: Vec<Child>,
}

impl Sentinels {
    pub const MASTER_NAME: &'static str = "mymaster";

    pub fn start(dir: &Path) -> Sentinels {
        let master = RedisServer::start();
        let replica = RedisServer::start_replica(master.port);
        wait_until("the replica linked to its master", 20, || {
            replica
                .cli(&["info", "replication"])
                .contains("master_link_status:up")
        });
        let mut s = Sentinels {
            master,
            replica,
            ports: Vec::new(),
            children: Vec::new(),
        };
        for i in 0..3 {
            let port = free_port();
            let conf = dir.join(format!("sentinel-{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {}\n\
                     sentinel monitor {} 127.0.0.1 {} 2\n\
                     sentinel down-after-milliseconds {} 1000\n\
                     sentinel failover-timeout {} 5000\n",
                    dir.display(),
                    Self::MASTER_NAME,
                    s.master.port,
                    Self::MASTER_NAME,
                    Self::MASTER_NAME
                ),
            )
            .unwrap();
            let child = Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server (sentinel mode) must be installed");
            s.children.push(child);
            s.ports.push(port);
        }
        // Ready when every sentinel knows the replica and the others (a failover needs both).
        wait_until("the sentinels ready for a failover", 30, || {
            s.ports.iter().all(|p| {
                let out = s.sentinel(*p, &["sentinel", "ckquorum", Self::MASTER_NAME]);
                let replicas = s.sentinel(*p, &["sentinel", "replicas", Self::MASTER_NAME]);
                out.starts_with("OK") && replicas.contains(&s.replica.port.to_string())
            })
        });
        s
    }

    /// kombu's URL for them: one `sentinel://` per sentinel.
    pub fn url(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("sentinel://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// What the first sentinel that answers says the master's port is.
    pub fn master_port(&self) -> Option<u16> {
        self.ports.iter().find_map(|p| {
            let out = self.sentinel(
                *p,
                &["sentinel", "get-master-addr-by-name", Self::MASTER_NAME],
            );
            out.lines().nth(1)?.trim().parse().ok()
        })
    }

    pub fn sentinel(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Sentinels {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts a peer that prints the port it listens on as its first line, and reads it.
pub fn spawn_printing_port(cmd: &mut Command) -> (Child, u16) {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the peer printed `{line}`, not a port"));
    (child, port)
}

pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// The venv's python, built by scripts/test.
pub fn python() -> PathBuf {
    let p = std::env::var_os("CHAVION_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| peers_dir().join(".venv/bin/python"));
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/test, which builds the Python test peers",
        p.display()
    );
    p
}

/// A real Celery 5.7 worker for the THINKING agent (queue `thinking`, prefork, one child).
pub struct CeleryWorker {
    child: Child,
    pub runs: PathBuf,
    pub pidfile: PathBuf,
    pub log: PathBuf,
}

impl CeleryWorker {
    /// A worker without -E that stores results in a Redis result backend.
    pub fn start_with_backend(broker: &str, backend: &str, dir: &Path) -> CeleryWorker {
        Self::spawn(broker, Some(backend), false, dir, None)
    }

    pub fn start(broker: &str, events: bool, dir: &Path) -> CeleryWorker {
        Self::spawn(broker, None, events, dir, None)
    }

    /// A worker (with -E) on the `thinking` queue whose hostname is `name`: no hostname
    /// pattern of the agents need match it.
    pub fn start_named(broker: &str, dir: &Path, name: &str) -> CeleryWorker {
        Self::spawn_as(broker, None, true, dir, None, name)
    }

    /// A worker (with -E) whose broker gives back a message taken but never acked after
    /// `visibility_secs`, instead of kombu's hour.
    pub fn start_redelivering(broker: &str, dir: &Path, visibility_secs: u64) -> CeleryWorker {
        Self::spawn(broker, None, true, dir, Some(visibility_secs))
    }

    /// A worker named `name` on `thinking` with extra command-line options (`-c 3`,
    /// `--autoscale 3,1`), which come after the defaults and so win.
    pub fn start_with(
        broker: &str,
        dir: &Path,
        name: &str,
        events: bool,
        extra: &[&str],
    ) -> CeleryWorker {
        Self::spawn_full(broker, None, events, dir, &[], name, extra)
    }

    /// A worker that allows `pool_restart` (celery's `worker_pool_restarts`).
    pub fn start_restartable(broker: &str, dir: &Path, name: &str) -> CeleryWorker {
        Self::spawn_full(
            broker,
            None,
            true,
            dir,
            &[("CHAVION_POOL_RESTARTS", "1".into())],
            name,
            &["-c", "2"],
        )
    }

    fn spawn(
        broker: &str,
        backend: Option<&str>,
        events: bool,
        dir: &Path,
        visibility_secs: Option<u64>,
    ) -> CeleryWorker {
        Self::spawn_as(
            broker,
            backend,
            events,
            dir,
            visibility_secs,
            "thinking@localhost",
        )
    }

    fn spawn_as(
        broker: &str,
        backend: Option<&str>,
        events: bool,
        dir: &Path,
        visibility_secs: Option<u64>,
        name: &str,
    ) -> CeleryWorker {
        let env: Vec<_> = visibility_secs
            .map(|secs| ("CHAVION_VISIBILITY_TIMEOUT", secs.to_string()))
            .into_iter()
            .collect();
        Self::spawn_full(broker, backend, events, dir, &env, name, &[])
    }

    fn spawn_full(
        broker: &str,
        backend: Option<&str>,
        events: bool,
        dir: &Path,
        env: &[(&str, String)],
        name: &str,
        extra: &[&str],
    ) -> CeleryWorker {
        use std::os::unix::process::CommandExt;
        let runs = dir.join("runs");
        let pidfile = dir.join("task.pid");
        let log = dir.join("worker.log");
        let mut args = vec![
            "-m",
            "celery",
            "-A",
            "peerapp",
            "worker",
            "-Q",
            "thinking",
            "-c",
            "1",
            "-P",
            "prefork",
            "-n",
            name,
            "--without-mingle",
            "--without-gossip",
            "-l",
            "warning",
        ];
        if events {
            args.push("-E");
        }
        args.extend_from_slice(extra);
        let mut cmd = Command::new(python());
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let child = cmd
            .args(&args)
            .current_dir(peers_dir())
            .env("CHAVION_BROKER", broker)
            .env("CHAVION_BACKEND", backend.unwrap_or(""))
            .env("CHAVION_RUNS", &runs)
            .env("CHAVION_PIDFILE", &pidfile)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.join("worker.err")).unwrap())
            // Its own process group, so the pool children are stopped with it.
            .process_group(0)
            .spawn()
            .unwrap();
        CeleryWorker {
            child,
            runs,
            pidfile,
            log,
        }
    }

    /// The worker's main process.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Whether the worker's main process has ended.
    pub fn ended(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Task names the worker really executed, in order.
    pub fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(&self.runs)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

impl Drop for CeleryWorker {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// Sends a task as any Celery producer would; returns its id.
pub fn send_task(
    broker: &str,
    name: &str,
    args: &str,
    priority: Option<u8>,
    queue: Option<&str>,
) -> String {
    let mut cmd = Command::new(python());
    cmd.arg("client.py")
        .arg(name)
        .arg(args)
        .current_dir(peers_dir())
        .env("CHAVION_BROKER", broker);
    if let Some(p) = priority {
        cmd.args(["--priority", &p.to_string()]);
    }
    if let Some(q) = queue {
        cmd.args(["--queue", q]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "client.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn alive(pid: i32) -> bool {
    // `kill -0` asks whether the process exists, without signalling it.
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A throwaway PostgreSQL cluster (initdb as the postgres user, as test-servers.md says).
pub struct Postgres {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

impl Postgres {
    pub fn start() -> Postgres {
        Self::start_with(None)
    }

    /// With `ssl = on`, serving `cert` and `key` (copied into its directory, as PostgreSQL
    /// wants its key owned by it and private).
    pub fn start_tls(cert: &Path, key: &Path) -> Postgres {
        Self::start_with(Some((cert, key)))
    }

    fn start_with(ssl: Option<(&Path, &Path)>) -> Postgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL must be installed (scripts/test installs it)")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("initdb").exists())
            .expect("no initdb under /usr/lib/postgresql");
        let dir =
            std::env::temp_dir().join(format!("chavion-pg-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let as_postgres = |args: &[&str]| {
            let out = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        Command::new("chown")
            .args(["postgres", dir.to_str().unwrap()])
            .status()
            .unwrap();
        let data = dir.join("data");
        as_postgres(&[
            bin.join("initdb").to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
        ]);
        let port = free_port();
        let mut opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.display()
        );
        if let Some((cert, key)) = ssl {
            let (c, k) = (dir.join("server.pem"), dir.join("server.key"));
            std::fs::copy(cert, &c).unwrap();
            std::fs::copy(key, &k).unwrap();
            for f in [&c, &k] {
                Command::new("chown")
                    .args(["postgres", f.to_str().unwrap()])
                    .status()
                    .unwrap();
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
            opts.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                c.display(),
                k.display()
            ));
        }
        as_postgres(&[
            bin.join("pg_ctl").to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            dir.join("log").to_str().unwrap(),
            "-w",
            "start",
        ]);
        let pg = Postgres { port, dir, bin };
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-c",
                "create database t",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/t", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args([
                "-u",
                "postgres",
                "--",
                self.bin.join("pg_ctl").to_str().unwrap(),
                "-D",
                self.dir.join("data").to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real Flask-SocketIO 5.7 server (tests/peers/sio_server.py), stopped on drop.
pub struct SocketIoServer {
    pub port: u16,
    child: Option<Child>,
    /// `cert.pem:key.pem` to serve wss://.
    tls: Option<String>,
}

impl SocketIoServer {
    pub fn start() -> SocketIoServer {
        let mut s = SocketIoServer {
            port: 0,
            child: None,
            tls: None,
        };
        s.spawn();
        s
    }

    /// Serves wss:// with this certificate and key.
    pub fn start_tls(cert: &Path, key: &Path) -> SocketIoServer {
        let mut s = SocketIoServer {
            port: 0,
            child: None,
            tls: Some(format!("{}:{}", cert.display(), key.display())),
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(python());
        cmd.arg("sio_server.py")
            .current_dir(peers_dir())
            .env("PEER_PORT", self.port.to_string())
            .env("PEER_TOKEN", "secret")
            .env("PEER_TLS", self.tls.clone().unwrap_or_default());
        let (child, port) = spawn_printing_port(&mut cmd);
        self.port = port;
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Calls one of the peer's control routes (plain HTTP on loopback).
    pub fn http(&self, path_and_query: &str) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(
            out.starts_with("HTTP/1.") && out.contains(" 200 "),
            "{path_and_query}: {out}"
        );
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Freezes it (SIGSTOP): it stops pinging without closing anything.
    pub fn pause(&self, on: bool) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        Command::new("kill")
            .args([if on { "-STOP" } else { "-CONT" }, &pid])
            .status()
            .unwrap();
    }
}

impl Drop for SocketIoServer {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
        }
        self.kill();
    }
}

/// A real Prometheus (Debian's package) on a free loopback port, scraping `target` (a
/// HOST:PORT serving /metrics) every second, its data in `dir`.
pub struct Prometheus {
    pub port: u16,
    child: Child,
}

impl Prometheus {
    pub fn start(target: &str, dir: &Path) -> Prometheus {
        let port = free_port();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1s, scrape_timeout: 1s}}\nscrape_configs:\n  - job_name: chavion\n    static_configs: [{{targets: ['{target}']}}]\n"
            ),
        )
        .unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus must be installed (scripts/test installs it)");
        let p = Prometheus { port, child };
        wait_until("prometheus", 30, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        p
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
