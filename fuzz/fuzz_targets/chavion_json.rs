//! What Chavion's agents publish: state reports and activity lines, and audit broadcasts.
#![no_main]
use chavion_tui::platform::route::{Channels, route};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ch = Channels::new("chavion:agents:*", "chavion:activity", 0, "", true);
    let mut out = Vec::new();
    for channel in ["chavion:agents:thinking", "chavion:activity", "chavion:audit"] {
        route(&ch, channel, data, &mut out);
    }
    let _ = chavion_tui::platform::decode::agent(data);
    let _ = chavion_tui::platform::decode::activity(data);
    let _ = chavion_tui::platform::decode::audit(data);
});
