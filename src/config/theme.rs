//! Themes as data: themes/*.toml are embedded in the binary; a file of the same name in the
//! user's themes dir overrides single slots of it. Colours are resolved once, at load, for
//! the terminal's colour depth, because ratatui emits `Color::Rgb` as 24-bit escapes
//! whatever the terminal can show.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::path::Path;

use super::diagnostic::Diagnostic;
use super::model::ColorChoice;
use super::parse::parse_toml;

pub const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
    reversed: bool,
}

macro_rules! slots {
    ($($slot:ident),* $(,)?) => {
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        struct ThemeSpec { $($slot: StyleSpec,)* }

        /// Resolved styles, one per slot; what `draw` uses.
        #[derive(Debug, Clone, Default)]
        pub struct Theme {
            pub name: String,
            pub mode: ColorMode,
            $(pub $slot: Style,)*
        }

        pub const SLOT_NAMES: &[&str] = &[$(stringify!($slot)),*];

        fn resolve(name: &str, spec: &ThemeSpec, mode: ColorMode) -> Result<Theme, BadColor> {
            Ok(Theme {
                name: name.to_string(),
                mode,
                $($slot: spec.$slot.to_style(mode).map_err(|e| e.in_slot(stringify!($slot)))?,)*
            })
        }
    };
}

slots!(
    base,
    border,
    border_focused,
    title,
    muted,
    accent,
    header,
    selection,
    state_idle,
    state_busy,
    state_error,
    state_offline,
    state_unknown,
    level_debug,
    level_info,
    level_warn,
    level_error,
    port_up,
    port_down,
    port_unknown,
    port_optional,
    sparkline,
    statusbar,
    badge_demo,
    badge_readonly,
    link_up,
    link_down,
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorMode {
    #[default]
    TrueColor,
    Ansi256,
    Ansi16,
    None,
}

impl ColorMode {
    /// `--color auto` reads the environment: NO_COLOR turns colour off, COLORTERM says
    /// whether 24-bit colour is understood, TERM whether 256 are.
    pub fn detect(choice: ColorChoice, env: &dyn Fn(&str) -> Option<String>) -> ColorMode {
        match choice {
            ColorChoice::Truecolor => ColorMode::TrueColor,
            ColorChoice::C256 => ColorMode::Ansi256,
            ColorChoice::C16 => ColorMode::Ansi16,
            ColorChoice::None => ColorMode::None,
            ColorChoice::Auto => {
                if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                    return ColorMode::None;
                }
                let colorterm = env("COLORTERM").unwrap_or_default().to_ascii_lowercase();
                if colorterm == "truecolor" || colorterm == "24bit" {
                    return ColorMode::TrueColor;
                }
                let term = env("TERM").unwrap_or_default();
                if term == "dumb" {
                    ColorMode::None
                } else if term.contains("256color") || term.contains("direct") {
                    ColorMode::Ansi256
                } else {
                    ColorMode::Ansi16
                }
            }
        }
    }
}

/// A theme's colour that is not one: the text as written, and the slot it was given for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{slot}{}`{text}` is not a colour; expected \"#rrggbb\", a colour name, an index 0-255 or \"reset\"", if slot.is_empty() { "" } else { ": " })]
pub struct BadColor {
    pub slot: String,
    pub text: String,
}

impl BadColor {
    fn in_slot(self, slot: &str) -> BadColor {
        BadColor {
            slot: slot.to_string(),
            ..self
        }
    }
}

impl StyleSpec {
    fn to_style(&self, mode: ColorMode) -> Result<Style, BadColor> {
        let mut style = Style::default();
        if mode != ColorMode::None {
            if let Some(fg) = &self.fg {
                style = style.fg(downsample(parse_color(fg)?, mode));
            }
            if let Some(bg) = &self.bg {
                style = style.bg(downsample(parse_color(bg)?, mode));
            }
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            if on {
                style = style.add_modifier(m);
            }
        }
        Ok(style)
    }
}

pub fn parse_color(text: &str) -> Result<Color, BadColor> {
    let t = text.trim().to_ascii_lowercase();
    if let Some(hex) = t.strip_prefix('#')
        && hex.len() == 6
        && let Ok(v) = u32::from_str_radix(hex, 16)
    {
        return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    if let Ok(i) = t.parse::<u8>() {
        return Ok(Color::Indexed(i));
    }
    Ok(match t.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => {
            return Err(BadColor {
                slot: String::new(),
                text: text.to_string(),
            });
        }
    })
}

const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

fn dist(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (x as i32 - y as i32).pow(2) as u32;
    // Weighted towards green, as the eye is; cheap and good enough for picking a palette slot.
    2 * d(a.0, b.0) + 4 * d(a.1, b.1) + 3 * d(a.2, b.2)
}

fn indexed_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[i as usize].1,
        16..=231 => {
            let i = i - 16;
            (
                CUBE[(i / 36) as usize],
                CUBE[(i / 6 % 6) as usize],
                CUBE[(i % 6) as usize],
            )
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
    }
}

pub fn downsample(c: Color, mode: ColorMode) -> Color {
    let rgb = match (c, mode) {
        (_, ColorMode::None) => return Color::Reset,
        (_, ColorMode::TrueColor) => return c,
        (Color::Rgb(r, g, b), _) => (r, g, b),
        (Color::Indexed(i), ColorMode::Ansi16) if i >= 16 => indexed_rgb(i),
        _ => return c,
    };
    match mode {
        ColorMode::Ansi256 => {
            let nearest = |v: u8| {
                CUBE.iter()
                    .enumerate()
                    .min_by_key(|(_, c)| (**c as i32 - v as i32).abs())
                    .map_or(0, |(i, _)| i as u8)
            };
            let cube_idx = 16 + 36 * nearest(rgb.0) + 6 * nearest(rgb.1) + nearest(rgb.2);
            let avg = ((rgb.0 as u32 + rgb.1 as u32 + rgb.2 as u32) / 3) as u8;
            let gray_idx = 232 + (avg.saturating_sub(3) / 10).min(23);
            if dist(indexed_rgb(gray_idx), rgb) < dist(indexed_rgb(cube_idx), rgb) {
                Color::Indexed(gray_idx)
            } else {
                Color::Indexed(cube_idx)
            }
        }
        _ => ANSI16
            .iter()
            .min_by_key(|(_, v)| dist(*v, rgb))
            .map_or(Color::Reset, |(c, _)| *c),
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Loads theme `name`: the built-in one (or `dark` if none is called that) with the user's
/// file of the same name laid over it slot by slot.
pub fn load(name: &str, user_dir: &Path, mode: ColorMode) -> Result<Theme, Vec<Diagnostic>> {
    let user_path = user_dir.join(format!("{name}.toml"));
    let builtin = BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
    let user_text = std::fs::read_to_string(&user_path).ok();
    if builtin.is_none() && user_text.is_none() {
        let names: Vec<_> = BUILT_IN.iter().map(|(n, _)| *n).collect();
        return Err(vec![Diagnostic::at(
            &user_path,
            "",
            None,
            format!("no theme named `{name}`; built in: {}", names.join(", ")),
        )]);
    }
    let mut table: toml::Table =
        toml::from_str(builtin.unwrap_or(BUILT_IN[0].1)).expect("built-in themes are valid TOML");
    if let Some(text) = &user_text {
        // Parse the user's file on its own first, so its errors point into it.
        let (spec, diags) = parse_toml::<ThemeSpec>(text, &user_path);
        if spec.is_none() {
            return Err(diags);
        }
        merge(
            &mut table,
            toml::from_str(text)
                .map_err(|e| vec![Diagnostic::at(&user_path, text, e.span(), e.message())])?,
        );
    }
    let spec: ThemeSpec = table
        .try_into()
        .map_err(|e: toml::de::Error| vec![Diagnostic::at(&user_path, "", None, e.message())])?;
    let mut theme = resolve(name, &spec, mode)
        .map_err(|e| vec![Diagnostic::at(&user_path, "", None, e.to_string())])?;
    if mode == ColorMode::None {
        // With no colour at all, reverse video is what keeps the selection visible.
        theme.selection = theme.selection.add_modifier(Modifier::REVERSED);
    }
    Ok(theme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_fills_every_slot() {
        for (name, text) in BUILT_IN {
            let table: toml::Table = toml::from_str(text).unwrap();
            for slot in SLOT_NAMES {
                assert!(table.contains_key(*slot), "theme {name} lacks {slot}");
            }
            load(name, Path::new("/nonexistent"), ColorMode::TrueColor).unwrap();
        }
    }

    #[test]
    fn no_colour_keeps_selection_visible() {
        for (name, _) in BUILT_IN {
            let t = load(name, Path::new("/nonexistent"), ColorMode::None).unwrap();
            assert_eq!(t.selection.fg, None);
            assert_eq!(t.selection.bg, None);
            assert!(
                t.selection.add_modifier.contains(Modifier::REVERSED),
                "{name}: selection invisible without colour"
            );
        }
    }

    #[test]
    fn downsamples_rgb() {
        assert_eq!(
            downsample(Color::Rgb(255, 0, 0), ColorMode::Ansi16),
            Color::LightRed
        );
        assert_eq!(
            downsample(Color::Rgb(0, 0, 0), ColorMode::Ansi256),
            Color::Indexed(16)
        );
        assert_eq!(
            downsample(Color::Rgb(128, 128, 128), ColorMode::Ansi256),
            Color::Indexed(244)
        );
        assert_eq!(
            downsample(Color::Rgb(1, 2, 3), ColorMode::TrueColor),
            Color::Rgb(1, 2, 3)
        );
        assert_eq!(
            downsample(Color::Indexed(196), ColorMode::Ansi16),
            Color::LightRed
        );
    }

    #[test]
    fn detects_colour_depth_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            ColorMode::detect(
                ColorChoice::Auto,
                &env(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")])
            ),
            ColorMode::None
        );
        assert_eq!(
            ColorMode::detect(ColorChoice::Auto, &env(&[("COLORTERM", "truecolor")])),
            ColorMode::TrueColor
        );
        assert_eq!(
            ColorMode::detect(ColorChoice::Auto, &env(&[("TERM", "xterm-256color")])),
            ColorMode::Ansi256
        );
        assert_eq!(
            ColorMode::detect(ColorChoice::Auto, &env(&[("TERM", "vt100")])),
            ColorMode::Ansi16
        );
        // An explicit choice beats NO_COLOR, as the NO_COLOR convention asks.
        assert_eq!(
            ColorMode::detect(ColorChoice::C256, &env(&[("NO_COLOR", "1")])),
            ColorMode::Ansi256
        );
    }

    #[test]
    fn user_file_overrides_one_slot() {
        let dir = std::env::temp_dir().join(format!("chavion-theme-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("dark.toml"), "title = { fg = \"#010203\" }\n").unwrap();
        let t = load("dark", &dir, ColorMode::TrueColor).unwrap();
        std::fs::write(dir.join("dark.toml"), "titel = { fg = \"#010203\" }\n").unwrap();
        let err = load("dark", &dir, ColorMode::TrueColor).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(t.title.fg, Some(Color::Rgb(1, 2, 3)));
        assert_eq!(t.state_busy.fg, Some(Color::Rgb(0xe0, 0xaf, 0x68)));
        assert_eq!(err[0].line, 1);
        assert!(err[0].message.contains("titel"), "{}", err[0]);
    }
}
