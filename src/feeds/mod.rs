//! Feeds turn the outside world into events: long-running tasks that own their
//! connections. What they decode with, and the nouns they produce, are in `platform`.

pub mod demo;
pub mod demo_docker;
pub mod docker;
pub mod exposure;
pub mod journal;
pub mod logfiles;
pub mod probes;
pub mod prometheus;
pub mod redis;
pub mod remote_logs;
pub mod socketio;
