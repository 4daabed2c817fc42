//! Socket.IO channels: an Engine.IO 4 / Socket.IO 5 client on tokio-tungstenite, fed by the
//! platform's Flask-SocketIO servers. The protocol layer is ours, small and tested: the only
//! Rust Socket.IO crate is dormant and pins an old tungstenite.

pub mod client;
pub mod meaning;

pub use crate::clients::socketio::{Links, endpoint};
