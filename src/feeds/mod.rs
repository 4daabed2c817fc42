//! Feeds turn the outside world into events. Decoding is pure (see `decode`); the tasks
//! that own connections live beside it.

pub mod backoff;
pub mod containers;
pub mod decode;
#[cfg(test)]
mod decode_tests;
pub mod demo;
pub mod demo_docker;
pub mod docker;
pub mod exposure;
pub mod journal;
pub mod logfiles;
pub mod model;
pub mod pidbox;
#[cfg(test)]
mod pidbox_tests;
pub mod probes;
pub mod prometheus;
pub mod pyrepr;
pub mod redis;
pub mod remote_logs;
pub mod route;
pub mod socketio;
pub mod wire;
