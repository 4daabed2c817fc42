//! kombu envelopes on the Celery event channels (task.multi lists included), through the
//! same router the live feed uses, and the result backend's records.
#![no_main]
use chavion_tui::platform::route::{Channels, route};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ch = Channels::new("chavion:agents:*", "chavion:activity", 0, "", true);
    let mut out = Vec::new();
    for channel in ["/0.celeryev/task.multi", "/0.celeryev/worker.heartbeat", "/0.celeryev/task.succeeded"] {
        route(&ch, channel, data, &mut out);
    }
    let _ = chavion_tui::platform::decode::backend_meta("0f0e", data, 1.8e9);
});
