//! Remote text on its way to the screen: escape stripping, line assembly across chunks,
//! journal entries, /proc/net/tcp, and the operator's own filter typed in the log view.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = chavion_tui::sanitize::clean(&text, 80);
    let _ = chavion_tui::sanitize::clean_lines(&text, 80);
    let _ = chavion_tui::sanitize::clean_bytes(data, 80);
    let _ = chavion_tui::sanitize::redact_url(&text);
    let mut lines = chavion_tui::lines::LineSplitter::new(100);
    for chunk in data.chunks(7) {
        let _ = lines.push(chunk);
    }
    let _ = lines.finish();
    let _ = chavion_tui::feeds::journal::decode(data, "unit", 100);
    let _ = chavion_tui::platform::exposure::parse_proc_net_tcp(&text);
    let _ = chavion_tui::app::activity::Filter::parse(&text);
    let _ = chavion_tui::feeds::logfiles::guess_level(&text);
});
