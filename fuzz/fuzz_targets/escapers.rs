//! The escapers for formats with markup (issue 26): whatever a task's name holds, Slack text
//! has no `<` `>` left to open a mention or a link, a Markdown cell stays one cell on one
//! line, and printed JSON parses to the same value with no raw control or bidi override.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let slack = chavion_tui::sanitize::slack_text(&text);
    assert!(!slack.contains('<') && !slack.contains('>'));
    let cell = chavion_tui::sanitize::markdown_cell(&text, 200);
    assert!(!cell.contains('\n') && !cell.contains('\r'));
    assert!(!cell.replace("\\|", "").contains('|'));
    let value = serde_json::json!({ "v": text });
    let printed = chavion_tui::sanitize::json_line(&value);
    assert!(!printed.chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)));
    let back: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(back, value);
});
