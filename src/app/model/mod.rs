//! The platform as the control room knows it, and what applies the world's reports to it:
//! agents, workers and tasks (`fleet`), links, probes, exposure and queue samples
//! (`infrastructure`), containers, the activity ring, alert rules and their state, retry
//! chains, tasks gone without an event, this control room's own dispatches, history saves,
//! the Executor's runs, the counts /metrics serves. Pure: nothing here reads a clock or
//! does I/O, and nothing here imports a view, a dialog or a report.

pub mod activity;
pub mod alert_book;
pub mod alerts;
pub mod containers;
pub mod draft;
pub mod failures;
pub mod fleet;
pub mod gone;
pub mod health;
pub mod history;
pub mod infrastructure;
pub mod input_error;
pub mod lost;
pub mod own_dispatches;
pub mod retries;
pub mod runs;
pub mod task_counts;
pub mod task_ring;
pub mod tasks;
pub mod times;
