//! The app: `State`, the pure `update` that changes it, and the `Effect`s it asks for.

pub mod activity;
pub mod alert_book;
pub mod alerts;
#[cfg(test)]
mod alerts_tests;
pub mod alerts_view;
pub mod commands;
pub mod common;
pub mod confirmation;
pub mod containers;
pub mod contexts_view;
pub mod dashboard;
pub mod docker_book;
pub mod draft;
pub mod effect;
pub mod exec;
pub mod failures;
pub mod fleet;
pub mod fleet_orders;
#[cfg(test)]
mod fleet_tests;
pub mod forms;
pub mod gone;
pub mod health;
pub mod history;
pub mod issues_view;
pub mod line_edit;
pub mod links_view;
pub mod logview;
pub mod lost;
pub mod plant;
pub mod protect;
pub mod retries;
pub mod runs;
pub mod state;
pub mod status;
pub mod status_fleet;
pub mod tally;
pub mod task_ring;
pub mod tasks;
pub mod tasks_view;
pub mod timeline;
pub mod ui_state;
pub mod update;
#[cfg(test)]
mod update_tests;
pub mod views;
pub mod watch;
pub mod workers_view;

pub use common::Outcome;
pub use effect::Effect;
pub use state::State;
pub use update::update;
