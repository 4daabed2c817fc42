//! A connection's health and a port probe's outcome: what every link and probe reports,
//! said in words a person reads.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum LinkHealth {
    Connecting,
    Up,
    /// Up, but not all of it: a namespace refused us, say.
    Degraded {
        why: String,
    },
    Down {
        why: String,
        retry_in: Option<Duration>,
    },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ProbeOutcome {
    /// `cert_days`: for TLS probes, the days left on the server's certificate.
    Up {
        latency: Duration,
        cert_days: Option<i64>,
    },
    Down {
        why: String,
    },
}
