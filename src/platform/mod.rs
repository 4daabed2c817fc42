//! The platform's nouns and the codecs between bytes and nouns, apart from all I/O: the
//! tasks, workers, agents and containers as the control room knows them (`model`), and
//! what reads and writes their wire forms: kombu and Celery events and Chavion's JSON
//! (`decode`, `wire`, `route`), the pidbox's questions and answers (`pidbox`), Python
//! reprs (`pyrepr`), the Docker Engine's JSON (`containers`), and reconnect waits
//! (`backoff`). Nothing here opens a connection or reads a clock; the feeds, the actions
//! and the shell use it, and the fuzz targets feed it hostile bytes.

pub mod backoff;
pub mod containers;
pub mod decode;
#[cfg(test)]
mod decode_tests;
pub mod exposure;
pub mod links;
pub mod model;
pub mod pidbox;
#[cfg(test)]
mod pidbox_tests;
pub mod pyrepr;
pub mod route;
pub mod socketio;
pub mod wire;
