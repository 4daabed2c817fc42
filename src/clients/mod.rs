//! Every outside system the control room talks to, reached through one client each: open
//! in one place, with its errors said in words. The feeds (long-running tasks), the
//! actions and the shell all use these.

pub mod broker;
pub mod docker;
pub mod probe;
pub mod socketio;
