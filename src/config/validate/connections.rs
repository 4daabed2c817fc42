//! The checks of every connection the config names: the executor's hosts, Docker, the
//! notifiers, Prometheus, Socket.IO endpoints, Redis and the store URLs.

use super::super::Config;
use super::super::model;

/// `[executor]`: its hosts, its runbooks, and its bounds.
pub(super) fn validate_executor(
    x: &model::ExecutorConfig,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) {
    validate_hosts(x, err);
    validate_runbooks(x, err);
    for (v, what, range) in [
        (&x.connect_timeout_secs, "connect_timeout_secs", 1..=300),
        (&x.keepalive_secs, "keepalive_secs", 1..=3600),
        (&x.kill_grace_secs, "kill_grace_secs", 1..=300),
    ] {
        if !range.contains(v.get_ref()) {
            err(
                v.span(),
                format!(
                    "executor.{what} must be between {} and {}",
                    range.start(),
                    range.end()
                ),
            );
        }
    }
    if !(100..=1_000_000).contains(x.scrollback_lines.get_ref()) {
        err(
            x.scrollback_lines.span(),
            "executor.scrollback_lines must be between 100 and 1000000".into(),
        );
    }
}

/// Every host named once, without spaces, with a user and a port.
fn validate_hosts(x: &model::ExecutorConfig, err: &mut impl FnMut(std::ops::Range<usize>, String)) {
    let mut hosts: Vec<&str> = Vec::new();
    for h in &x.hosts {
        let name = h.name.get_ref().as_str();
        if name.trim().is_empty() || name.contains(char::is_whitespace) {
            err(
                h.name.span(),
                "an executor host needs a name without spaces".into(),
            );
        } else if hosts.contains(&name) {
            err(
                h.name.span(),
                format!("executor host `{name}` is defined twice"),
            );
        }
        hosts.push(name);
        if h.user.get_ref().trim().is_empty() {
            err(
                h.user.span(),
                format!("executor host `{name}` needs a user"),
            );
        }
        if *h.port.get_ref() == 0 {
            err(
                h.port.span(),
                format!("executor host `{name}` needs a port between 1 and 65535"),
            );
        }
    }
}

/// Every runbook named once, with a command, on hosts that exist, with a sane timeout.
fn validate_runbooks(
    x: &model::ExecutorConfig,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) {
    let mut books: Vec<&str> = Vec::new();
    for r in &x.runbooks {
        let name = r.name.get_ref().as_str();
        if name.trim().is_empty() || name.contains(char::is_whitespace) {
            err(
                r.name.span(),
                "a runbook needs a name without spaces".into(),
            );
        } else if books.contains(&name) {
            err(r.name.span(), format!("runbook `{name}` is defined twice"));
        }
        books.push(name);
        if r.command.get_ref().trim().is_empty() {
            err(
                r.command.span(),
                format!("runbook `{name}` needs a command"),
            );
        }
        if r.hosts.get_ref().is_empty() {
            err(
                r.hosts.span(),
                format!("runbook `{name}` needs at least one host"),
            );
        }
        for h in r.hosts.get_ref() {
            if !x.hosts.iter().any(|d| d.name.get_ref() == h) {
                err(
                    r.hosts.span(),
                    format!(
                        "runbook `{name}` names host `{h}`, which no [[executor.hosts]] defines"
                    ),
                );
            }
        }
        if !(1..=86_400).contains(r.timeout_secs.get_ref()) {
            err(
                r.timeout_secs.span(),
                format!("runbook `{name}`: timeout_secs must be between 1 and 86400"),
            );
        }
    }
}

/// The first problem of `[docker]` as it stands (after `--docker` replaced its URL), in
/// words; None when it would work.
pub fn docker_problem(cfg: &Config) -> Option<String> {
    let mut first = None;
    validate_docker(cfg, &mut |_, why| {
        first.get_or_insert(why);
    });
    first
}

/// `[docker] url`: unix://, tcp:// (TLS needs all three files), or ssh:// naming an
/// executor host; "" turns Docker off.
pub(super) fn validate_docker(cfg: &Config, err: &mut impl FnMut(std::ops::Range<usize>, String)) {
    let d = &cfg.docker;
    let url = d.url.get_ref().trim();
    if url.is_empty() || url.starts_with("unix://") {
        return;
    }
    if let Some(name) = url.strip_prefix("ssh://") {
        if !cfg.executor.hosts.iter().any(|h| h.name.get_ref() == name) {
            err(
                d.url.span(),
                format!("docker.url ssh://{name}: no [[executor.hosts]] is called {name}"),
            );
        }
        return;
    }
    if url.starts_with("tcp://") {
        let tls = [&d.ca_file, &d.cert_file, &d.key_file];
        let given = tls.iter().filter(|f| !f.is_empty()).count();
        if given != 0 && given != 3 {
            err(
                d.url.span(),
                "docker over tcp:// with TLS needs ca_file, cert_file and key_file".into(),
            );
        }
        return;
    }
    err(
        d.url.span(),
        "docker.url is unix:///PATH, tcp://HOST:PORT, ssh://EXECUTOR_HOST, or \"\" for none".into(),
    );
}

/// Each notifier has a name of its own and exactly one place to go; each rule names only
/// notifiers that exist.
pub(super) fn validate_notify(cfg: &Config, err: &mut impl FnMut(std::ops::Range<usize>, String)) {
    let mut names: Vec<&str> = Vec::new();
    for n in &cfg.notify {
        let name = n.name.get_ref().as_str();
        if name.trim().is_empty() {
            err(n.name.span(), "a [[notify]] needs a name".into());
        } else if names.contains(&name) {
            err(n.name.span(), format!("notifier `{name}` is defined twice"));
        }
        names.push(name);
        let ways = [
            n.webhook.is_some(),
            n.webhook_env.is_some(),
            n.command.is_some(),
        ];
        if ways.iter().filter(|w| **w).count() != 1 {
            err(
                n.name.span(),
                format!("notifier `{name}` needs exactly one of webhook, webhook_env and command"),
            );
        }
        if let Some(url) = &n.webhook
            && !is_http_url(url.get_ref())
        {
            // The URL itself is not repeated: it may hold a secret.
            err(
                url.span(),
                format!("notifier `{name}`: the webhook must be an http:// or https:// URL"),
            );
        }
        if let Some(cmd) = &n.command
            && cmd.get_ref().first().is_none_or(|p| p.trim().is_empty())
        {
            err(
                cmd.span(),
                format!("notifier `{name}`: the command needs a program"),
            );
        }
        if !(1..=120).contains(n.timeout_secs.get_ref()) {
            err(
                n.timeout_secs.span(),
                format!("notifier `{name}`: timeout_secs must be between 1 and 120"),
            );
        }
        if *n.retries.get_ref() > 10 {
            err(
                n.retries.span(),
                format!("notifier `{name}`: retries must be 10 or fewer"),
            );
        }
    }
    for r in &cfg.alerts {
        for to in r.notify.iter().flat_map(|n| n.get_ref()) {
            if !names.contains(&to.as_str()) {
                let span = r.notify.as_ref().map_or(0..0, |n| n.span());
                err(
                    span,
                    format!(
                        "alert `{}` goes to `{to}`, and no [[notify]] has that name",
                        r.name
                    ),
                );
            }
        }
    }
}

pub(super) fn is_http_url(text: &str) -> bool {
    reqwest::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// Prometheus and Grafana are URLs; each panel has a query and a range.
pub(super) fn validate_prometheus(
    cfg: &Config,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) {
    let p = &cfg.prometheus;
    for (what, url) in [
        ("prometheus.url", &p.url),
        ("prometheus.grafana_url", &p.grafana_url),
    ] {
        let Some(url) = url else { continue };
        if !is_http_url(url.get_ref()) {
            err(
                url.span(),
                format!("{what} must be an http:// or https:// URL"),
            );
        }
    }
    if let Some(every) = &p.every_secs
        && !(5..=3600).contains(every.get_ref())
    {
        err(
            every.span(),
            "prometheus.every_secs must be between 5 and 3600".into(),
        );
    }
    if !cfg.panels.is_empty() && p.url.is_none() {
        err(
            cfg.panels[0].query.span(),
            "[[panels]] are read from Prometheus: set prometheus.url".into(),
        );
    }
    for panel in &cfg.panels {
        if panel.query.get_ref().trim().is_empty() {
            err(
                panel.query.span(),
                format!("panel `{}` needs a query", panel.title),
            );
        }
        if !(60..=7 * 86_400).contains(panel.range_secs.get_ref()) {
            err(
                panel.range_secs.span(),
                format!(
                    "panel `{}`: range_secs must be between 60 and 604800",
                    panel.title
                ),
            );
        }
    }
}

/// Socket.IO endpoints: a ws:// or wss:// URL, namespaces, frame limits, unique names.
pub(super) fn validate_socketio(
    cfg: &Config,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) {
    for ep in &cfg.socketio {
        if !["ws://", "wss://"]
            .iter()
            .any(|s| ep.url.get_ref().starts_with(s))
        {
            err(
                ep.url.span(),
                format!(
                    "socketio endpoint `{}` needs a ws:// or wss:// url",
                    ep.name
                ),
            );
        }
        if !(1_024..=67_108_864).contains(ep.max_frame.get_ref()) {
            err(
                ep.max_frame.span(),
                format!(
                    "socketio endpoint `{}`: max_frame must be between 1024 and 67108864",
                    ep.name
                ),
            );
        }
        if ep.namespaces.is_empty() {
            err(
                ep.url.span(),
                format!(
                    "socketio endpoint `{}` needs at least one namespace, like \"/\"",
                    ep.name
                ),
            );
        }
    }
    let mut names: Vec<&str> = cfg.socketio.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        let dup = cfg
            .socketio
            .iter()
            .rfind(|e| e.name == w[0])
            .expect("found above");
        err(
            dup.url.span(),
            format!("socketio endpoint `{}` is defined twice", w[0]),
        );
    }
}

/// `redis.ca_file`: only with TLS, and readable now rather than at the first connection.
pub(super) fn validate_redis_ca(
    cfg: &Config,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) {
    let ca = &cfg.redis.ca_file;
    if ca.get_ref().is_empty() {
        return;
    }
    if !cfg.redis.url.get_ref().starts_with("rediss://") {
        err(
            ca.span(),
            "redis.ca_file is for a rediss:// URL (Redis over TLS)".into(),
        );
    } else if let Err(e) = std::fs::read(ca.get_ref()) {
        err(
            ca.span(),
            format!("redis.ca_file `{}` cannot be read: {e}", ca.get_ref()),
        );
    }
}

/// Why a Redis URL cannot be used, in words (its password never shown), or None.
pub fn redis_url_problem(url: &str) -> Option<String> {
    if crate::redis_url::is_sentinel(url) {
        // The master's name may come from the config's redis.master_name: checked once the
        // two are put together.
        let named = crate::redis_url::with_master(url, "-", "");
        return crate::redis_url::sentinel(&named).err();
    }
    let scheme_ok = ["redis://", "rediss://", "unix://"]
        .iter()
        .any(|s| url.starts_with(s));
    let shown = crate::sanitize::redact_url(url);
    if !scheme_ok {
        return Some(format!(
            "a Redis URL must start with redis://, rediss://, unix:// or sentinel://, like redis://127.0.0.1:6379/0; not `{shown}`"
        ));
    }
    if url.starts_with("unix://") {
        return None;
    }
    match crate::redis_url::host_port(url) {
        Some((host, _)) if !host.is_empty() => db_or_tls_problem(url),
        _ => Some(format!(
            "`{shown}` names no host:port, like redis://127.0.0.1:6379/0"
        )),
    }
}

/// Redis's databases, by default (its `databases` setting).
const REDIS_DATABASES: u32 = 16;

/// A URL that could never carry a dispatch: a db Redis does not have, or a TLS URL that asks
/// to skip the certificate check. Refused before anything starts, rather than filling the
/// outbox with rows that can never go.
pub(super) fn db_or_tls_problem(url: &str) -> Option<String> {
    let shown = crate::sanitize::redact_url(url);
    if url.starts_with("rediss://") && url.contains("#insecure") {
        return Some(format!(
            "`{shown}` asks (#insecure) to skip the certificate check, which is never done; set redis.ca_file to trust a private CA"
        ));
    }
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or("", |(_, p)| p);
    let db = path.split(['?', '#', ';']).next().unwrap_or("");
    match db.parse::<u32>() {
        _ if db.is_empty() => None,
        Ok(n) if n < REDIS_DATABASES => None,
        Ok(n) => Some(format!(
            "`{shown}` names db {n}, but Redis has dbs 0 to {} (its `databases` setting): nothing could ever be delivered there",
            REDIS_DATABASES - 1
        )),
        Err(_) => Some(format!(
            "`{shown}` names db `{}`, which is not a number",
            crate::sanitize::clean(db, 20)
        )),
    }
}

/// The parameters a PostgreSQL store URL may carry: those sqlx reads. sqlx ignores any
/// other (with a log line that prints its value, `sslpassword=` included), so an unknown
/// one is refused here, before anything connects, and named without its value.
pub fn store_url_parameters(url: &str) -> Result<(), String> {
    const KNOWN: &[&str] = &[
        "sslmode",
        "ssl-mode",
        "sslrootcert",
        "ssl-root-cert",
        "ssl-ca",
        "sslcert",
        "ssl-cert",
        "sslkey",
        "ssl-key",
        "statement-cache-capacity",
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "application_name",
        "options",
    ];
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Ok(());
    }
    let Some((_, query)) = url.split_once('?') else {
        return Ok(());
    };
    let query = query.split('#').next().unwrap_or("");
    let unknown: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split('=').next().unwrap_or(""))
        .filter(|k| !(KNOWN.contains(k) || k.starts_with("options[") && k.ends_with(']')))
        .map(|k| crate::sanitize::clean(k, 40))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "store.url: the parameter(s) {} are not ones the PostgreSQL driver reads (it knows {}); remove them",
        unknown.join(", "),
        KNOWN.join(", ")
    ))
}
