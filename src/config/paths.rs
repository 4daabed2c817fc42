//! Where the program keeps things, following the XDG base directory spec.

use std::path::PathBuf;

const APP: &str = "chavion-tui";

#[derive(Debug, Clone)]
pub struct Paths {
    pub config_file: PathBuf,
    /// Named by `--config` or `CHAVION_TUI_CONFIG`: then a missing file is an error.
    pub config_explicit: bool,
    pub config_dir: PathBuf,
    pub themes_dir: PathBuf,
    pub keymaps_dir: PathBuf,
    pub data_dir: PathBuf,
    pub log_file: PathBuf,
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() && PathBuf::from(&v).is_absolute() => PathBuf::from(v),
        _ => home().join(fallback),
    }
}

/// `~/x` is relative to the home directory, as a shell would read it.
pub fn expand_tilde(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None if path == "~" => home(),
        None => PathBuf::from(path),
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

impl Paths {
    /// `explicit` is `--config FILE`; `CHAVION_TUI_CONFIG` comes next, then the XDG default.
    pub fn resolve(explicit: Option<PathBuf>) -> Paths {
        let config_dir = xdg("XDG_CONFIG_HOME", ".config").join(APP);
        let explicit = explicit.or_else(|| {
            std::env::var_os("CHAVION_TUI_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        let config_explicit = explicit.is_some();
        let config_file = explicit.unwrap_or_else(|| config_dir.join("config.toml"));
        Paths {
            themes_dir: config_dir.join("themes"),
            keymaps_dir: config_dir.join("keymaps"),
            data_dir: xdg("XDG_DATA_HOME", ".local/share").join(APP),
            log_file: xdg("XDG_STATE_HOME", ".local/state")
                .join(APP)
                .join("chavion-tui.log"),
            config_file,
            config_explicit,
            config_dir,
        }
    }
}
