//! Engine.IO 4 / Socket.IO 5 frames as a server sends them.
#![no_main]
use chavion_tui::platform::socketio;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = codec::parse_eio(text);
    if let Ok(mut packet) = codec::parse_sio(text) {
        let _ = codec::connect_error(packet.data.as_ref());
        if let Some(v) = packet.data.as_mut() {
            codec::fill_placeholders(v, &[vec![0xde, 0xad], Vec::new()]);
        }
    }
});
