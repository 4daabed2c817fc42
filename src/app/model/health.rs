//! What each port-map entry means for the operator: a label and a severity. Shared by the
//! Ports pane and `chavion-tui status`, so the screen and cron never disagree.

use crate::app::state::{PortRow, PortStatus, State};
use crate::config::model::Expect;
use crate::platform::exposure::Finding;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    /// Degraded: an optional entry down, a certificate under the warning threshold.
    Warn,
    /// A required entry down, an internal service exposed, a certificate about to expire.
    Alarm,
}

pub fn exposed<'a>(state: &'a State, row: &PortRow) -> Option<&'a Finding> {
    state.exposure.iter().find(|f| {
        matches!(f, Finding::Exposed { listener, .. } if listener.port == row.port) && row.internal
    })
}

pub fn port(state: &State, row: &PortRow) -> (String, Severity) {
    if exposed(state, row).is_some() {
        return ("EXPOSED".into(), Severity::Alarm);
    }
    match (&row.status, row.expect) {
        (PortStatus::Unknown, _) => ("unknown".into(), Severity::Ok),
        (PortStatus::Up { .. }, Expect::Down) => ("EXPOSED".into(), Severity::Alarm),
        (PortStatus::Up { .. }, _) => match row.cert_days {
            Some(d) if d < state.policy.cert_alarm_days => (format!("CERT {d}d"), Severity::Alarm),
            Some(d) if d < state.policy.cert_warn_days => (format!("cert {d}d"), Severity::Warn),
            _ => ("up".into(), Severity::Ok),
        },
        (PortStatus::Down { .. }, Expect::Down) => ("closed".into(), Severity::Ok),
        (PortStatus::Down { .. }, Expect::Optional) => ("absent".into(), Severity::Warn),
        (PortStatus::Down { .. }, Expect::Required) => ("DOWN".into(), Severity::Alarm),
    }
}
