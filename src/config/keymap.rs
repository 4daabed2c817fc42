//! Key bindings as data. Presets ship in keymaps/*.toml (embedded at build time); a file of
//! the same name in the user's keymaps dir, and then the config's `[keymap]` tables,
//! override single keys and leave the rest as they were. The help overlay is generated
//! from the result, so it can never disagree with what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use std::fmt;
use std::path::Path;

use super::diagnostic::Diagnostic;
use super::model::{BindingSpec, KeymapConfig};
use super::parse::parse_toml;

pub const PRESETS: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

/// Everything a key can do. Names are the `run = "…"` strings of the keymap files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    FocusNext,
    FocusPrev,
    Zoom,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    ToggleFollow,
    /// Switch between the dashboard and the Tasks view.
    Tasks,
    /// Switch between the dashboard and the Workers view.
    Workers,
    /// Switch between the dashboard and the Issues view (failures grouped).
    Issues,
    /// Switch between the dashboard and the Containers view (the Docker Engine's).
    Containers,
    Filter,
    Sort,
    Revoke,
    Terminate,
    /// Open the dispatch form (on the selected agent).
    Dispatch,
    /// Open the `:` command line.
    Command,
    /// Switch between the dashboard and the Executor view.
    Executor,
    /// Run the selected runbook (asks first).
    Run,
    /// Cancel the run in the current tab.
    Cancel,
    /// Close the current run tab, once it has ended.
    CloseTab,
    /// Activity log: search (highlight, then next / previous).
    Search,
    SearchNext,
    SearchPrev,
    Wrap,
    Timestamps,
    /// Local time or UTC.
    Utc,
    Fullscreen,
    Clear,
    /// Start (or drop) a selection at the cursor line.
    Mark,
    /// Copy the selection to the operator's clipboard (OSC 52).
    Copy,
    /// Save the filtered view to a file.
    Save,
    /// Jump to a time.
    GoTo,
    /// Ask the selected worker again now (its detail).
    Refresh,
    /// Send the selected task again, under a new id (asks first).
    Retry,
    /// Acknowledge the selected firing alert (Alerts view); shared with the other rooms.
    Ack,
    /// Unbinds a key inherited from a preset.
    Nothing,
}

impl Action {
    pub const ALL: &[(Action, &str)] = &[
        (Action::Quit, "quit"),
        (Action::Help, "help"),
        (Action::FocusNext, "focus_next"),
        (Action::FocusPrev, "focus_prev"),
        (Action::Zoom, "zoom"),
        (Action::Back, "back"),
        (Action::Up, "up"),
        (Action::Down, "down"),
        (Action::PageUp, "page_up"),
        (Action::PageDown, "page_down"),
        (Action::Top, "top"),
        (Action::Bottom, "bottom"),
        (Action::ToggleFollow, "toggle_follow"),
        (Action::Tasks, "tasks"),
        (Action::Workers, "workers"),
        (Action::Issues, "issues"),
        (Action::Containers, "containers"),
        (Action::Filter, "filter"),
        (Action::Sort, "sort"),
        (Action::Revoke, "revoke"),
        (Action::Terminate, "terminate"),
        (Action::Dispatch, "dispatch"),
        (Action::Command, "command"),
        (Action::Executor, "executor"),
        (Action::Run, "run"),
        (Action::Cancel, "cancel"),
        (Action::CloseTab, "close_tab"),
        (Action::Search, "search"),
        (Action::SearchNext, "search_next"),
        (Action::SearchPrev, "search_prev"),
        (Action::Wrap, "wrap"),
        (Action::Timestamps, "timestamps"),
        (Action::Utc, "utc"),
        (Action::Fullscreen, "fullscreen"),
        (Action::Clear, "clear"),
        (Action::Mark, "mark"),
        (Action::Copy, "copy"),
        (Action::Save, "save"),
        (Action::GoTo, "goto"),
        (Action::Refresh, "refresh"),
        (Action::Retry, "retry"),
        (Action::Ack, "ack"),
        (Action::Nothing, "none"),
    ];

    pub fn parse(name: &str) -> Option<Action> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(a, _)| *a)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("?", |(_, n)| n)
    }
}

/// A key with its modifiers, normalised so that `G` matches whether or not the terminal
/// also reports SHIFT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl KeyChord {
    pub fn from_event(ev: &KeyEvent) -> KeyChord {
        let mut mods =
            ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        if matches!(ev.code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        KeyChord {
            code: ev.code,
            mods,
        }
    }

    pub fn parse(text: &str) -> Result<KeyChord, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            if rest.len() == len {
                break;
            }
            mods |= m;
            rest = &rest[len..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" => KeyCode::Insert,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            f if f.len() >= 2
                && f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().expect("checked above"))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        if mods.contains(KeyModifiers::SHIFT) {
                            mods.remove(KeyModifiers::SHIFT);
                            KeyCode::Char(c.to_ascii_uppercase())
                        } else {
                            KeyCode::Char(c)
                        }
                    }
                    _ => {
                        return Err(format!(
                            "unknown key `{text}`; expected a single character, a name such as `enter`, `esc`, `tab`, `up`, `pgdn`, `f1`, or a modifier such as `ctrl-c`"
                        ));
                    }
                }
            }
        };
        Ok(KeyChord { code, mods })
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One checked binding: key, action, and the description for the help overlay.
pub type Spec = (KeyChord, Action, Option<String>);
/// Checked bindings per section, to lay over a preset.
pub use super::sections::Section;

pub type Overrides = Vec<(Section, Vec<Spec>)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub key: KeyChord,
    pub action: Action,
    pub desc: String,
}

#[derive(Debug, Clone, Default)]
pub struct Keymap {
    pub normal: Vec<Binding>,
    pub help: Vec<Binding>,
    pub executor: Vec<Binding>,
    pub log: Vec<Binding>,
    /// The views' own sections (`Section::VIEWS`), only those with a binding.
    pub views: std::collections::BTreeMap<Section, Vec<Binding>>,
}

impl Keymap {
    pub fn section(&self, s: Section) -> &[Binding] {
        match s {
            Section::Normal => &self.normal,
            Section::Help => &self.help,
            Section::Executor => &self.executor,
            Section::Log => &self.log,
            view => self.views.get(&view).map_or(&[], Vec::as_slice),
        }
    }

    fn section_mut(&mut self, s: Section) -> &mut Vec<Binding> {
        match s {
            Section::Normal => &mut self.normal,
            Section::Help => &mut self.help,
            Section::Executor => &mut self.executor,
            Section::Log => &mut self.log,
            view => self.views.entry(view).or_default(),
        }
    }

    /// The key that does `action` in section `s` (the Executor and Log sections fall back
    /// to the main screen's, as their keys do), as on-screen hints name it; `:help` when no
    /// key is bound to it. Every hint on screen comes from here, so a remapped key is
    /// named right.
    pub fn hint(&self, s: Section, action: Action) -> String {
        let find = |s: Section| {
            self.section(s)
                .iter()
                .find(|b| b.action == action)
                .map(|b| b.key.to_string())
        };
        find(s)
            .or_else(|| {
                (s != Section::Normal)
                    .then(|| find(Section::Normal))
                    .flatten()
            })
            .unwrap_or_else(|| ":help".into())
    }

    pub fn lookup(&self, s: Section, ev: &KeyEvent) -> Option<Action> {
        let chord = KeyChord::from_event(ev);
        self.section(s)
            .iter()
            .find(|b| b.key == chord)
            .map(|b| b.action)
            .filter(|a| *a != Action::Nothing)
    }

    /// Applies `specs` on top of this keymap: each spec replaces whatever its key did.
    fn overlay(&mut self, s: Section, specs: Vec<Spec>) {
        for (key, action, desc) in specs {
            let bindings = self.section_mut(s);
            let inherited = bindings.iter().position(|b| b.key == key);
            let desc = desc.unwrap_or_else(|| default_desc(action).to_string());
            match inherited {
                Some(i) => bindings[i] = Binding { key, action, desc },
                None => bindings.push(Binding { key, action, desc }),
            }
        }
    }
}

fn default_desc(action: Action) -> &'static str {
    match action {
        Action::Quit => "Quit",
        Action::Help => "Show or hide this help",
        Action::FocusNext => "Focus the next pane",
        Action::FocusPrev => "Focus the previous pane",
        Action::Zoom => "Zoom the focused pane",
        Action::Back => "Back: close, unzoom",
        Action::Up => "Move or scroll up",
        Action::Down => "Move or scroll down",
        Action::PageUp => "Page up",
        Action::PageDown => "Page down",
        Action::Top => "Go to the top / oldest",
        Action::Bottom => "Go to the bottom / follow",
        Action::ToggleFollow => "Pause or resume following the log",
        Action::Tasks => "Tasks view / back to the dashboard",
        Action::Workers => "Workers view / back to the dashboard",
        Action::Issues => "Issues view (failures grouped) / back to the dashboard",
        Action::Containers => "Containers view (Docker) / back to the dashboard",
        Action::Filter => "Filter tasks (state: agent: name: worker:)",
        Action::Sort => "Sort tasks by the next column",
        Action::Revoke => "Revoke the selected task",
        Action::Terminate => "Revoke and kill the selected task",
        Action::Dispatch => "Dispatch a task to the selected agent",
        Action::Command => "Command line (:dispatch AGENT TASK [JSON], :exec RUNBOOK, :tasks, :q)",
        Action::Executor => "Executor view / back to the dashboard",
        Action::Run => "Run the selected runbook (asks first)",
        Action::Cancel => "Cancel the run: TERM, then KILL after the grace period",
        Action::CloseTab => "Close the tab of a run that has ended",
        Action::Search => "Search the log (regex); matches highlighted",
        Action::SearchNext => "Next match (newer)",
        Action::SearchPrev => "Previous match (older)",
        Action::Wrap => "Wrap long lines on / off",
        Action::Timestamps => "Timestamps on / off",
        Action::Utc => "Times in UTC / local time",
        Action::Fullscreen => "The log full screen / back",
        Action::Clear => "Clear the log from the screen (the store keeps it)",
        Action::Mark => "Start / drop a selection at the bottom line",
        Action::Copy => "Copy the selection to your clipboard (OSC 52)",
        Action::Save => "Save the filtered log to a file",
        Action::GoTo => "Jump to a time (:at 14:05, :at -15m)",
        Action::Refresh => "Ask the selected worker again now (worker detail)",
        Action::Retry => {
            "Retry the selected task (asks first); restart the selected container (Containers view)"
        }
        Action::Ack => "Acknowledge the selected alert (Alerts view)",
        Action::Nothing => "(unbound)",
    }
}

/// Checks one section's specs: every key parses, every action exists, and no key is bound
/// twice within the same file and section (which would make one of them silently dead).
fn check_section(
    specs: &[BindingSpec],
    section: &str,
    file: &Path,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Spec> {
    let mut out: Vec<Spec> = Vec::new();
    let mut first_at: Vec<(KeyChord, std::ops::Range<usize>, Action)> = Vec::new();
    for spec in specs {
        let key = match KeyChord::parse(spec.on.get_ref()) {
            Ok(k) => k,
            Err(e) => {
                diags.push(Diagnostic::at(file, text, Some(spec.on.span()), e));
                continue;
            }
        };
        let Some(action) = Action::parse(spec.run.get_ref()) else {
            let names: Vec<_> = Action::ALL.iter().map(|(_, n)| *n).collect();
            diags.push(Diagnostic::at(
                file,
                text,
                Some(spec.run.span()),
                format!(
                    "unknown action `{}`; expected one of {}",
                    spec.run.get_ref(),
                    names.join(", ")
                ),
            ));
            continue;
        };
        if let Some((_, span, other)) = first_at.iter().find(|(k, _, _)| *k == key) {
            let (line, _) = super::diagnostic::line_col(text, span.start);
            diags.push(Diagnostic::at(
                file,
                text,
                Some(spec.on.span()),
                format!(
                    "key `{key}` in [keymap.{section}] is bound to `{}` here but already to `{}` on line {line}",
                    action.name(),
                    other.name()
                ),
            ));
            continue;
        }
        first_at.push((key, spec.on.span(), action));
        out.push((key, action, spec.desc.clone()));
    }
    out
}

pub fn check(
    cfg: &KeymapConfig,
    file: &Path,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Overrides {
    let views = [
        &cfg.dashboard,
        &cfg.tasks,
        &cfg.workers,
        &cfg.issues,
        &cfg.alerts,
        &cfg.metrics,
        &cfg.containers,
        &cfg.contexts,
        &cfg.links,
    ];
    let mut out = vec![
        (
            Section::Normal,
            check_section(&cfg.normal, "normal", file, text, diags),
        ),
        (
            Section::Help,
            check_section(&cfg.help, "help", file, text, diags),
        ),
        (
            Section::Executor,
            check_section(&cfg.executor, "executor", file, text, diags),
        ),
        (
            Section::Log,
            check_section(&cfg.log, "log", file, text, diags),
        ),
    ];
    for ((section, name), specs) in Section::VIEWS.into_iter().zip(views) {
        out.push((section, check_section(specs, name, file, text, diags)));
    }
    out
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct KeymapFile {
    keymap: KeymapConfig,
}

fn parse_file(text: &str, file: &Path, diags: &mut Vec<Diagnostic>) -> Overrides {
    let (parsed, mut errs) = parse_toml::<KeymapFile>(text, file);
    diags.append(&mut errs);
    parsed
        .map(|f| check(&f.keymap, file, text, diags))
        .unwrap_or_default()
}

/// Builds the active keymap: preset, then the user's file of the same name, then the
/// config file's `[keymap]` overrides (already checked by the config loader).
pub fn build(
    preset: &str,
    user_dir: &Path,
    config_overrides: Overrides,
) -> Result<Keymap, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let user_path = user_dir.join(format!("{preset}.toml"));
    let user_text = std::fs::read_to_string(&user_path).ok();
    let embedded = PRESETS.iter().find(|(n, _)| *n == preset).map(|(_, t)| *t);
    if embedded.is_none() && user_text.is_none() {
        let names: Vec<_> = PRESETS.iter().map(|(n, _)| *n).collect();
        return Err(vec![Diagnostic::at(
            &user_path,
            "",
            None,
            format!("no keymap named `{preset}`; built in: {}", names.join(", ")),
        )]);
    }
    let mut km = Keymap::default();
    // Every preset is a layer on the default one, and a user file named like no preset
    // stands on the default preset too.
    let default_path = Path::new("<built-in keymap>").join("default.toml");
    for (s, specs) in parse_file(PRESETS[0].1, &default_path, &mut diags) {
        km.overlay(s, specs);
    }
    if let Some(layer) = embedded.filter(|_| preset != PRESETS[0].0) {
        let layer_path = Path::new("<built-in keymap>").join(format!("{preset}.toml"));
        for (s, specs) in parse_file(layer, &layer_path, &mut diags) {
            km.overlay(s, specs);
        }
    }
    if let Some(text) = &user_text {
        for (s, specs) in parse_file(text, &user_path, &mut diags) {
            km.overlay(s, specs);
        }
    }
    for (s, specs) in config_overrides {
        km.overlay(s, specs);
    }
    if diags.is_empty() { Ok(km) } else { Err(diags) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: mods,
            kind: KeyEventKind::Press,
            state: crossterm::event::KeyEventState::NONE,
        }
    }

    #[test]
    fn parses_and_prints_chords() {
        for text in [
            "q",
            "G",
            "?",
            "ctrl-c",
            "enter",
            "shift-tab",
            "pgdn",
            "f5",
            "space",
            "alt-x",
        ] {
            let chord = KeyChord::parse(text).unwrap();
            assert_eq!(
                KeyChord::parse(&chord.to_string().replace('↑', "up")).unwrap(),
                chord,
                "{text}"
            );
        }
        assert!(KeyChord::parse("hyper-q").is_err());
        assert!(KeyChord::parse("f13").is_err());
    }

    #[test]
    fn shifted_letters_match_with_or_without_shift_reported() {
        let km = build("vim", Path::new("/nonexistent"), vec![]).unwrap();
        assert_eq!(
            km.lookup(
                Section::Normal,
                &key(KeyCode::Char('G'), KeyModifiers::SHIFT)
            ),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.lookup(
                Section::Normal,
                &key(KeyCode::Char('G'), KeyModifiers::NONE)
            ),
            Some(Action::Bottom)
        );
    }

    #[test]
    fn vim_is_a_layer_on_the_default_keymap() {
        let default = build("default", Path::new("/nonexistent"), vec![]).unwrap();
        let vim = build("vim", Path::new("/nonexistent"), vec![]).unwrap();
        // Every default binding still does what it did.
        for section in [
            Section::Normal,
            Section::Help,
            Section::Executor,
            Section::Log,
        ] {
            for b in default.section(section) {
                assert!(
                    vim.section(section)
                        .iter()
                        .any(|v| v.key == b.key && v.action == b.action),
                    "{section:?}: {} lost its {:?}",
                    b.key,
                    b.action
                );
            }
        }
        // And the layer adds its own.
        assert_eq!(
            vim.lookup(
                Section::Normal,
                &key(KeyCode::Char('j'), KeyModifiers::NONE)
            ),
            Some(Action::Down)
        );
        assert_eq!(
            vim.lookup(
                Section::Normal,
                &key(KeyCode::Char('l'), KeyModifiers::NONE)
            ),
            Some(Action::FocusNext)
        );
        // The file itself holds only what differs: it is far smaller than the default.
        let (d, v) = (PRESETS[0].1.lines().count(), PRESETS[1].1.lines().count());
        assert!(v * 3 < d, "vim.toml has {v} lines, default.toml {d}");
    }

    #[test]
    fn both_presets_parse_and_bind_the_essentials() {
        for (name, _) in PRESETS {
            let km = build(name, Path::new("/nonexistent"), vec![]).unwrap();
            for essential in [
                Action::Quit,
                Action::Help,
                Action::FocusNext,
                Action::Zoom,
                Action::Back,
            ] {
                assert!(
                    km.normal.iter().any(|b| b.action == essential),
                    "{name} lacks {essential:?}"
                );
            }
            assert!(
                km.help.iter().any(|b| b.action == Action::Back),
                "{name} help lacks back"
            );
        }
    }

    #[test]
    fn user_file_overrides_single_keys_only() {
        let dir = std::env::temp_dir().join(format!("chavion-km-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("default.toml"), "[[keymap.normal]]\non = \"q\"\nrun = \"none\"\n[[keymap.normal]]\non = \"x\"\nrun = \"quit\"\n").unwrap();
        let km = build("default", &dir, vec![]).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            km.lookup(
                Section::Normal,
                &key(KeyCode::Char('q'), KeyModifiers::NONE)
            ),
            None
        );
        assert_eq!(
            km.lookup(
                Section::Normal,
                &key(KeyCode::Char('x'), KeyModifiers::NONE)
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            km.lookup(
                Section::Normal,
                &key(KeyCode::Char('?'), KeyModifiers::NONE)
            ),
            Some(Action::Help)
        );
    }
}
