//! Turns TOML text into a typed value and collects *every* error with its place, not just
//! the first: after each serde error the offending entry is cut from the parsed tree and
//! deserialization runs again, so one `config check` run lists all the misspelt keys.

use serde::de::DeserializeOwned;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::Diagnostic;

/// Bound on retries; a file with more errors than this gets the first ones reported.
const MAX_ERRORS: usize = 64;

pub fn parse_toml<T: DeserializeOwned>(text: &str, file: &Path) -> (Option<T>, Vec<Diagnostic>) {
    let (value, diags) = parse_toml_pruned(text, file);
    (value.filter(|_| diags.is_empty()), diags)
}

/// Like `parse_toml`, but also returns the value read from what is left once every entry
/// in error was cut out, so the checks that come after (URL schemes, ranges, duplicate
/// bindings) run in the same pass and `config check` lists every error at once.
pub fn parse_toml_pruned<T: DeserializeOwned>(
    text: &str,
    file: &Path,
) -> (Option<T>, Vec<Diagnostic>) {
    let (mut root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let diags = syntax
            .iter()
            .map(|e| Diagnostic::at(file, text, e.span(), first_line(e.message())))
            .collect();
        return (None, diags);
    }
    let mut diags = Vec::new();
    let mut parsed = None;
    // Keys cut out for a wrong value: the "missing field" that follows is not news.
    let mut cut: Vec<String> = Vec::new();
    while diags.len() < MAX_ERRORS {
        let de = toml::de::Deserializer::from(root.clone());
        match T::deserialize(de) {
            Ok(value) => {
                parsed = Some(value);
                break;
            }
            Err(e) => {
                let message = first_line(e.message());
                let follows_a_cut =
                    missing_field(&message).is_some_and(|k| cut.iter().any(|c| c == k));
                if !follows_a_cut {
                    diags.push(Diagnostic::at(
                        file,
                        text,
                        e.span(),
                        for_operators(&message),
                    ));
                }
                if let Some(span) = e.span() {
                    cut.extend(key_at(text, &span));
                }
                let removed = e
                    .span()
                    .is_some_and(|span| remove_at(root.get_mut(), &span));
                if !removed {
                    break;
                }
            }
        }
    }
    // Serde meets keys in its own order; report them in the file's.
    diags.sort_by_key(|d| (d.line, d.column));
    (parsed, diags)
}

/// `missing field `name`` → `name`.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// The key whose value starts at `span` (`key = value` on that line), if any.
fn key_at(text: &str, span: &Range<usize>) -> Option<String> {
    let start = text.floor_char_boundary(span.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let (key, _) = text[line_start..start].split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty()).then(|| key.rsplit('.').next().unwrap_or(key).to_string())
}

/// Serde's words are Rust's ("expected u32"); an operator reads these instead.
pub fn for_operators(message: &str) -> String {
    let kinds = [
        ("u8", "a whole number from 0 to 255"),
        ("u16", "a whole number from 0 to 65535"),
        ("u32", "a whole number, 0 or more"),
        ("u64", "a whole number, 0 or more"),
        ("usize", "a whole number, 0 or more"),
        ("i64", "a whole number"),
        ("i32", "a whole number"),
        ("f64", "a number"),
        ("f32", "a number"),
        ("a boolean", "true or false"),
        ("a string", "text in quotes"),
        ("a sequence", "a list, like [\"a\", \"b\"]"),
        ("a map", "a table"),
    ];
    let mut out = message.to_string();
    let typed = out.starts_with("invalid type: ") || out.starts_with("invalid value: ");
    if typed && let Some((found, expected)) = out.split_once(", expected ") {
        let expected = kinds
            .iter()
            .find(|(rust, _)| expected == *rust)
            .map_or(expected.to_string(), |(_, words)| words.to_string());
        let found = found
            .replace("invalid type: ", "")
            .replace("invalid value: ", "")
            .replace("string ", "the text ")
            .replace("integer ", "the number ")
            .replace("floating point ", "the number ")
            .replace('`', "");
        out = format!("expected {expected}, found {found}");
    }
    out
}

fn first_line(message: &str) -> String {
    message
        .trim()
        .lines()
        .next()
        .unwrap_or("invalid value")
        .to_string()
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Removes the table entry whose key or value holds `span`. Tables opened by a `[header]`
/// carry only the header's span, not their body's, so every child table is searched.
fn remove_at(table: &mut DeTable<'_>, span: &Range<usize>) -> bool {
    let direct = table
        .iter()
        .find(|(k, v)| {
            contains(&k.span(), span)
                || (!matches!(v.get_ref(), DeValue::Table(_)) && contains(&v.span(), span))
        })
        .map(|(k, _)| k.get_ref().to_string());
    if let Some(key) = direct {
        let value = table.get_mut(key.as_str()).expect("key found above");
        if !(contains(&value.span(), span) && remove_in_value(value, span)) {
            table.remove(key.as_str());
        }
        return true;
    }
    let keys: Vec<String> = table.iter().map(|(k, _)| k.get_ref().to_string()).collect();
    keys.iter()
        .any(|k| remove_in_value(table.get_mut(k.as_str()).expect("listed above"), span))
}

fn remove_in_value(value: &mut Spanned<DeValue<'_>>, span: &Range<usize>) -> bool {
    match value.get_mut() {
        DeValue::Table(t) => remove_at(t, span),
        DeValue::Array(items) => items
            .iter_mut()
            .any(|item| matches!(item.get_ref(), DeValue::Table(_)) && remove_in_value(item, span)),
        _ => false,
    }
}
