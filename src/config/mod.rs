//! Configuration: the file model, loading with every error placed at file:line:column,
//! XDG paths, themes and keymaps.

pub mod contexts;
mod defaults;
pub mod diagnostic;
pub mod keymap;
pub mod model;
mod parse;
pub mod sections;
mod validate;
pub use validate::redis_url_problem;
use validate::validate;
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

/// What the program runs with, fully resolved.
#[derive(Clone)]
pub struct Settings {
    pub config: Config,
    pub theme: Theme,
    pub keymap: Keymap,
    /// Where the audit store lives: `--store`, then `store.url`, then SQLite in the data dir.
    /// `None` only for settings built from text alone without a `store.url`.
    pub store_url: Option<String>,
    /// Which context these are (`default`: the file's own settings).
    pub context: contexts::ContextMeta,
}

#[derive(Default)]
pub struct Overridden<'a> {
    pub theme: Option<&'a str>,
    pub color: Option<model::ColorChoice>,
    pub redis_url: Option<&'a str>,
    pub store_url: Option<&'a str>,
    /// `--docker URL`: the Docker Engine, in place of `[docker] url`.
    pub docker_url: Option<&'a str>,
    /// `--context NAME`: the context shown first (and the one the CLI acts on).
    pub context: Option<&'a str>,
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
    if let Some(url) = over.docker_url {
        override_docker(&mut config, url)?;
    }
    if let Err(why) = complete_redis_url(&mut config) {
        let at = match over.redis_url {
            Some(_) => Diagnostic::flag("--redis", why),
            None => Diagnostic::at(&paths.config_file, "", None, why),
        };
        return Err(vec![at]);
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
        context: contexts::ContextMeta::default(),
    })
}

/// `--docker URL` in place of `[docker] url`, refused as the file's would be.
fn override_docker(config: &mut Config, url: &str) -> Result<(), Vec<Diagnostic>> {
    config.docker.url = toml::Spanned::new(0..0, url.to_string());
    match validate::docker_problem(config) {
        Some(why) => Err(vec![Diagnostic::flag("--docker", why)]),
        None => Ok(()),
    }
}

/// Every context's settings: `default` (the file's own) first, then each `[[contexts]]` in
/// the file's order. `--redis` and `--store` apply to the context `--context` names (or
/// `default`); an unknown name is refused before anything starts.
pub fn load_all(paths: &Paths, over: &Overridden<'_>) -> Result<Vec<Settings>, Vec<Diagnostic>> {
    let chosen = over.context.unwrap_or(contexts::DEFAULT);
    let base_over = Overridden {
        redis_url: over.redis_url.filter(|_| chosen == contexts::DEFAULT),
        store_url: over.store_url.filter(|_| chosen == contexts::DEFAULT),
        docker_url: over.docker_url.filter(|_| chosen == contexts::DEFAULT),
        ..*over
    };
    let base = load(paths, &base_over)?;
    let text = std::fs::read_to_string(&paths.config_file).unwrap_or_default();
    let mut all = vec![base.clone()];
    for e in contexts::expand(&text, &paths.config_file)? {
        let at_entry = |d: Diagnostic| Diagnostic {
            file: paths.config_file.clone(),
            line: e.line,
            column: 1,
            message: format!("context `{}`: {}", e.meta.name, d.message),
        };
        let (parsed, diags) = parse_config(&e.text, &paths.config_file);
        let Some((mut config, _)) = parsed else {
            return Err(diags.into_iter().map(at_entry).collect());
        };
        let mine = e.meta.name == chosen;
        if mine && let Some(url) = over.redis_url {
            if let Some(why) = redis_url_problem(url) {
                return Err(vec![Diagnostic::flag("--redis", why)]);
            }
            follow_redis_override(&mut config, url);
        }
        if mine && let Some(url) = over.docker_url {
            override_docker(&mut config, url)?;
        }
        complete_redis_url(&mut config).map_err(|why| vec![at_entry(Diagnostic::flag("", why))])?;
        let store_url = over
            .store_url
            .filter(|_| mine)
            .map(str::to_string)
            .or_else(|| Some(config.store.url.get_ref().clone()).filter(|u| !u.is_empty()))
            // Without a store of its own, a context keeps its activity lines and task
            // history in a SQLite file of its own beside the default one.
            .or_else(|| {
                Some(
                    paths
                        .data_dir
                        .join(format!("audit-{}.db", e.meta.name))
                        .display()
                        .to_string(),
                )
            });
        all.push(Settings {
            config,
            store_url,
            context: e.meta,
            ..base.clone()
        });
    }
    if !all.iter().any(|s| s.context.name == chosen) {
        let known: Vec<&str> = all.iter().map(|s| s.context.name.as_str()).collect();
        return Err(vec![Diagnostic::flag(
            "--context",
            format!(
                "no context named `{}`; the config has {}",
                crate::sanitize::clean(chosen, 40),
                known.join(", ")
            ),
        )]);
    }
    Ok(all)
}

/// Everything that names "the platform's Redis" follows the one URL in force: the port-map
/// entries that probed the configured Redis probe the one given on the command line.
fn follow_redis_override(config: &mut Config, url: &str) {
    use crate::redis_url::host_port;
    let old = host_port(config.redis.url.get_ref());
    let new = host_port(url);
    if let (Some((old_host, old_port)), Some((host, port))) = (old, new) {
        for p in &mut config.ports {
            let same_host = crate::redis_url::same_host(&p.host, &old_host);
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

/// The Redis URL takes what the config says beside it, so every connection, action and
/// outbox row that holds the URL holds the whole broker: with TLS, the CA file; behind
/// Sentinel, the master's name and the sentinels' password. And each sentinel the port map
/// does not list yet is added to it, so the Ports pane shows every one.
fn complete_redis_url(config: &mut Config) -> Result<(), String> {
    let url = crate::redis_url::with_master(
        config.redis.url.get_ref(),
        config.redis.master_name.get_ref(),
        &config.redis.sentinel_password,
    );
    let url = crate::redis_url::with_ca(&url, config.redis.ca_file.get_ref());
    if !crate::redis_url::is_sentinel(&url) {
        config.redis.url = toml::Spanned::new(0..0, url);
        return Ok(());
    }
    let sentinels = crate::redis_url::sentinel(&url).map_err(|why| format!("redis.url {why}"))?;
    for (i, (host, port)) in sentinels.nodes.iter().enumerate() {
        let listed = config
            .ports
            .iter()
            .any(|p| crate::redis_url::same_host(&p.host, host) && *p.port.get_ref() == *port);
        if !listed {
            // A sentinel answers PING like a Redis; with its password when it wants one.
            let url = match &sentinels.sentinel_password {
                Some(pw) => {
                    let shown = if host.contains(':') {
                        format!("[{host}]")
                    } else {
                        host.clone()
                    };
                    let mut u = url::Url::parse(&format!("redis://{shown}:{port}"))
                        .map_err(|e| format!("sentinel {}: {e}", i + 1))?;
                    let _ = u.set_password(Some(pw));
                    u.to_string()
                }
                None => String::new(),
            };
            config.ports.push(model::PortConfig {
                name: format!("Sentinel {}", i + 1),
                host: host.clone(),
                port: toml::Spanned::new(0..0, *port),
                probe: model::ProbeKind::Redis,
                expect: model::Expect::Required,
                url,
                ..model::PortConfig::default()
            });
        }
    }
    config.redis.url = toml::Spanned::new(0..0, url);
    Ok(())
}

/// Settings from config text alone (built-in theme and keymap): for tests and tools.
pub fn settings_from_str(text: &str) -> Result<Settings, Vec<Diagnostic>> {
    let (parsed, diags) = parse_config(text, Path::new("<config>"));
    let Some((mut config, overrides)) = parsed else {
        return Err(diags);
    };
    complete_redis_url(&mut config).map_err(|why| vec![Diagnostic::flag("redis.url", why)])?;
    let nowhere = Path::new("/nonexistent");
    let theme = theme::load(config.ui.theme.get_ref(), nowhere, ColorMode::TrueColor)?;
    let keymap = keymap::build(config.ui.keymap.get_ref(), nowhere, overrides)?;
    let store_url = Some(config.store.url.get_ref().clone()).filter(|u| !u.is_empty());
    Ok(Settings {
        config,
        theme,
        keymap,
        store_url,
        context: contexts::ContextMeta::default(),
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
    fn a_notifier_is_refused_before_anything_starts_without_echoing_its_url() {
        let text = "[[notify]]\nname = \"ops\"\nwebhook = \"ftp://h/s3cret\"\n\
                    [[notify]]\nname = \"ops\"\ncommand = [\"page\"]\nwebhook_env = \"X\"\ntimeout_secs = 0\n\
                    [[alerts]]\nname = \"down\"\nrule = \"port_down\"\nnotify = [\"pager\"]\n\
                    [[panels]]\ntitle = \"t\"\nquery = \"up\"\n";
        let d = diags(text).join("\n");
        for want in [
            "notifier `ops`: the webhook must be an http:// or https:// URL",
            "notifier `ops` is defined twice",
            "notifier `ops` needs exactly one of webhook, webhook_env and command",
            "notifier `ops`: timeout_secs must be between 1 and 120",
            "alert `down` goes to `pager`, and no [[notify]] has that name",
            "[[panels]] are read from Prometheus: set prometheus.url",
        ] {
            assert!(d.contains(want), "{want} not in {d}");
        }
        // The diagnostic shows the offending line of the file, so only the message is
        // checked for the secret.
        let messages: Vec<String> = parse_config(text, Path::new("c.toml"))
            .1
            .iter()
            .map(|x| x.message.clone())
            .collect();
        assert!(
            !messages.iter().any(|m| m.contains("s3cret")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_docker_url_is_a_socket_a_tcp_address_or_an_executor_host() {
        let d = diags("[docker]\nurl = \"ssh://nowhere\"\n").join("\n");
        assert!(d.contains("no [[executor.hosts]] is called nowhere"), "{d}");
        let d = diags("[docker]\nurl = \"http://h:2375\"\n").join("\n");
        assert!(d.contains("docker.url is unix:///PATH"), "{d}");
        let d = diags("[docker]\nurl = \"tcp://h:2376\"\nca_file = \"/ca.pem\"\n").join("\n");
        assert!(d.contains("needs ca_file, cert_file and key_file"), "{d}");
        assert!(diags("[docker]\nurl = \"\"\n").is_empty());
        assert!(diags("[docker]\nurl = \"tcp://h:2375\"\n").is_empty());
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
            keymap, alerts, notify, prometheus, panels, docker, recorder
        );
        assert!(
            differ.is_empty(),
            "the example and the defaults differ in: {differ:?}"
        );
    }
}
