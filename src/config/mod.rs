//! Configuration: the file model, loading with every error placed at file:line:column,
//! XDG paths, themes and keymaps.

pub mod diagnostic;
pub mod keymap;
pub mod model;
mod parse;
pub mod paths;
pub mod theme;

use std::path::Path;

pub use diagnostic::Diagnostic;
use keymap::{Keymap, Overrides};
pub use model::Config;
use paths::Paths;
use theme::{ColorMode, Theme};

/// Parses and validates one config file's text.
pub fn parse_config(text: &str, file: &Path) -> (Option<(Config, Overrides)>, Vec<Diagnostic>) {
    // The checks run on what is left of the file after its wrongly typed entries were cut,
    // so every error is listed in one pass.
    let (cfg, mut diags) = parse::parse_toml_pruned::<Config>(text, file);
    let Some(cfg) = cfg else {
        return (None, diags);
    };
    validate(&cfg, file, text, &mut diags);
    let overrides = keymap::check(&cfg.keymap, file, text, &mut diags);
    diags.sort_by_key(|d| (d.line, d.column));
    if diags.is_empty() {
        (Some((cfg, overrides)), diags)
    } else {
        (None, diags)
    }
}

fn validate_executor(
    x: &model::ExecutorConfig,
    err: &mut impl FnMut(std::ops::Range<usize>, String),
) {
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

fn validate(cfg: &Config, file: &Path, text: &str, diags: &mut Vec<Diagnostic>) {
    // After entries were cut for a wrong type, a value with no place in the file (0..0) is
    // a default standing in for one of them: a complaint about it would be a follow-on.
    let cut = !diags.is_empty();
    let mut err = |span: std::ops::Range<usize>, msg: String| {
        if !(cut && span == (0..0)) {
            diags.push(Diagnostic::at(file, text, Some(span), msg))
        }
    };
    let url = &cfg.redis.url;
    if !["redis://", "rediss://", "unix://"]
        .iter()
        .any(|s| url.get_ref().starts_with(s))
    {
        err(
            url.span(),
            format!(
                "redis.url must start with redis://, rediss:// or unix://, not `{}`",
                crate::sanitize::redact_url(url.get_ref())
            ),
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
    validate_executor(&cfg.executor, &mut err);
    if !(50..=60_000).contains(cfg.logs.poll_ms.get_ref()) {
        err(
            cfg.logs.poll_ms.span(),
            "logs.poll_ms must be between 50 and 60000".into(),
        );
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
    let ranges: [(&toml::Spanned<u64>, &str, std::ops::RangeInclusive<u64>); 1] = [(
        &c.forget_workers_secs,
        "celery.forget_workers_secs",
        60..=604_800,
    )];
    for (v, what, range) in ranges {
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
    let usizes: [(&toml::Spanned<usize>, &str, std::ops::RangeInclusive<usize>); 2] = [
        (
            &cfg.activity.max_line_chars,
            "activity.max_line_chars",
            80..=100_000,
        ),
        (
            &cfg.activity.max_bytes,
            "activity.max_bytes",
            1_048_576..=4_294_967_296,
        ),
    ];
    for (v, what, range) in usizes {
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
    if !(1..=100_000_000).contains(cfg.store.activity_keep.get_ref()) {
        err(
            cfg.store.activity_keep.span(),
            "store.activity_keep must be between 1 and 100000000".into(),
        );
    }
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

/// What the program runs with, fully resolved.
pub struct Settings {
    pub config: Config,
    pub theme: Theme,
    pub keymap: Keymap,
    /// Where the audit store lives: `--store`, then `store.url`, then SQLite in the data dir.
    /// `None` only for settings built from text alone without a `store.url`.
    pub store_url: Option<String>,
}

#[derive(Default)]
pub struct Overridden<'a> {
    pub theme: Option<&'a str>,
    pub color: Option<model::ColorChoice>,
    pub redis_url: Option<&'a str>,
    pub store_url: Option<&'a str>,
}

/// Loads the config file (a missing default file means defaults), then the theme and keymap
/// it names, with command-line overrides applied.
pub fn load(paths: &Paths, over: &Overridden<'_>) -> Result<Settings, Vec<Diagnostic>> {
    let (mut config, overrides) = match std::fs::read_to_string(&paths.config_file) {
        Ok(text) => match parse_config(&text, &paths.config_file) {
            (Some(parsed), _) => parsed,
            (None, diags) => return Err(diags),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !paths.config_explicit => {
            (Config::default(), Vec::new())
        }
        Err(e) => {
            return Err(vec![Diagnostic::at(
                &paths.config_file,
                "",
                None,
                format!("cannot read: {e}"),
            )]);
        }
    };
    if let Some(url) = over.redis_url {
        // A bad URL on the command line is refused like one in the file, before anything
        // starts, and the place named is the flag.
        if let Some(why) = redis_url_problem(url) {
            return Err(vec![Diagnostic::flag("--redis", why)]);
        }
        follow_redis_override(&mut config, url);
    }
    let choice = over.color.unwrap_or(config.ui.color);
    let mode = ColorMode::detect(choice, &|k| std::env::var(k).ok());
    let theme_name = over.theme.unwrap_or(config.ui.theme.get_ref());
    let theme = theme::load(theme_name, &paths.themes_dir, mode).map_err(|d| match over.theme {
        Some(name) => d
            .into_iter()
            .map(|x| {
                if x.line == 0 {
                    Diagnostic::flag(
                        "--theme",
                        format!(
                            "{} (or a file {name}.toml in {})",
                            x.message,
                            paths.themes_dir.display()
                        ),
                    )
                } else {
                    x
                }
            })
            .collect(),
        None => d,
    })?;
    let keymap = keymap::build(config.ui.keymap.get_ref(), &paths.keymaps_dir, overrides)?;
    let store_url = over
        .store_url
        .map(str::to_string)
        .or_else(|| Some(config.store.url.get_ref().clone()).filter(|u| !u.is_empty()))
        .unwrap_or_else(|| paths.data_dir.join("audit.db").display().to_string());
    Ok(Settings {
        config,
        theme,
        keymap,
        store_url: Some(store_url),
    })
}

/// Why a Redis URL cannot be used, in words (its password never shown), or None.
pub fn redis_url_problem(url: &str) -> Option<String> {
    let scheme_ok = ["redis://", "rediss://", "unix://"]
        .iter()
        .any(|s| url.starts_with(s));
    let shown = crate::sanitize::redact_url(url);
    if !scheme_ok {
        return Some(format!(
            "a Redis URL must start with redis://, rediss:// or unix://, like redis://127.0.0.1:6379/0; not `{shown}`"
        ));
    }
    if url.starts_with("unix://") {
        return None;
    }
    match crate::redis_url::host_port(url) {
        Some((host, _)) if !host.is_empty() => None,
        _ => Some(format!(
            "`{shown}` names no host:port, like redis://127.0.0.1:6379/0"
        )),
    }
}

/// Everything that names "the platform's Redis" follows the one URL in force: the port-map
/// entries that probed the configured Redis probe the one given on the command line.
fn follow_redis_override(config: &mut Config, url: &str) {
    use crate::redis_url::host_port;
    let old = host_port(config.redis.url.get_ref());
    let new = host_port(url);
    let loopback = |h: &str| matches!(h, "127.0.0.1" | "localhost" | "::1");
    if let (Some((old_host, old_port)), Some((host, port))) = (old, new) {
        for p in &mut config.ports {
            let same_host = p.host == old_host || (loopback(&p.host) && loopback(&old_host));
            if p.probe == model::ProbeKind::Redis && same_host && *p.port.get_ref() == old_port {
                p.host = host.clone();
                p.port = toml::Spanned::new(0..0, port);
                if p.url == *config.redis.url.get_ref() {
                    p.url = url.to_string();
                }
            }
        }
    }
    config.redis.url = toml::Spanned::new(0..0, url.to_string());
}

/// Settings from config text alone (built-in theme and keymap): for tests and tools.
pub fn settings_from_str(text: &str) -> Result<Settings, Vec<Diagnostic>> {
    let (parsed, diags) = parse_config(text, Path::new("<config>"));
    let Some((config, overrides)) = parsed else {
        return Err(diags);
    };
    let nowhere = Path::new("/nonexistent");
    let theme = theme::load(config.ui.theme.get_ref(), nowhere, ColorMode::TrueColor)?;
    let keymap = keymap::build(config.ui.keymap.get_ref(), nowhere, overrides)?;
    let store_url = Some(config.store.url.get_ref().clone()).filter(|u| !u.is_empty());
    Ok(Settings {
        config,
        theme,
        keymap,
        store_url,
    })
}

/// `config check`: every problem in the file, the theme and the keymap it names.
pub fn check(paths: &Paths) -> Vec<Diagnostic> {
    let text = match std::fs::read_to_string(&paths.config_file) {
        Ok(t) => t,
        // No file where one is looked for by default: the built-in defaults are in force,
        // and they are checked like a file would be.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !paths.config_explicit => {
            String::new()
        }
        Err(e) => {
            return vec![Diagnostic::at(
                &paths.config_file,
                "",
                None,
                format!("cannot read: {e}"),
            )];
        }
    };
    let (parsed, mut diags) = parse_config(&text, &paths.config_file);
    if let Some((cfg, overrides)) = parsed {
        if let Err(mut d) = theme::load(
            cfg.ui.theme.get_ref(),
            &paths.themes_dir,
            ColorMode::TrueColor,
        ) {
            for x in &mut d {
                if x.line == 0 {
                    *x = Diagnostic::at(
                        &paths.config_file,
                        &text,
                        Some(cfg.ui.theme.span()),
                        x.message.clone(),
                    );
                }
            }
            diags.append(&mut d);
        }
        if let Err(mut d) = keymap::build(cfg.ui.keymap.get_ref(), &paths.keymaps_dir, overrides) {
            for x in &mut d {
                if x.line == 0 {
                    *x = Diagnostic::at(
                        &paths.config_file,
                        &text,
                        Some(cfg.ui.keymap.span()),
                        x.message.clone(),
                    );
                }
            }
            diags.append(&mut d);
        }
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diags(text: &str) -> Vec<String> {
        parse_config(text, Path::new("c.toml"))
            .1
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn empty_file_is_the_platform_default() {
        let (parsed, d) = parse_config("", Path::new("c.toml"));
        assert!(d.is_empty());
        let (cfg, _) = parsed.unwrap();
        let names: Vec<_> = cfg
            .agents
            .iter()
            .map(|a| a.name.get_ref().as_str())
            .collect();
        assert_eq!(
            names,
            ["COGNITIVE", "THINKING", "JUDGING", "EXECUTING", "EVOLVING"]
        );
        assert_eq!(cfg.agents[1].queues, ["thinking"]);
        assert_eq!(cfg.redis.url.get_ref(), "redis://127.0.0.1:6379/0");
        let ports: Vec<u16> = cfg.ports.iter().map(|p| *p.port.get_ref()).collect();
        assert_eq!(
            ports,
            [
                80, 443, 5002, 5004, 5051, 6379, 5432, 9090, 3000, 8008, 8448
            ]
        );
    }

    #[test]
    fn every_misspelt_key_is_named_with_its_line_and_column() {
        let d = diags("[ui]\nthem = \"light\"\n\n[redis]\nurll = \"redis://x\"\n");
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].starts_with("c.toml:2:1: unknown field `them`, expected one of"),
            "{}",
            d[0]
        );
        assert!(
            d[1].starts_with("c.toml:5:1: unknown field `urll`"),
            "{}",
            d[1]
        );
    }

    #[test]
    fn wrong_types_and_bad_values_are_placed() {
        // Every error in one pass: a wrong type does not hide the range check after it, and
        // it is worded for an operator, not in Rust's terms.
        let d = diags("[ui]\nmax_fps = \"fast\"\n[probes]\ntimeout_ms = 0\n");
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            d[0],
            "c.toml:2:11: expected a whole number, 0 or more, found the text \"fast\""
        );
        assert!(
            d[1].starts_with("c.toml:4:14: probes.timeout_ms"),
            "{}",
            d[1]
        );
        // A required field with a wrong type is one error, not two.
        let d = diags("[[agents]]\nname = 5\nqueues = [\"q\"]\n[redis]\nurl = \"http://x\"\n");
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].starts_with("c.toml:2:8: expected text in quotes, found the number 5"),
            "{}",
            d[0]
        );
        assert!(!d.iter().any(|x| x.contains("missing field")), "{d:?}");
        assert!(d[1].contains("redis.url must start with"), "{}", d[1]);
        let d =
            diags("[probes]\ntimeout_ms = 0\n[[agents]]\nname = \"A\"\n[[agents]]\nname = \"a\"\n");
        assert!(
            d[0].starts_with("c.toml:2:14: probes.timeout_ms"),
            "{}",
            d[0]
        );
        assert!(
            d[1].starts_with("c.toml:6:8: agent `a` is defined twice"),
            "{}",
            d[1]
        );
    }

    #[test]
    fn every_setting_is_range_checked_at_its_place() {
        let d = diags(
            "[probes]\ncert_warn_days = 5\ncert_alarm_days = 7\nfail_after = 0\n[activity]\nmax_bytes = 0\n[celery]\nforget_workers_secs = 1\n[[ports]]\nname = \"x\"\nport = 1\ntimeout_ms = 1\n",
        );
        let want = [
            "c.toml:3:19: probes.cert_alarm_days (7) must be less than cert_warn_days (5)",
            "c.toml:4:14: probes.fail_after must be between 1 and 100",
            "c.toml:6:13: activity.max_bytes must be between",
            "c.toml:8:23: celery.forget_workers_secs must be between",
            "c.toml:12:14: port entry `x`: timeout_ms must be between 10 and 60000",
        ];
        assert_eq!(d.len(), want.len(), "{d:#?}");
        for (got, want) in d.iter().zip(want) {
            assert!(got.starts_with(want), "{got}\n  should start with\n{want}");
        }
    }

    #[test]
    fn the_removed_mouse_option_is_refused_in_words() {
        let d = diags("[ui]\nmouse = true\n");
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].starts_with("c.toml:2:9: ui.mouse was removed"),
            "{}",
            d[0]
        );
    }

    #[test]
    fn conflicting_key_bindings_are_refused() {
        let d = diags(
            "[[keymap.normal]]\non = \"x\"\nrun = \"quit\"\n[[keymap.normal]]\non = \"x\"\nrun = \"help\"\n",
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("c.toml:5:6: key `x` in [keymap.normal] is bound to `help` here but already to `quit` on line 2"), "{}", d[0]);
    }

    #[test]
    fn syntax_errors_are_placed() {
        let d = diags("[ui\ntheme = 1\n");
        assert!(d[0].starts_with("c.toml:1:"), "{d:?}");
    }

    #[test]
    fn redis_passwords_never_appear_in_errors() {
        let d = diags("[redis]\nurl = \"http://:s3cret@h\"\n");
        assert!(!d[0].contains("s3cret"), "{}", d[0]);
    }

    #[test]
    fn shipped_example_configs_are_valid() {
        for text in [
            include_str!("../../assets/config.example.toml"),
            include_str!("../../assets/examples/platform.toml"),
        ] {
            let d = diags(text);
            assert!(d.is_empty(), "{d:?}");
        }
    }
}

#[cfg(test)]
mod defaults_as_data {
    use super::*;

    /// Debug text without the places values were read from: a default has none.
    fn shape(v: &impl std::fmt::Debug) -> String {
        let text = format!("{v:#?}");
        let spans = regex::Regex::new(r"span: \d+\.\.\d+,").unwrap();
        spans.replace_all(&text, "").to_string()
    }

    #[test]
    fn the_example_config_is_the_defaults() {
        let text = include_str!("../../assets/config.example.toml");
        let (parsed, diags) = parse_config(text, Path::new("config.example.toml"));
        assert!(diags.is_empty(), "{diags:?}");
        let (example, _) = parsed.unwrap();
        let default = Config::default();
        let mut differ = Vec::new();
        macro_rules! same {
            ($($field:ident),*) => {$(
                if shape(&example.$field) != shape(&default.$field) {
                    differ.push(stringify!($field));
                }
            )*};
        }
        same!(
            redis, celery, store, ui, probes, activity, agents, ports, socketio, logs, executor,
            keymap
        );
        assert!(
            differ.is_empty(),
            "the example and the defaults differ in: {differ:?}"
        );
    }
}
