//! Every setting's default: the platform as deployed. `assets/config.example.toml` lists the
//! same values with a comment each, and a test keeps the two equal.

use toml::Spanned;

use super::model::*;

fn sp<T>(v: T) -> Spanned<T> {
    Spanned::new(0..0, v)
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: sp(String::new()),
            activity_keep: sp(100_000),
        }
    }
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            enabled: true,
            keep_days: sp(7),
            keep_mib: sp(2048),
        }
    }
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            poll_ms: sp(500),
            files: Vec::new(),
            journal: Vec::new(),
            remote: Vec::new(),
        }
    }
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            allow_adhoc: false,
            connect_timeout_secs: sp(10),
            keepalive_secs: sp(15),
            kill_grace_secs: sp(5),
            scrollback_lines: sp(5_000),
            hosts: Vec::new(),
            runbooks: Vec::new(),
        }
    }
}

impl Default for SshHost {
    fn default() -> Self {
        SshHost {
            name: sp(String::new()),
            address: "127.0.0.1".into(),
            port: sp(22),
            user: sp(String::new()),
            identity: String::new(),
            agent: true,
            known_hosts: "~/.ssh/known_hosts".into(),
        }
    }
}

impl Default for Runbook {
    fn default() -> Self {
        Runbook {
            name: sp(String::new()),
            hosts: sp(Vec::new()),
            command: sp(String::new()),
            description: String::new(),
            timeout_secs: sp(300),
            destructive: false,
            agents: Vec::new(),
        }
    }
}

impl Default for CeleryConfig {
    fn default() -> Self {
        CeleryConfig {
            enable_events: true,
            enable_events_secs: sp(5),
            sample_ms: sp(1000),
            discover_queues: true,
            max_tasks: sp(50_000),
            forget_workers_secs: sp(3600),
            visibility_timeout_secs: sp(3600),
            result_backend: String::new(),
            lost_after_secs: sp(60),
            redeliver_lost: false,
        }
    }
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            url: sp("unix:///var/run/docker.sock".into()),
            remote_socket: "/var/run/docker.sock".into(),
            ca_file: String::new(),
            cert_file: String::new(),
            key_file: String::new(),
            project: String::new(),
            follow_logs: Vec::new(),
            logs_since_secs: sp(300),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            redis: RedisConfig::default(),
            ui: UiConfig::default(),
            agents: default_agents(),
            ports: default_ports(),
            alerts: default_alerts(),
            notify: Vec::new(),
            prometheus: PrometheusConfig::default(),
            panels: Vec::new(),
            docker: DockerConfig::default(),
            probes: ProbeConfig::default(),
            socketio: vec![
                SocketIoEndpoint {
                    name: "chavion.com".into(),
                    url: sp("ws://127.0.0.1:5002".into()),
                    ..SocketIoEndpoint::default()
                },
                SocketIoEndpoint {
                    name: "dashboard".into(),
                    url: sp("ws://127.0.0.1:5004".into()),
                    ..SocketIoEndpoint::default()
                },
            ],
            activity: ActivityConfig::default(),
            celery: CeleryConfig::default(),
            store: StoreConfig::default(),
            recorder: RecorderConfig::default(),
            executor: ExecutorConfig::default(),
            logs: LogsConfig::default(),
            contexts: Vec::new(),
            keymap: KeymapConfig::default(),
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: sp("redis://127.0.0.1:6379/0".into()),
            agent_channel: "chavion:agents:*".into(),
            activity_channel: "chavion:activity".into(),
            global_keyprefix: String::new(),
            fanout_prefix: true,
            audit_channel: "chavion:audit".into(),
            master_name: sp(String::new()),
            sentinel_password: String::new(),
            ca_file: sp(String::new()),
        }
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            theme: sp("dark".into()),
            keymap: sp("default".into()),
            color: ColorChoice::Auto,
            max_fps: sp(30),
            mouse: None,
            utc: false,
            bell: false,
        }
    }
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            name: sp(String::new()),
            model: String::new(),
            role: String::new(),
            queues: Vec::new(),
            hostnames: Vec::new(),
            stale_after_secs: sp(15),
            tasks: Vec::new(),
            containers: Vec::new(),
        }
    }
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            name: String::new(),
            host: "127.0.0.1".into(),
            port: sp(0),
            expect: Expect::Required,
            probe: ProbeKind::Tcp,
            path: "/".into(),
            status: None,
            url: String::new(),
            ca_file: String::new(),
            internal: false,
            probe_via: String::new(),
            interval_secs: None,
            timeout_ms: None,
        }
    }
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            interval_secs: sp(5),
            timeout_ms: sp(1000),
            fail_after: sp(2),
            cert_warn_days: sp(21),
            cert_alarm_days: sp(7),
        }
    }
}

impl Default for SocketIoEndpoint {
    fn default() -> Self {
        SocketIoEndpoint {
            name: String::new(),
            url: sp(String::new()),
            path: "/socket.io/".into(),
            namespaces: vec!["/".into()],
            token: String::new(),
            token_env: String::new(),
            events: [
                ("agent_state", Meaning::AgentState),
                ("activity", Meaning::Activity),
                ("task_update", Meaning::TaskUpdate),
                ("queue_depth", Meaning::QueueDepth),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            max_frame: sp(1_000_000),
        }
    }
}

impl Default for ActivityConfig {
    fn default() -> Self {
        ActivityConfig {
            max_lines: sp(100_000),
            max_line_chars: sp(2_000),
            max_bytes: sp(64 * 1024 * 1024),
        }
    }
}

pub fn default_agents() -> Vec<AgentConfig> {
    vec![
        agent(
            "COGNITIVE",
            "GPT-4",
            "language and intent",
            &[
                "cognitive.parse_intent",
                "cognitive.summarize",
                "cognitive.translate",
            ],
        ),
        agent(
            "THINKING",
            "Claude",
            "reasoning and planning",
            &["thinking.plan", "thinking.reason", "thinking.decompose"],
        ),
        agent(
            "JUDGING",
            "multi-LLM",
            "cross-checks, risk analysis",
            &["judging.cross_check", "judging.risk_score"],
        ),
        agent(
            "EXECUTING",
            "shell/git",
            "deploys and automatic fixes",
            &[
                "executing.deploy",
                "executing.run_fix",
                "executing.git_pull",
            ],
        ),
        agent(
            "EVOLVING",
            "metrics",
            "A/B tests, retraining",
            &[
                "evolving.ab_test",
                "evolving.retrain",
                "evolving.collect_metrics",
            ],
        ),
    ]
}

pub fn default_ports() -> Vec<PortConfig> {
    use Expect::*;
    vec![
        port("Nginx HTTP", 80, Required, ProbeKind::Http, "/", false),
        port("Nginx HTTPS", 443, Required, ProbeKind::Tls, "/", false),
        port(
            "chavion.com",
            5002,
            Required,
            ProbeKind::Socketio,
            "/",
            false,
        ),
        port(
            "Dashboard",
            5004,
            Required,
            ProbeKind::Http,
            "/health",
            false,
        ),
        port("Executor", 5051, Required, ProbeKind::Tcp, "/", true),
        port("Redis", 6379, Required, ProbeKind::Redis, "/", true),
        // SELECT 1 needs credentials: set `url` to probe deeper than a TCP connect.
        port("PostgreSQL", 5432, Required, ProbeKind::Tcp, "/", true),
        port(
            "Prometheus",
            9090,
            Optional,
            ProbeKind::Http,
            "/-/healthy",
            true,
        ),
        port(
            "Grafana",
            3000,
            Optional,
            ProbeKind::Http,
            "/api/health",
            true,
        ),
        port(
            "Matrix",
            8008,
            Optional,
            ProbeKind::Http,
            "/_matrix/client/versions",
            true,
        ),
        port("Matrix fed.", 8448, Optional, ProbeKind::Tls, "/", false),
    ]
}

fn agent(name: &str, model: &str, role: &str, tasks: &[&str]) -> AgentConfig {
    let queue = name.to_lowercase();
    AgentConfig {
        name: sp(name.into()),
        model: model.into(),
        role: role.into(),
        tasks: tasks.iter().map(|t| t.to_string()).collect(),
        hostnames: vec![format!("{queue}@*")],
        queues: vec![queue],
        ..AgentConfig::default()
    }
}

fn port(
    name: &str,
    port: u16,
    expect: Expect,
    probe: ProbeKind,
    path: &str,
    internal: bool,
) -> PortConfig {
    PortConfig {
        name: name.into(),
        port: sp(port),
        expect,
        probe,
        path: path.into(),
        internal,
        ..PortConfig::default()
    }
}

/// The shipped alert rules, after celery-exporter's mixin and Flower's example alerts.
pub fn default_alerts() -> Vec<AlertRule> {
    let rule = |name: &str, rule, for_secs, severity| AlertRule {
        name: name.into(),
        rule: sp(rule),
        for_secs: sp(for_secs),
        severity,
        threshold: None,
        window_secs: None,
        min_tasks: None,
        notify: None,
    };
    vec![
        rule(
            "worker offline",
            AlertKind::WorkerOffline,
            300,
            AlertSeverity::Critical,
        ),
        AlertRule {
            threshold: Some(sp(0.05)),
            window_secs: Some(sp(600)),
            min_tasks: Some(sp(20)),
            ..rule(
                "task failure ratio",
                AlertKind::FailureRatio,
                0,
                AlertSeverity::Warning,
            )
        },
        AlertRule {
            threshold: Some(sp(100.0)),
            ..rule(
                "queue backlog",
                AlertKind::QueueDepth,
                1200,
                AlertSeverity::Warning,
            )
        },
        rule(
            "required port down",
            AlertKind::PortDown,
            60,
            AlertSeverity::Critical,
        ),
        rule(
            "certificate expiring",
            AlertKind::CertExpiring,
            0,
            AlertSeverity::Warning,
        ),
        rule(
            "exposed service",
            AlertKind::Exposure,
            0,
            AlertSeverity::Critical,
        ),
        rule(
            "queue unconsumed",
            AlertKind::QueueUnconsumed,
            120,
            AlertSeverity::Critical,
        ),
        AlertRule {
            window_secs: Some(sp(120)),
            ..rule(
                "task events stalled",
                AlertKind::EventsStalled,
                0,
                AlertSeverity::Warning,
            )
        },
    ]
}
