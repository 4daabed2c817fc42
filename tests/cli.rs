//! The command line as a user meets it: `config check`, `info`, and bad configs refused
//! before the TUI takes the screen.

mod common;

use common::Sandbox;

#[test]
fn config_check_names_the_line_of_a_misspelt_key() {
    let sb = Sandbox::new("check");
    let file = sb.path("c.toml");
    std::fs::write(&file, "[ui]\ntheme = \"light\"\nkeymapp = \"vim\"\n\n[[agents]]\nname = \"THINKING\"\nqueus = [\"thinking\"]\n").unwrap();
    let out = sb.cmd(&["config", "check", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let f = file.display();
    assert!(
        err.contains(&format!(
            "{f}:3:1: unknown field `keymapp`, expected one of `theme`, `keymap`"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:7:1: unknown field `queus`")),
        "{err}"
    );
    assert!(err.contains("2 error(s)"), "{err}");
}

#[test]
fn config_check_refuses_conflicting_bindings_and_unknown_themes() {
    let sb = Sandbox::new("conflict");
    let file = sb.path("c.toml");
    std::fs::write(&file, "[ui]\ntheme = \"neon\"\n[[keymap.normal]]\non = \"ctrl-x\"\nrun = \"quit\"\n[[keymap.normal]]\non = \"ctrl-x\"\nrun = \"zoom\"\n").unwrap();
    let out = sb.cmd(&["config", "check", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains(":7:6: key `ctrl-x` in [keymap.normal] is bound to `zoom` here but already to `quit` on line 4"), "{err}");
}

#[test]
fn config_check_accepts_the_shipped_example() {
    let sb = Sandbox::new("ok");
    for example in [
        "assets/config.example.toml",
        "assets/examples/platform.toml",
    ] {
        let path = format!("{}/{example}", env!("CARGO_MANIFEST_DIR"));
        let out = sb.cmd(&["config", "check", &path]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "ok\n",
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success());
    }
}

#[test]
fn info_prints_every_path() {
    let sb = Sandbox::new("info");
    let out = sb.cmd(&["info"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let d = sb.dir.display();
    for line in [
        format!("config file   {d}/config/chavion-tui/config.toml"),
        format!("themes dir    {d}/config/chavion-tui/themes"),
        format!("keymaps dir   {d}/config/chavion-tui/keymaps"),
        format!("data dir      {d}/data/chavion-tui"),
        format!("log file      {d}/state/chavion-tui/chavion-tui.log"),
    ] {
        assert!(text.contains(&line), "missing `{line}` in:\n{text}");
    }
    assert!(text.contains("dark, light, high-contrast, mono"), "{text}");
}

#[test]
fn a_broken_config_is_refused_before_the_screen_is_taken() {
    let sb = Sandbox::new("broken");
    let file = sb.path("c.toml");
    std::fs::write(&file, "[redis]\nurl = \"http://:hunter2@x\"\n").unwrap();
    let out = sb.cmd(&["--config", file.to_str().unwrap(), "--demo"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains(":2:7: redis.url must start with redis://"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "secrets are never printed: {err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "nothing drawn"
    );
}

#[test]
fn an_explicit_config_that_is_missing_is_an_error() {
    let sb = Sandbox::new("missing");
    let out = sb.cmd(&["--config", "/nonexistent/c.toml", "config", "check"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/c.toml: cannot read"));
}

/// Issue 14: bad input on the command line is a usage error before anything starts.
#[test]
fn a_bad_redis_url_or_theme_on_the_command_line_names_the_flag() {
    let sb = Sandbox::new("badflags");
    let out = sb.cmd(&["--redis", "notaurl", "--demo"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "--redis: a Redis URL must start with redis://, rediss://, unix:// or sentinel://"
        ),
        "{err}"
    );
    assert!(err.contains("fix the command line"), "{err}");
    assert!(out.stdout.is_empty(), "nothing drawn");
    // `status` could not judge: 3, "unknown", as Nagios reads it.
    let out = sb.cmd(&["--redis", "redis://:hunter2@", "status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("names no host:port"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let out = sb.cmd(&["--theme", "nosuch", "--demo"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--theme: no theme named `nosuch`"), "{err}");
    assert!(err.contains("fix the command line"), "{err}");
    assert!(!err.contains("fix the config"), "{err}");
}

/// Issue 14: no config file where one is looked for means the defaults, which check out.
#[test]
fn a_bare_config_check_with_no_file_checks_the_defaults() {
    let sb = Sandbox::new("nofile");
    let out = sb.cmd(&["config", "check"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.starts_with("ok: there is no config file at"), "{said}");
    assert!(said.contains("built-in defaults are in force"), "{said}");
}

/// Issue 14: `--redis` is the one Redis everywhere: `info` prints it, and the port map's
/// Redis row probes it instead of 6379.
#[test]
fn the_redis_flag_is_followed_by_info_and_the_port_map() {
    let sb = Sandbox::new("redisflag");
    let port = common::servers::free_port();
    let url = format!("redis://:s3cret@127.0.0.1:{port}/2");
    let out = sb.cmd(&["--redis", &url, "info"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains(&format!("redis         redis://:***@127.0.0.1:{port}/2")),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    let out = sb.cmd(&["--redis", &url, "status", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let redis = doc["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Redis")
        .expect("a Redis row");
    assert_eq!(redis["port"], port, "{redis}");
}
