//! The checks that come after parsing: URL schemes, ranges, names defined twice, references
//! to hosts that do not exist. Every problem is placed at its value's file:line:column.

use std::path::Path;

mod connections;
mod watched;

use super::Config;
use super::diagnostic::Diagnostic;
pub use connections::{docker_problem, redis_url_problem, store_url_parameters};
use connections::{
    validate_docker, validate_executor, validate_notify, validate_prometheus, validate_socketio,
};
use watched::{validate_alerts, validate_logs, validate_platform};

pub fn validate(cfg: &Config, file: &Path, text: &str, diags: &mut Vec<Diagnostic>) {
    // After entries were cut for a wrong type, a value with no place in the file (0..0) is
    // a default standing in for one of them: a complaint about it would be a follow-on.
    let cut = !diags.is_empty();
    let mut err = |span: std::ops::Range<usize>, msg: String| {
        if !(cut && span == (0..0)) {
            diags.push(Diagnostic::at(file, text, Some(span), msg))
        }
    };
    validate_platform(cfg, &mut err);
    validate_executor(&cfg.executor, &mut err);
    validate_logs(cfg, &mut err);
    validate_settings(cfg, &mut err);
    validate_socketio(cfg, &mut err);
    validate_alerts(&cfg.alerts, &mut err);
    validate_notify(cfg, &mut err);
    validate_prometheus(cfg, &mut err);
    validate_docker(cfg, &mut err);
}

/// Every numeric setting within its range, and the options that were removed.
fn validate_settings(cfg: &Config, err: &mut impl FnMut(std::ops::Range<usize>, String)) {
    if let Some(mouse) = &cfg.ui.mouse {
        err(
            mouse.span(),
            "ui.mouse was removed: mouse capture stays off, so your terminal's own selection and copy work over SSH; delete this line".into(),
        );
    }
    let fps = &cfg.ui.max_fps;
    if !(1..=120).contains(fps.get_ref()) {
        err(
            fps.span(),
            format!(
                "ui.max_fps must be between 1 and 120, not {}",
                fps.get_ref()
            ),
        );
    }
    if *cfg.probes.interval_secs.get_ref() == 0 {
        err(
            cfg.probes.interval_secs.span(),
            "probes.interval_secs must be at least 1".into(),
        );
    }
    if !(10..=60_000).contains(cfg.probes.timeout_ms.get_ref()) {
        err(
            cfg.probes.timeout_ms.span(),
            "probes.timeout_ms must be between 10 and 60000".into(),
        );
    }
    let c = &cfg.celery;
    if *c.enable_events_secs.get_ref() == 0 {
        err(
            c.enable_events_secs.span(),
            "celery.enable_events_secs must be at least 1 (turn it off with enable_events = false)"
                .into(),
        );
    }
    if !(100..=60_000).contains(c.sample_ms.get_ref()) {
        err(
            c.sample_ms.span(),
            "celery.sample_ms must be between 100 and 60000".into(),
        );
    }
    if !(100..=5_000_000).contains(c.max_tasks.get_ref()) {
        err(
            c.max_tasks.span(),
            "celery.max_tasks must be between 100 and 5000000".into(),
        );
    }
    if !(5..=86_400).contains(c.lost_after_secs.get_ref()) {
        err(
            c.lost_after_secs.span(),
            "celery.lost_after_secs must be between 5 and 86400".into(),
        );
    }
    validate_bounds(cfg, err);
    let lines = &cfg.activity.max_lines;
    if !(100..=10_000_000).contains(lines.get_ref()) {
        err(
            lines.span(),
            format!(
                "activity.max_lines must be between 100 and 10000000, not {}",
                lines.get_ref()
            ),
        );
    }
}

/// `what` must be within `range`; said at the value's place.
fn bounded<T: PartialOrd + std::fmt::Display>(
    v: &toml::Spanned<T>,
    what: &str,
    range: std::ops::RangeInclusive<T>,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) {
    if !range.contains(v.get_ref()) {
        err(
            v.span(),
            format!(
                "{what} must be between {} and {}",
                range.start(),
                range.end()
            ),
        );
    }
}

/// The bounds of the settings added with issue 14: sizes, days, counts, per-port overrides.
fn validate_bounds(cfg: &Config, err: &mut impl FnMut(std::ops::Range<usize>, String)) {
    bounded(
        &cfg.celery.forget_workers_secs,
        "celery.forget_workers_secs",
        60..=604_800,
        err,
    );
    bounded(
        &cfg.celery.visibility_timeout_secs,
        "celery.visibility_timeout_secs",
        1..=604_800,
        err,
    );
    bounded(
        &cfg.activity.max_line_chars,
        "activity.max_line_chars",
        80..=100_000,
        err,
    );
    bounded(
        &cfg.activity.max_bytes,
        "activity.max_bytes",
        1_048_576..=4_294_967_296,
        err,
    );
    validate_probes(cfg, err);
    if !(1..=3650).contains(cfg.recorder.keep_days.get_ref()) {
        err(
            cfg.recorder.keep_days.span(),
            "recorder.keep_days must be between 1 and 3650".into(),
        );
    }
    if !(64..=1_048_576).contains(cfg.recorder.keep_mib.get_ref()) {
        err(
            cfg.recorder.keep_mib.span(),
            "recorder.keep_mib must be between 64 and 1048576 (1 TiB)".into(),
        );
    }
    if let Err(why) = store_url_parameters(cfg.store.url.get_ref()) {
        err(cfg.store.url.span(), why);
    }
    if !(1..=100_000_000).contains(cfg.store.activity_keep.get_ref()) {
        err(
            cfg.store.activity_keep.span(),
            "store.activity_keep must be between 1 and 100000000".into(),
        );
    }
    validate_port_timing(cfg, err);
}

/// `[probes]`: how many failures make a port down, and the certificate's warning and alarm
/// days, the alarm after the warning.
fn validate_probes(cfg: &Config, err: &mut impl FnMut(std::ops::Range<usize>, String)) {
    let p = &cfg.probes;
    if !(1..=100).contains(p.fail_after.get_ref()) {
        err(
            p.fail_after.span(),
            "probes.fail_after must be between 1 and 100".into(),
        );
    }
    for (v, what) in [
        (&p.cert_warn_days, "cert_warn_days"),
        (&p.cert_alarm_days, "cert_alarm_days"),
    ] {
        if !(0..=3650).contains(v.get_ref()) {
            err(
                v.span(),
                format!("probes.{what} must be between 0 and 3650"),
            );
        }
    }
    if p.cert_alarm_days.get_ref() >= p.cert_warn_days.get_ref() {
        err(
            p.cert_alarm_days.span(),
            format!(
                "probes.cert_alarm_days ({}) must be less than cert_warn_days ({}): the alarm comes after the warning",
                p.cert_alarm_days.get_ref(),
                p.cert_warn_days.get_ref()
            ),
        );
    }
}

/// Each port entry's own interval and timeout.
fn validate_port_timing(cfg: &Config, err: &mut impl FnMut(std::ops::Range<usize>, String)) {
    for port in &cfg.ports {
        if let Some(v) = &port.interval_secs
            && !(1..=86_400).contains(v.get_ref())
        {
            err(
                v.span(),
                format!(
                    "port entry `{}`: interval_secs must be between 1 and 86400",
                    port.name
                ),
            );
        }
        if let Some(v) = &port.timeout_ms
            && !(10..=60_000).contains(v.get_ref())
        {
            err(
                v.span(),
                format!(
                    "port entry `{}`: timeout_ms must be between 10 and 60000",
                    port.name
                ),
            );
        }
    }
}
