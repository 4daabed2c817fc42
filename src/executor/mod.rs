//! The emergency executor: vetted runbooks run over SSH on the platform's hosts, for when
//! the queue path is broken. Host keys are checked strictly (there is no switch to skip
//! it), output streams back line by line, and a cancel really kills the remote process:
//! TERM, then KILL after a grace period, with `timeout --kill-after` on the remote side as
//! a backstop should the link die first.

pub mod forward;
pub mod known_hosts;

pub mod plan;
pub mod run;
pub mod ssh;

pub use plan::{RunPlan, plan_adhoc, plan_runbook};
pub use run::{Cancel, RunEnd, RunUpdate, Stream, execute};
