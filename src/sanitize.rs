//! Remote text is untrusted: anything that came from outside passes through here before it
//! can reach the screen, so a hostile payload cannot move the cursor, retitle the window,
//! rewrite the clipboard (OSC 52) or smuggle bytes the terminal would interpret.

/// Strips escape sequences and control characters, and cuts the result to `max_chars`
/// characters, appending a marker that says how much was cut.
pub fn clean(input: &str, max_chars: usize) -> String {
    clean_inner(input, max_chars, false)
}

/// Like [`clean`] but keeps line breaks, for text shown as a block (a traceback, say).
pub fn clean_lines(input: &str, max_chars: usize) -> String {
    clean_inner(input, max_chars, true)
}

fn clean_inner(input: &str, max_chars: usize, keep_newlines: bool) -> String {
    // The common case, by far: short printable ASCII has nothing to strip or cut.
    if input.len() <= max_chars && input.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return input.to_string();
    }
    let mut out = String::with_capacity(input.len().min(max_chars + 16));
    let mut chars = input.chars().peekable();
    let mut kept = 0usize;
    let mut dropped = 0usize;
    while let Some(c) = chars.next() {
        let piece = match c {
            '\u{1b}' => {
                skip_escape(&mut chars);
                continue;
            }
            // C1 CSI / OSC / DCS introducers in their 8-bit form open the same sequences.
            '\u{9b}' => {
                skip_csi_body(&mut chars);
                continue;
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => {
                skip_string_body(&mut chars);
                continue;
            }
            '\n' if keep_newlines => '\n',
            '\r' if keep_newlines => continue,
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() => continue,
            // Bidi overrides can reorder what the operator reads (Trojan Source).
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => continue,
            c => c,
        };
        if kept < max_chars {
            out.push(piece);
            kept += 1;
        } else {
            dropped += 1;
        }
    }
    if dropped > 0 {
        out.push_str(&format!("… [{dropped} more chars cut]"));
    }
    out
}

/// Cuts already-clean text to `max_chars`, counting what an earlier cut dropped too: a line
/// cut once on the way in and again on the way to the screen says how much is missing in
/// all, not only the second time.
pub fn recut(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let (body, earlier) = match text.rsplit_once("… [") {
        Some((body, tail)) => match tail
            .strip_suffix(" more chars cut]")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => (body, n),
            None => (text, 0),
        },
        None => (text, 0),
    };
    let total = body.chars().count();
    if total <= max_chars {
        return text.to_string();
    }
    let kept: String = body.chars().take(max_chars).collect();
    format!("{kept}… [{} more chars cut]", total - max_chars + earlier)
}

/// Cuts already-clean `s` to `width` characters (a screen cell each), marking the cut with `…`.
pub fn fit(s: &str, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Lossy UTF-8 decode followed by [`clean`]: for raw payload bytes shown in warnings.
pub fn clean_bytes(input: &[u8], max_chars: usize) -> String {
    // Decode only a prefix: a 1 MB payload must not cost a 1 MB String to show 200 chars.
    let window = &input[..input.len().min(max_chars.saturating_mul(4) + 64)];
    let mut text = clean(&String::from_utf8_lossy(window), max_chars);
    if window.len() < input.len() && !text.ends_with(']') {
        text.push_str(&format!(
            "… [{} more bytes cut]",
            input.len() - window.len()
        ));
    }
    text
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_csi_body(chars),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string_body(chars),
        // Two-byte sequences such as ESC ( B take one more intermediate character.
        Some('(') | Some(')') | Some('*') | Some('+') | Some('#') | Some('%') => {
            chars.next();
        }
        _ => {}
    }
}

fn skip_csi_body(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Parameters and intermediates are 0x20..=0x3f; the final byte is 0x40..=0x7e.
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            break;
        }
    }
}

fn skip_string_body(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // OSC/DCS strings end at BEL, ST (ESC \) or the 8-bit ST.
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

/// JSON text made safe to print on a terminal: serde_json escapes C0 controls but writes
/// C1 controls (U+009B opens a CSI on many terminals), bidi overrides and line separators
/// as they are. Outside strings JSON is ASCII, so each of those can only be inside a string,
/// where `\uXXXX` means the same character: the document is unchanged for a parser.
pub fn json_safe(json: String) -> String {
    let risky = |c: char| {
        matches!(c, '\u{7f}'..='\u{9f}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
            | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !json.chars().any(risky) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if risky(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Pretty JSON of `v`, safe to print (`json_safe`).
pub fn json_pretty(v: &impl serde::Serialize) -> String {
    json_safe(serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")))
}

/// Compact JSON of `v`, safe to print (`json_safe`).
pub fn json_line(v: &impl serde::Serialize) -> String {
    json_safe(serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")))
}

/// Markdown table cell text: cleaned to one line, and the characters that would end the cell
/// or open markup (`|`, `<`, `>`, `&`, `` ` ``, `\`) escaped.
pub fn markdown_cell(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for c in clean(text, max_chars).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            '`' => out.push_str("\\`"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// Slack message text: `&`, `<` and `>` escaped, as Slack's formatting docs ask, so a
/// task's name cannot write `<!channel>` or a masked link `<https://…|Click here>`.
pub fn slack_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces the password in a URL such as `redis://:secret@host` with `***`, so that
/// secrets never reach the screen or the log. kombu's Sentinel form holds several URLs,
/// `;` between them, each of which may carry a password, and the sentinels' own password
/// rides in the query.
pub fn redact_url(url: &str) -> String {
    url.split(';').map(redact_one).collect::<Vec<_>>().join(";")
}

/// A query parameter whose value is a secret: its name holds password, secret or token
/// (`password`, `sslpassword`, `sentinel_password`, `access_token`, …).
fn secret_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "token"]
        .iter()
        .any(|w| name.contains(w))
}

fn redact_one(url: &str) -> String {
    let url = match url.split_once('?') {
        Some((base, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, format!("#{f}")),
                None => (query, String::new()),
            };
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if secret_parameter(k) => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{base}?{}{fragment}", params.join("&"))
        }
        None => url.to_string(),
    };
    let url = url.as_str();
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let redacted = match userinfo.find(':') {
        Some(colon) => format!("{}:***", &userinfo[..colon]),
        None if userinfo.is_empty() => String::new(),
        // A lone userinfo is a token for some schemes; treat it as a secret too.
        None => "***".to_string(),
    };
    format!("{}://{}@{}", &url[..scheme_end], redacted, &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi_osc_and_c0_controls() {
        let hostile = "ok\u{1b}[2J\u{1b}]0;pwned\u{07}\u{1b}]52;c;ZXZpbA==\u{1b}\\ done\u{8}\u{0}";
        assert_eq!(clean(hostile, 100), "ok done");
    }

    #[test]
    fn strips_eight_bit_csi_and_bidi_overrides() {
        assert_eq!(clean("a\u{9b}31mb\u{202e}c", 100), "abc");
    }

    #[test]
    fn clean_lines_keeps_line_breaks_only() {
        assert_eq!(clean_lines("a\r\nb\u{1b}[1mc\n", 100), "a\nbc\n");
    }

    #[test]
    fn cuts_with_a_marker() {
        assert_eq!(clean("abcdef", 3), "abc… [3 more chars cut]");
        // Cut twice, the count is of everything missing (issue 14: a 5 007-character line).
        let once = clean(&"x".repeat(5_007), 2_000);
        assert!(once.ends_with("… [3007 more chars cut]"), "{once}");
        let twice = recut(&once, 1_990);
        assert!(twice.ends_with("… [3017 more chars cut]"), "{twice}");
        assert_eq!(
            recut(&once, 2_000),
            once,
            "a marker does not count against the limit"
        );
    }

    #[test]
    fn clean_bytes_survives_invalid_utf8_and_huge_input() {
        let mut raw = vec![0xff, 0xfe, b'x'];
        raw.extend(std::iter::repeat_n(b'y', 1_000_000));
        let shown = clean_bytes(&raw, 20);
        assert!(shown.starts_with("\u{fffd}\u{fffd}xyyyy"), "{shown}");
        assert!(shown.contains("cut"), "{shown}");
        assert!(shown.chars().count() < 80);
    }

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("redis://:hunter2@10.0.0.1:6379/0"),
            "redis://:***@10.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("postgres://app:pw@db/x?sslmode=require"),
            "postgres://app:***@db/x?sslmode=require"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(redact_url("rediss://tok@h"), "rediss://***@h");
        assert_eq!(
            redact_url("sentinel://:a@h1:1/0;sentinel://:b@h2:2?master_name=m&sentinel_password=c"),
            "sentinel://:***@h1:1/0;sentinel://:***@h2:2?master_name=m&sentinel_password=***"
        );
    }

    #[test]
    fn printed_json_escapes_c1_and_bidi_and_parses_the_same() {
        let v = serde_json::json!({"who": "a\u{9b}31m\u{202e}b\u{2028}c\\\u{85}"});
        let out = json_line(&v);
        assert!(out.is_ascii(), "{out}");
        assert!(out.contains("\\u009b") && out.contains("\\u202e"), "{out}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), v);
    }

    #[test]
    fn slack_and_markdown_escape_their_markup() {
        let name = "x <!channel> <https://evil.example/login|Click to re-authenticate> & y";
        assert_eq!(
            slack_text(name),
            "x &lt;!channel&gt; &lt;https://evil.example/login|Click to re-authenticate&gt; &amp; y"
        );
        assert_eq!(
            markdown_cell("a | b\nc <i>`d`", 100),
            "a \\| b c &lt;i&gt;\\`d\\`"
        );
    }

    /// A cheap stand-in for the fuzz target (fuzz/fuzz_targets/escapers.rs), run with every
    /// test: random text with the characters that matter, the same properties.
    #[test]
    fn the_escapers_hold_for_random_text() {
        let alphabet: Vec<char> =
            "<>|&`\\\n\r\"' a\u{1b}[]\u{7}\u{9b}\u{9d}\u{202e}\u{2066}\u{2028}é"
                .chars()
                .collect();
        let mut rng = fastrand::Rng::with_seed(26);
        for _ in 0..20_000 {
            let text: String = (0..rng.usize(0..40))
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let slack = slack_text(&text);
            assert!(!slack.contains('<') && !slack.contains('>'), "{text:?}");
            let cell = markdown_cell(&text, 200);
            assert!(!cell.contains(['\n', '\r']), "{text:?}");
            assert!(
                !cell.replace("\\|", "").contains('|'),
                "{text:?} → {cell:?}"
            );
            let v = serde_json::json!({ "v": text });
            let out = json_line(&v);
            assert!(
                !out.chars()
                    .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
                "{out:?}"
            );
            assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), v);
        }
    }

    #[test]
    fn secret_query_parameters_are_redacted_by_name() {
        assert_eq!(
            redact_url("postgres://u:pw@h/db?sslmode=require&sslpassword=hunter2&x=1"),
            "postgres://u:***@h/db?sslmode=require&sslpassword=***&x=1"
        );
        assert_eq!(
            redact_url("https://h/p?access_token=abc#frag"),
            "https://h/p?access_token=***#frag"
        );
        assert_eq!(
            redact_url("redis://h:6379/0?Client_Secret=s"),
            "redis://h:6379/0?Client_Secret=***"
        );
    }
}
