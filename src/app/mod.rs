//! The app: `State`, the pure `update` that changes it, and the `Effect`s it asks for.
//! `model` is the platform as known; `views` each own their keys and commands; `dialogs`
//! are what a view opens over itself; `reports` are the shell's pure values. `state`
//! composes the model with the UI's state (`ui_state`); `update` routes every event and
//! key; `common` and `effect` are what all of them share.

#[cfg(test)]
mod alerts_tests;
pub mod common;
pub mod dialogs;
pub mod effect;
#[cfg(test)]
mod fleet_tests;
pub mod model;
pub mod reports;
pub mod state;
pub mod ui_state;
pub mod update;
#[cfg(test)]
mod update_tests;
pub mod views;

pub use common::Outcome;
pub use effect::Effect;
pub use state::State;
pub use update::update;
