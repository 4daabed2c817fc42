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
    while diags.len() < MAX_ERRORS {
        let de = toml::de::Deserializer::from(root.clone());
        match T::deserialize(de) {
            Ok(value) => {
                parsed = diags.is_empty().then_some(value);
                break;
            }
            Err(e) => {
                diags.push(Diagnostic::at(
                    file,
                    text,
                    e.span(),
                    first_line(e.message()),
                ));
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
