//! Contexts: several platforms (staging, production) in one config, the way k9s has its
//! contexts. The file's own settings are the context `default`, unchanged. Each
//! `[[contexts]]` entry has a `name`, may `inherit` another context (`default` unless it
//! says), and overrides what it gives: tables merge key by key, anything else (a URL, the
//! port map, the list of Socket.IO endpoints) is replaced whole. The look and the keys
//! (`[ui]`, `[keymap]`) are the operator's, not a platform's, so a context cannot set them.
//!
//! A context's config is the merged table written out again and read by the same parser
//! and checks as the file, so every rule holds for every context; a problem found there is
//! reported at the context's `[[contexts]]` line, with its name.

use std::path::Path;

use super::diagnostic::Diagnostic;

pub const DEFAULT: &str = "default";

/// Who a context is, as its header badge and its confirmations show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextMeta {
    pub name: String,
    /// A colour name for the header badge (`red`, `yellow`, …); "" for the theme's own.
    pub color: String,
    /// Its dangerous actions want the context's name typed.
    pub protected: bool,
}

impl Default for ContextMeta {
    fn default() -> ContextMeta {
        ContextMeta {
            name: DEFAULT.into(),
            color: String::new(),
            protected: false,
        }
    }
}

/// Colours a badge may take: the terminal's named colours.
pub const COLORS: &[&str] = &[
    "red", "green", "yellow", "blue", "magenta", "cyan", "white", "gray",
];

/// A `[[contexts]]` entry as read: who, what it inherits, what it overrides.
type Entry = (ContextMeta, String, toml::Table);

/// One entry, or why not (each problem a message; the caller adds the place).
fn read_entry(entry: &toml::Value, earlier: &[Entry]) -> Result<Entry, Vec<String>> {
    let Some(table) = entry.as_table() else {
        return Err(vec!["a [[contexts]] entry must be a table".into()]);
    };
    let mut table = table.clone();
    let name = match table.remove("name") {
        Some(toml::Value::String(n)) if valid_name(&n) => n,
        Some(toml::Value::String(n)) => {
            return Err(vec![format!(
                "context name `{}` must be letters, digits, `-` or `_` (at most 32)",
                crate::sanitize::clean(&n, 40)
            )]);
        }
        _ => return Err(vec!["a [[contexts]] entry needs a name".into()]),
    };
    if name == DEFAULT {
        return Err(vec![
            "`default` is the file's own settings; name this context otherwise".into(),
        ]);
    }
    if earlier.iter().any(|(m, ..)| m.name == name) {
        return Err(vec![format!("context `{name}` is defined twice")]);
    }
    let inherit = match table.remove("inherit") {
        None => DEFAULT.to_string(),
        Some(toml::Value::String(s)) => s,
        Some(_) => return Err(vec![format!("context `{name}`: inherit must be a name")]),
    };
    let color = match table.remove("color") {
        None => String::new(),
        Some(toml::Value::String(c)) if COLORS.contains(&c.as_str()) => c,
        Some(_) => {
            return Err(vec![format!(
                "context `{name}`: color must be one of {}",
                COLORS.join(", ")
            )]);
        }
    };
    let protected = match table.remove("protected") {
        None => false,
        Some(toml::Value::Boolean(b)) => b,
        Some(_) => {
            return Err(vec![format!(
                "context `{name}`: protected must be true or false"
            )]);
        }
    };
    let personal: Vec<String> = ["ui", "keymap", "contexts"]
        .iter()
        .filter(|k| table.contains_key(**k))
        .map(|k| {
            format!(
                "context `{name}`: [{k}] is the operator's, not a platform's; set it at the top of the file"
            )
        })
        .collect();
    if !personal.is_empty() {
        return Err(personal);
    }
    Ok((
        ContextMeta {
            name,
            color,
            protected,
        },
        inherit,
        table,
    ))
}

/// One context: who it is, and its whole config as TOML text, for the parser.
#[derive(Debug)]
pub struct Expanded {
    pub meta: ContextMeta,
    pub text: String,
    /// Line of its `[[contexts]]` entry in the file (1-based), where its problems are shown.
    pub line: usize,
}

/// The contexts `text` declares, `default` excluded, in the file's order. A file that is
/// not TOML has none here: the parser reports that.
pub fn expand(text: &str, file: &Path) -> Result<Vec<Expanded>, Vec<Diagnostic>> {
    let Ok(mut root) = text.parse::<toml::Table>() else {
        return Ok(Vec::new());
    };
    let Some(declared) = root.remove("contexts") else {
        return Ok(Vec::new());
    };
    let lines = entry_lines(text);
    let mut diags = Vec::new();
    let at = |i: usize, message: String| Diagnostic {
        file: file.to_path_buf(),
        line: lines.get(i).copied().unwrap_or(0),
        column: 1,
        message,
    };
    let Some(entries) = declared.as_array() else {
        return Err(vec![at(0, "contexts must be [[contexts]] entries".into())]);
    };
    // Each entry: its meta, what it inherits, and its overrides.
    let mut read: Vec<Entry> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        match read_entry(entry, &read) {
            Ok(e) => read.push(e),
            Err(why) => diags.extend(why.into_iter().map(|m| at(i, m))),
        }
    }
    // Each context on top of what it inherits, the chain followed to `default`.
    let mut out = Vec::new();
    for (i, (meta, _, _)) in read.iter().enumerate() {
        let mut chain = vec![i];
        let mut merged = loop {
            let (_, parent, _) = &read[*chain.last().expect("never empty")];
            if parent == DEFAULT {
                break root.clone();
            }
            match read.iter().position(|(m, ..)| &m.name == parent) {
                Some(p) if chain.contains(&p) => {
                    diags.push(at(
                        i,
                        format!(
                            "context `{}` inherits from itself, through `{parent}`",
                            meta.name
                        ),
                    ));
                    break root.clone();
                }
                Some(p) => chain.push(p),
                None => {
                    diags.push(at(
                        i,
                        format!(
                            "context `{}` inherits from `{}`, which is not a context",
                            meta.name,
                            crate::sanitize::clean(parent, 40)
                        ),
                    ));
                    break root.clone();
                }
            }
        };
        for j in chain.iter().rev() {
            merge(&mut merged, &read[*j].2);
        }
        out.push(Expanded {
            meta: meta.clone(),
            text: toml::to_string(&merged).unwrap_or_default(),
            line: lines.get(i).copied().unwrap_or(0),
        });
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Tables merge key by key; anything else is replaced by what the context gives.
fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The line of each `[[contexts]]` header, in order.
fn entry_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim();
            l.starts_with("[[")
                && l.trim_start_matches('[')
                    .trim_start()
                    .starts_with("contexts")
                && l.trim_end_matches(']').trim_end().ends_with("contexts")
        })
        .map(|(i, _)| i + 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[redis]
url = "redis://127.0.0.1:6379/0"
agent_channel = "chavion:agents:*"

[[contexts]]
name = "staging"
color = "yellow"
redis.url = "redis://10.0.0.2:6379/0"

[[contexts]]
name = "production"
inherit = "staging"
protected = true
color = "red"
redis.url = "redis://10.0.0.3:6379/1"
ports = []
"#;

    #[test]
    fn contexts_inherit_and_override_field_by_field() {
        let all = expand(FILE, Path::new("c.toml")).unwrap();
        assert_eq!(all.len(), 2);
        let prod: toml::Table = all[1].text.parse().unwrap();
        assert_eq!(all[1].meta.name, "production");
        assert!(all[1].meta.protected);
        assert_eq!(
            prod["redis"]["url"].as_str(),
            Some("redis://10.0.0.3:6379/1")
        );
        // What no one overrode comes from the file, through staging.
        assert_eq!(
            prod["redis"]["agent_channel"].as_str(),
            Some("chavion:agents:*")
        );
        assert_eq!(prod["ports"].as_array().map(Vec::len), Some(0));
        assert!(!prod.contains_key("contexts"));
        assert_eq!(all[0].line, 6);
        assert_eq!(all[1].line, 11);
    }

    #[test]
    fn a_bad_context_is_refused_with_its_line_and_name() {
        let bad = "[[contexts]]\nname = \"a\"\ninherit = \"b\"\n[[contexts]]\nname = \"b\"\ninherit = \"a\"\n\
                   [[contexts]]\nname = \"default\"\n[[contexts]]\nname = \"c\"\nui.theme = \"light\"\n\
                   [[contexts]]\nname = \"a\"\n";
        let diags = expand(bad, Path::new("c.toml")).unwrap_err();
        let said: Vec<String> = diags
            .iter()
            .map(|d| format!("{}: {}", d.line, d.message))
            .collect();
        assert!(
            said.iter()
                .any(|s| s.starts_with("7: `default` is the file's own")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|s| s.starts_with("9: context `c`: [ui] is the operator's")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|s| s.starts_with("12: context `a` is defined twice")),
            "{said:?}"
        );
        assert!(
            said.iter().any(|s| s.contains("inherits from itself")),
            "{said:?}"
        );
    }
}
