//! The app: `State`, the pure `update` that changes it, and the `Effect`s it asks for.

pub mod activity;
pub mod commands;
pub mod common;
pub mod draft;
pub mod effect;
pub mod exec;
pub mod forms;
pub mod health;
pub mod logview;
pub mod lost;
pub mod state;
pub mod tasks;
pub mod update;
#[cfg(test)]
mod update_tests;
pub mod watch;

pub use common::Outcome;
pub use effect::Effect;
pub use state::State;
pub use update::update;
