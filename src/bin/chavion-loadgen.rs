//! chavion-loadgen: floods a Redis on this machine with what the platform publishes, at a
//! fixed rate for a fixed time, so the control room (and Flower beside it) can be measured.
//!
//! Each "event" is one Celery task event inside a `task.multi` envelope (batches of up to
//! 10, as Celery's event dispatcher sends them), or one Chavion agent state report or
//! activity line (`--mix`). Every message carries its own send time, so a consumer can
//! measure lag. Loopback only, and bounded: at most 500 000 events/s, for at most an hour.

use clap::Parser;
use serde_json::json;
use std::time::{Duration, Instant};

use chavion_tui::platform::wire;

#[derive(Parser)]
#[command(
    version,
    about = "Publishes Celery and Chavion traffic to a local Redis, at a fixed rate"
)]
struct Args {
    /// redis://127.0.0.1:PORT/DB (loopback only).
    #[arg(long, default_value = "redis://127.0.0.1:6379/0")]
    redis: String,
    /// Events per second.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=500_000))]
    rate: u32,
    /// How long.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,
    /// What to send: celery (task lifecycles), chavion (agent states and activity), or both.
    #[arg(long, default_value = "both", value_parser = ["celery", "chavion", "both"])]
    mix: String,
    /// Keep going through Redis restarts (reconnecting), counting what could not be sent,
    /// instead of stopping at the first failure. For the chaos soak.
    #[arg(long)]
    reconnect: bool,
    /// Task events per task.multi envelope.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    batch: u32,
}

const AGENTS: [&str; 5] = ["cognitive", "thinking", "judging", "executing", "evolving"];
const LIFECYCLE: [&str; 3] = ["task-received", "task-started", "task-succeeded"];

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn loopback(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("redis://")
        .ok_or_else(|| format!("{url}: only redis:// URLs on this machine"))?;
    let host_port = rest
        .rsplit('@')
        .next()
        .unwrap_or(rest)
        .split('/')
        .next()
        .unwrap_or("");
    let host = match host_port.rsplit_once(':') {
        Some((h, _)) => h,
        None => host_port,
    };
    match host.trim_matches(['[', ']']) {
        "127.0.0.1" | "localhost" | "::1" => Ok(()),
        other => Err(format!(
            "refusing {other}: chavion-loadgen only publishes to a Redis on loopback"
        )),
    }
}

/// One task's event of `kind` (received, started, succeeded) from an agent's worker.
fn task_event(n: u64, kind: &str, ts: f64) -> serde_json::Value {
    let agent = AGENTS[(n / 3) as usize % AGENTS.len()];
    let mut ev = json!({
        "hostname": format!("{agent}@loadgen"), "utcoffset": 0, "pid": 4000 + (n % 7), "clock": n,
        "uuid": format!("{:08x}-0000-4000-8000-{:012x}", n / 3, n / 3),
        "timestamp": ts, "local_received": ts, "type": kind,
    });
    match kind {
        "task-received" => {
            ev["name"] = json!(format!("{agent}.work"));
            ev["args"] = json!(format!("({},)", n / 3));
            ev["kwargs"] = json!("{}");
            ev["retries"] = json!(0);
        }
        "task-succeeded" => {
            ev["result"] = json!("'ok'");
            ev["runtime"] = json!(0.01);
        }
        _ => {}
    }
    ev
}

// Long, on purpose: a bench binary's whole script, read top to bottom.
fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Err(why) = loopback(&args.redis) {
        eprintln!("chavion-loadgen: {why}");
        return std::process::ExitCode::from(2);
    }
    let client = match redis::Client::open(args.redis.as_str()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "chavion-loadgen: {}: {e}",
                chavion_tui::sanitize::redact_url(&args.redis)
            );
            return std::process::ExitCode::from(1);
        }
    };
    let connect = || client.get_connection_with_timeout(Duration::from_millis(200));
    let mut conn = match connect() {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!(
                "chavion-loadgen: {}: {e}",
                chavion_tui::sanitize::redact_url(&args.redis)
            );
            return std::process::ExitCode::from(1);
        }
    };
    let mut unsent = 0u64;
    let db = args
        .redis
        .rsplit('/')
        .next()
        .and_then(|d| d.parse::<u32>().ok())
        .unwrap_or(0);
    let multi = format!("/{db}.celeryev/task.multi");
    let total = args.rate as u64 * args.seconds;
    let per_tick = (args.rate as u64 / 100).max(1);
    let (celery, chavion) = match args.mix.as_str() {
        "celery" => (true, false),
        "chavion" => (false, true),
        _ => (true, true),
    };
    let start = Instant::now();
    let (mut sent, mut messages, mut task_n, mut receivers) = (0u64, 0u64, 0u64, 0i64);
    let (mut agent_reports, mut activity_lines) = (0u64, 0u64);
    while sent < total {
        // 10 ms ticks: a burst of a hundredth of the rate, pipelined in one round trip.
        let due = start + Duration::from_millis(sent / per_tick * 10);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let n = per_tick.min(total - sent);
        let mut pipe = redis::pipe();
        let mut left = n;
        while left > 0 {
            let ts = now();
            let celery_turn = celery && (!chavion || (sent + n - left).is_multiple_of(2));
            if celery_turn {
                let k = left.min(args.batch as u64);
                let events: Vec<_> = (0..k)
                    .map(|i| task_event(task_n + i, LIFECYCLE[((task_n + i) % 3) as usize], ts))
                    .collect();
                task_n += k;
                let body = wire::kombu_event_envelope(
                    &json!(events),
                    "loadgen@localhost",
                    "task.multi",
                    &format!("lg-{messages}"),
                );
                pipe.cmd("PUBLISH").arg(&multi).arg(body);
                left -= k;
            } else {
                let i = sent + n - left;
                let agent = AGENTS[i as usize % AGENTS.len()];
                let (channel, body) = if i.is_multiple_of(4) {
                    agent_reports += 1;
                    (
                        format!("chavion:agents:{agent}"),
                        wire::agent_json(
                            agent,
                            if i.is_multiple_of(8) { "busy" } else { "idle" },
                            None,
                            "loadgen",
                            "loadgen",
                            ts,
                        ),
                    )
                } else {
                    activity_lines += 1;
                    (
                        "chavion:activity".to_string(),
                        wire::activity_json(
                            "info",
                            agent,
                            &format!("loadgen message {i}"),
                            None,
                            ts,
                        ),
                    )
                };
                pipe.cmd("PUBLISH").arg(channel).arg(body);
                left -= 1;
            }
            messages += 1;
        }
        if conn.is_none() {
            conn = connect().ok();
        }
        let result = match conn.as_mut() {
            Some(c) => pipe.query::<Vec<i64>>(c),
            None => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "not connected",
            ))),
        };
        match result {
            Ok(r) => receivers += r.iter().sum::<i64>(),
            Err(e) if args.reconnect => {
                conn = None;
                unsent += n;
                let _ = e;
            }
            Err(e) => {
                eprintln!("chavion-loadgen: publishing failed after {sent} events: {e}");
                return std::process::ExitCode::from(1);
            }
        }
        sent += n;
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "sent {sent} events in {messages} messages over {took:.2} s ({:.0} events/s); {receivers} deliveries to subscribers",
        sent as f64 / took
    );
    println!(
        "celery task events {task_n}, agent reports {agent_reports}, activity lines {activity_lines}"
    );
    if unsent > 0 {
        println!("not sent while Redis was unreachable: {unsent}");
    }
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_a_target() {
        assert!(loopback("redis://127.0.0.1:6379/0").is_ok());
        assert!(loopback("redis://:pw@localhost:7000").is_ok());
        assert!(loopback("redis://[::1]:6379/0").is_ok());
        assert!(loopback("redis://10.0.0.5:6379/0").is_err());
        assert!(loopback("redis://redis.example.com/0").is_err());
        assert!(loopback("rediss://127.0.0.1:6379").is_err());
    }
}
