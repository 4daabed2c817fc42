//! The checks of what the control room watches: the platform's agents and ports, the log
//! files and journals, and the alert rules.

use super::super::Config;
use super::super::model;
use super::connections::{db_or_tls_problem, validate_redis_ca};

/// Each alert rule has what its kind needs: a ratio in (0, 1], a depth, a window.
pub(super) fn validate_alerts(
    rules: &[model::AlertRule],
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) {
    use model::AlertKind::*;
    let mut names: Vec<&str> = Vec::new();
    for r in rules {
        let name = r.name.as_str();
        if name.trim().is_empty() {
            err(r.rule.span(), "an alert rule needs a name".into());
        } else if names.contains(&name) {
            err(r.rule.span(), format!("alert `{name}` is defined twice"));
        }
        names.push(name);
        let kind = *r.rule.get_ref();
        let threshold = r.threshold.as_ref().map(|t| (*t.get_ref(), t.span()));
        match (kind, threshold) {
            (FailureRatio, Some((t, span))) if !(t > 0.0 && t <= 1.0) => err(
                span,
                format!("alert `{name}`: a failure ratio is above 0 and at most 1 (0.05 is 5 %)"),
            ),
            (QueueDepth | QueueUnconsumed, Some((t, span))) if !(t >= 0.0 && t.is_finite()) => {
                err(span, format!("alert `{name}`: a depth is 0 or more"))
            }
            (FailureRatio | QueueDepth, None) => err(
                r.rule.span(),
                format!("alert `{name}`: {} needs a threshold", rule_name(kind)),
            ),
            _ => {}
        }
        if matches!(kind, FailureRatio | EventsStalled)
            && r.window_secs.as_ref().is_none_or(|w| *w.get_ref() == 0)
        {
            let span = r.window_secs.as_ref().map_or(r.rule.span(), |w| w.span());
            err(
                span,
                format!(
                    "alert `{name}`: {} needs window_secs above 0",
                    rule_name(kind)
                ),
            );
        }
    }
}

pub(super) fn rule_name(kind: model::AlertKind) -> &'static str {
    use model::AlertKind::*;
    match kind {
        WorkerOffline => "worker_offline",
        FailureRatio => "failure_ratio",
        QueueDepth => "queue_depth",
        PortDown => "port_down",
        CertExpiring => "cert_expiring",
        Exposure => "exposure",
        EventsStalled => "events_stalled",
        QueueUnconsumed => "queue_unconsumed",
    }
}

/// The Redis URL, the agents and the port map.
pub(super) fn validate_platform(
    cfg: &Config,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) {
    validate_redis_ca(cfg, err);
    let url = &cfg.redis.url;
    if crate::redis_url::is_sentinel(url.get_ref()) {
        let full = crate::redis_url::with_master(
            url.get_ref(),
            cfg.redis.master_name.get_ref(),
            &cfg.redis.sentinel_password,
        );
        if let Err(why) = crate::redis_url::sentinel(&full) {
            err(url.span(), format!("redis.url {why}"));
        }
    } else if !["redis://", "rediss://", "unix://"]
        .iter()
        .any(|s| url.get_ref().starts_with(s))
    {
        err(
            url.span(),
            format!(
                "redis.url must start with redis://, rediss://, unix:// or sentinel://, not `{}`",
                crate::sanitize::redact_url(url.get_ref())
            ),
        );
    } else if let Some(why) = db_or_tls_problem(url.get_ref()) {
        err(url.span(), format!("redis.url {why}"));
    } else if !cfg.redis.master_name.get_ref().is_empty() {
        err(
            cfg.redis.master_name.span(),
            "redis.master_name is for a sentinel:// URL; this redis.url names one Redis".into(),
        );
    }
    let mut seen: Vec<String> = Vec::new();
    for a in &cfg.agents {
        let name = a.name.get_ref();
        if name.trim().is_empty() {
            err(a.name.span(), "an agent needs a name".into());
        } else if seen.contains(&name.to_uppercase()) {
            err(a.name.span(), format!("agent `{name}` is defined twice"));
        }
        seen.push(name.to_uppercase());
        if *a.stale_after_secs.get_ref() == 0 {
            err(
                a.stale_after_secs.span(),
                "stale_after_secs must be at least 1".into(),
            );
        }
    }
    for p in &cfg.ports {
        if *p.port.get_ref() == 0 {
            err(
                p.port.span(),
                format!("port entry `{}` needs a port between 1 and 65535", p.name),
            );
        }
    }
}

/// Followed log files: a path, wildcards only in the file name.
pub(super) fn validate_logs(cfg: &Config, err: &mut impl FnMut(std::ops::Range<usize>, String)) {
    if !(50..=60_000).contains(cfg.logs.poll_ms.get_ref()) {
        err(
            cfg.logs.poll_ms.span(),
            "logs.poll_ms must be between 50 and 60000".into(),
        );
    }
    for p in &cfg.ports {
        if !p.probe_via.is_empty()
            && !cfg
                .executor
                .hosts
                .iter()
                .any(|h| h.name.get_ref() == &p.probe_via)
        {
            err(
                p.port.span(),
                format!(
                    "port `{}`: probe_via `{}` is not an [[executor.hosts]] name",
                    p.name, p.probe_via
                ),
            );
        }
    }
    for r in &cfg.logs.remote {
        if !cfg
            .executor
            .hosts
            .iter()
            .any(|h| h.name.get_ref() == r.host.get_ref())
        {
            err(
                r.host.span(),
                format!(
                    "[[logs.remote]] host `{}` is not an [[executor.hosts]] name",
                    r.host.get_ref()
                ),
            );
        }
        if !r.path.get_ref().starts_with('/') {
            err(
                r.path.span(),
                "a [[logs.remote]] path must be absolute, like /var/log/chavion/executor.log"
                    .into(),
            );
        }
    }
    for f in &cfg.logs.files {
        let p = f.path.get_ref();
        if p.trim().is_empty() {
            err(f.path.span(), "a [[logs.files]] entry needs a path".into());
        } else if std::path::Path::new(p)
            .parent()
            .is_some_and(|d| d.to_string_lossy().contains(['*', '?']))
        {
            err(
                f.path.span(),
                format!(
                    "`{p}`: wildcards are allowed only in the file's name, not in its directories"
                ),
            );
        }
    }
}
