//! Reports for the shell, as pure values: `status` (the screen's judgement, text or JSON,
//! and its fleet sample) and the incident `timeline`.

pub mod status;
pub mod status_fleet;
pub mod timeline;
