//! The config file: any text gives a config or diagnostics, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (_, diags) = chavion_tui::config::parse_config(text, std::path::Path::new("fuzz.toml"));
    for d in diags {
        let _ = d.to_string();
    }
});
