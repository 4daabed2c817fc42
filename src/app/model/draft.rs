//! What the operator typed for a dispatch (the form, the command line, the shell), checked
//! and turned into the exact request. Pure: the time, the id and the origin come from the
//! caller, so the TUI's preview is the message sent.

use serde_json::Value;

use crate::platform::wire::{TaskRequest, format_v4};

/// Parses the args field: a JSON array (empty means none). Errors name the position.
pub fn parse_args(text: &str) -> Result<Value, crate::app::model::input_error::InputError> {
    parse_json(
        text,
        "args",
        Value::Array(Vec::new()),
        Value::is_array,
        "an array, like [1, \"two\"]",
    )
}

/// Parses the kwargs field: a JSON object (empty means none). Errors name the position.
pub fn parse_kwargs(text: &str) -> Result<Value, crate::app::model::input_error::InputError> {
    parse_json(
        text,
        "kwargs",
        Value::Object(Default::default()),
        Value::is_object,
        "an object, like {\"key\": 1}",
    )
}

fn parse_json(
    text: &str,
    what: &str,
    empty: Value,
    shape: fn(&Value) -> bool,
    expected: &str,
) -> Result<Value, crate::app::model::input_error::InputError> {
    if text.trim().is_empty() {
        return Ok(empty);
    }
    let v: Value = serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg);
        format!(
            "{what}: invalid JSON at line {}, column {}: {msg}",
            e.line(),
            e.column()
        )
    })?;
    if !shape(&v) {
        return Err(format!("{what} must be {expected}").into());
    }
    Ok(v)
}

/// What the operator typed, as the form, the command line and the shell all collect it.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub agent: String,
    pub task: String,
    pub args: String,
    pub kwargs: String,
    pub priority: u8,
    /// Seconds from now; or `eta` as RFC 3339.
    pub countdown: Option<f64>,
    pub eta: Option<String>,
    /// Seconds from now.
    pub expires: Option<f64>,
}

/// An agent as dispatch sees it: its name and the queue its tasks go to.
pub struct AgentQueue {
    pub name: String,
    pub queue: Option<String>,
}

pub fn agent_queues(cfg: &crate::config::Config) -> Vec<AgentQueue> {
    cfg.agents
        .iter()
        .map(|a| AgentQueue {
            name: a.name.get_ref().to_uppercase(),
            queue: a.queues.first().cloned(),
        })
        .collect()
}

/// Checks a draft and builds the exact request: the agent must exist and have a queue, the
/// JSON must parse, the times must make sense. Every error says what. Pure: the time, the
/// id and the origin come from the caller, so the TUI's preview is the message sent.
pub fn request(
    agents: &[AgentQueue],
    d: &Draft,
    now: chrono::DateTime<chrono::Utc>,
    id: String,
    origin: String,
) -> Result<(String, TaskRequest), crate::app::model::input_error::InputError> {
    let agent = agents
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(d.agent.trim()))
        .ok_or_else(|| {
            let names: Vec<_> = agents.iter().map(|a| a.name.as_str()).collect();
            format!(
                "no agent `{}`; agents: {}",
                d.agent.trim(),
                names.join(", ")
            )
        })?;
    let queue = agent
        .queue
        .clone()
        .ok_or_else(|| format!("agent {} has no queue configured", agent.name))?;
    let name = d.task.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err("the task name must be one word, like thinking.plan".into());
    }
    if d.priority > 9 {
        return Err(format!("priority must be 0 to 9, not {}", d.priority).into());
    }
    let secs = |s: f64| chrono::Duration::milliseconds((s * 1000.0) as i64);
    let eta = match (&d.countdown, &d.eta) {
        (Some(_), Some(_)) => return Err("give a countdown or an ETA, not both".into()),
        (Some(c), None) if *c < 0.0 || !c.is_finite() => {
            return Err("countdown must be zero or more seconds".into());
        }
        (Some(c), None) => Some(now + secs(*c)),
        (None, Some(t)) => Some(
            chrono::DateTime::parse_from_rfc3339(t.trim())
                .map_err(|_| format!("ETA `{t}` is not RFC 3339, like 2026-11-24T03:00:00Z"))?
                .with_timezone(&chrono::Utc),
        ),
        (None, None) => None,
    };
    let expires = match d.expires {
        Some(e) if e <= 0.0 || !e.is_finite() => {
            return Err("expiry must be a positive number of seconds".into());
        }
        Some(e) => Some(now + secs(e)),
        None => None,
    };
    if let (Some(eta), Some(exp)) = (eta, expires)
        && exp <= eta
    {
        return Err("the task would expire before it is due to run".into());
    }
    Ok((
        agent.name.clone(),
        TaskRequest {
            id,
            name: name.to_string(),
            queue,
            args: parse_args(&d.args)?,
            kwargs: parse_kwargs(&d.kwargs)?,
            priority: d.priority,
            eta,
            expires,
            origin,
        },
    ))
}

/// A v4-shaped UUID from a seed and a counter: the TUI's ids, derived in the pure `update`
/// from a seed drawn once per run.
pub fn derived_task_id(seed: u64, n: u64) -> String {
    let mix = |mut z: u64| {
        // splitmix64: cheap, and no two counters of one seed collide.
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (a, b) = (
        mix(seed ^ n.wrapping_mul(2)),
        mix(seed ^ n.wrapping_mul(2).wrapping_add(1)),
    );
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    format_v4(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_their_position() {
        assert_eq!(
            parse_args("[1, 2,]").unwrap_err(),
            "args: invalid JSON at line 1, column 7: trailing comma".into()
        );
        assert_eq!(
            parse_kwargs("{\"a\": }").unwrap_err(),
            "kwargs: invalid JSON at line 1, column 7: expected value".into()
        );
        assert_eq!(
            parse_args("{\"a\": 1}").unwrap_err(),
            "args must be an array, like [1, \"two\"]".into()
        );
        assert_eq!(parse_args("  ").unwrap(), serde_json::json!([]));
        assert_eq!(parse_kwargs("").unwrap(), serde_json::json!({}));
        assert_eq!(
            parse_args("[\"x\", {\"y\": 2}]").unwrap(),
            serde_json::json!(["x", {"y": 2}])
        );
    }
}
