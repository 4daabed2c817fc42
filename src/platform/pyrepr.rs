//! Python literal reprs back into JSON values: a task's `args` and `kwargs` arrive in its
//! events as Python reprs (`(1, 'a', None)`, `{'k': True}`), and a retry rebuilt from them
//! must send the same values. Only literals are accepted (numbers, strings, None, True,
//! False, lists, tuples, dicts with string keys), as `ast.literal_eval` would; anything else,
//! and above all a repr Celery cut off with `...`, is refused in words, never guessed.
//!
//! Hand-written because no maintained crate parses Python literals without a whole Python
//! parser; the grammar is the few productions below.

use serde_json::{Map, Number, Value};

/// Why a repr is not read back: where the parser stopped and what it wanted, or a value
/// that is not a literal JSON can carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReprError {
    /// The text does not follow the grammar (`what`, at character `at`, counted from 1).
    #[error("{what} at character {at}")]
    Syntax { what: String, at: usize },
    #[error("{0:?} is not a number JSON can carry")]
    Number(String),
    #[error(
        "{0:?} is not a literal (only numbers, strings, None, True, False, lists, tuples and dicts are)"
    )]
    NotALiteral(String),
}

/// Parses one literal. A tuple or list becomes a JSON array.
pub fn parse(text: &str) -> Result<Value, ReprError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the value"));
    }
    Ok(v)
}

/// Whether Celery (or this control room) shortened the repr: saferepr ends a cut value with
/// `...`, and our own cleaning ends one with `…`.
pub fn is_cut(text: &str) -> bool {
    text.contains("...") || text.contains('…')
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: u16,
}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: u16 = 64;

impl Parser<'_> {
    fn err(&self, what: &str) -> ReprError {
        ReprError::Syntax {
            what: what.to_string(),
            at: self.i + 1,
        }
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Value, ReprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nested too deep"));
        }
        let v = match self.peek() {
            Some(b'(') => self.sequence(b')', true),
            Some(b'[') => self.sequence(b']', false),
            Some(b'{') => self.dict(),
            Some(b'\'' | b'"') => self.string().map(Value::String),
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() || c == b'.' => self.number(),
            Some(_) => self.word(),
            None => Err(self.err("a value was expected")),
        };
        self.depth -= 1;
        v
    }

    fn sequence(&mut self, close: u8, tuple: bool) -> Result<Value, ReprError> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(Value::Array(items));
            }
            items.push(self.value()?);
            if self.eat(b',') {
                continue;
            }
            if self.eat(close) {
                // `(x)` is x itself in Python, not a tuple.
                return Ok(if tuple && items.len() == 1 {
                    items.pop().expect("one item")
                } else {
                    Value::Array(items)
                });
            }
            return Err(self.err("a comma or a closing bracket was expected"));
        }
    }

    fn dict(&mut self) -> Result<Value, ReprError> {
        self.i += 1;
        let mut map = Map::new();
        loop {
            if self.eat(b'}') {
                return Ok(Value::Object(map));
            }
            let key = match self.value()? {
                Value::String(k) => k,
                other => return Err(self.err(&format!("a dict key {other} is not a string"))),
            };
            if !self.eat(b':') {
                return Err(self.err("a colon was expected"));
            }
            let v = self.value()?;
            map.insert(key, v);
            if !self.eat(b',') && self.peek() != Some(b'}') {
                return Err(self.err("a comma or } was expected"));
            }
        }
    }

    fn string(&mut self) -> Result<String, ReprError> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                _ if c == quote => {
                    return String::from_utf8(out).map_err(|_| self.err("not UTF-8"));
                }
                b'\\' => self.escape(&mut out)?,
                _ => out.push(c),
            }
        }
        Err(self.err("the string never ends"))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), ReprError> {
        let Some(&c) = self.s.get(self.i) else {
            return Err(self.err("the string never ends"));
        };
        self.i += 1;
        let simple = match c {
            b'n' => Some('\n'),
            b't' => Some('\t'),
            b'r' => Some('\r'),
            b'0' => Some('\0'),
            b'\\' | b'\'' | b'"' => Some(c as char),
            _ => None,
        };
        let ch = match (simple, c) {
            (Some(ch), _) => ch,
            (None, b'x') => self.hex(2)?,
            (None, b'u') => self.hex(4)?,
            (None, b'U') => self.hex(8)?,
            _ => return Err(self.err("an unknown escape")),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    fn hex(&mut self, n: usize) -> Result<char, ReprError> {
        let digits = self
            .s
            .get(self.i..self.i + n)
            .and_then(|d| std::str::from_utf8(d).ok())
            .ok_or_else(|| self.err("a short escape"))?;
        self.i += n;
        u32::from_str_radix(digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| self.err("a bad escape"))
    }

    fn number(&mut self) -> Result<Value, ReprError> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || b"+-._".contains(c))
        {
            self.i += 1;
        }
        let text: String = std::str::from_utf8(&self.s[start..self.i])
            .unwrap_or("")
            .replace('_', "");
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Value::Number(n.into()));
        }
        if let Ok(n) = text.parse::<u64>() {
            return Ok(Value::Number(n.into()));
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or(ReprError::Number(text))
    }

    fn word(&mut self) -> Result<Value, ReprError> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.i += 1;
        }
        match &self.s[start..self.i] {
            b"None" => Ok(Value::Null),
            b"True" => Ok(Value::Bool(true)),
            b"False" => Ok(Value::Bool(false)),
            _ => {
                let end = (start + 30).min(self.s.len());
                Err(ReprError::NotALiteral(
                    String::from_utf8_lossy(&self.s[start..end.max(start + 1).min(self.s.len())])
                        .into_owned(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn celery_reprs_come_back_as_the_values_sent() {
        assert_eq!(parse("(1, 2)").unwrap(), json!([1, 2]));
        assert_eq!(parse("(1,)").unwrap(), json!([1]));
        assert_eq!(parse("()").unwrap(), json!([]));
        assert_eq!(parse("[30]").unwrap(), json!([30]));
        assert_eq!(
            parse("{'k': True, \"n\": None, 'f': -1.5e3, 'l': [1, 'a\\'b']}").unwrap(),
            json!({"k": true, "n": null, "f": -1500.0, "l": [1, "a'b"]})
        );
        assert_eq!(parse("'caf\\xe9 \\u2603'").unwrap(), json!("café ☃"));
        assert_eq!(parse("{}").unwrap(), json!({}));
    }

    #[test]
    fn what_is_not_a_literal_is_refused_in_words() {
        for bad in [
            "(1, 2",
            "<object at 0x7f>",
            "datetime.datetime(2026, 1, 1)",
            "{1: 2}",
            "'open",
            "(1 2)",
            "float('nan')",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(&deep).unwrap_err().to_string().contains("deep"));
    }

    #[test]
    fn a_cut_repr_is_recognised() {
        assert!(is_cut("('aaaa...', 2)"));
        assert!(is_cut("(1, 2, 3…"));
        assert!(!is_cut("(1, 2)"));
    }
}
