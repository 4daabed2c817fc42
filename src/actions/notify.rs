//! Telling a person: an alert that fired or resolved goes to each of its notifiers, a
//! webhook (POST JSON, or Slack's `{"text": …}`) or a local command (the alert as JSON on
//! its stdin), each in a task of its own, with a timeout per attempt and retries spaced
//! 1 s, 2 s, 4 s … apart. Each outcome comes back as `Event::Notified`, for the activity
//! log. A webhook's URL often holds its secret (Slack's does): only its scheme and host are
//! ever said.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc::Sender;

use crate::app::model::alerts::Notice;
use crate::config::model::{Notifier, NotifyFormat};
use crate::event::Event;

/// How long a notifier's notices are gathered before they go: a burst of alerts (a
/// thousand task names failing at once) becomes one page, not a thousand.
pub const COALESCE: Duration = Duration::from_secs(2);
/// Notices held per notifier while gathering; more are counted, not kept.
const HELD: usize = 200;
/// Notifications being sent at once, webhooks and commands together: a storm can start no
/// more processes than this.
pub const AT_ONCE: usize = 4;
/// Notices named one by one in a gathered notification; the rest are counted.
const NAMED: usize = 20;

/// The notices gathering for each notifier, and the bound on sends in flight.
#[derive(Clone)]
pub struct Outbound {
    held: Arc<Mutex<HashMap<String, Held>>>,
    sending: Arc<tokio::sync::Semaphore>,
}

#[derive(Default)]
struct Held {
    notices: Vec<Notice>,
    more: usize,
}

impl Default for Outbound {
    fn default() -> Outbound {
        Outbound {
            held: Default::default(),
            sending: Arc::new(tokio::sync::Semaphore::new(AT_ONCE)),
        }
    }
}

/// Gathers `notice` for each notifier it names; the first of a burst starts the notifier's
/// flush, `COALESCE` later, in a task of its own: a slow webhook delays nobody else. The
/// demo's alerts are simulated: they are never sent.
pub fn spawn(notice: Notice, ctx: &super::Context, tx: Sender<Event>) {
    for name in &notice.to {
        let Some(notifier) = ctx.notifiers.iter().find(|n| n.name.get_ref() == name) else {
            continue;
        };
        if notice.status == "resolved" && !notifier.resolved {
            continue;
        }
        let first = {
            let Ok(mut held) = ctx.outbound.held.lock() else {
                continue;
            };
            let h = held.entry(name.clone()).or_default();
            let first = h.notices.is_empty() && h.more == 0;
            if h.notices.len() < HELD {
                h.notices.push(notice.clone());
            } else {
                h.more += 1;
            }
            first
        };
        if !first {
            continue;
        }
        let (notifier, out, tx) = (notifier.clone(), ctx.outbound.clone(), tx.clone());
        let demo = ctx.gate.demo;
        tokio::spawn(async move {
            tokio::time::sleep(COALESCE).await;
            let via = notifier.name.get_ref().clone();
            let Some(held) = out.held.lock().ok().and_then(|mut h| h.remove(&via)) else {
                return;
            };
            let notice = gathered(held.notices, held.more);
            let outcome = if demo {
                Err("not sent: the demo's alerts are simulated".into())
            } else {
                let Ok(_permit) = out.sending.acquire().await else {
                    return;
                };
                send(&notifier, &notice).await
            };
            let _ = tx.send(Event::Notified { via, outcome }).await;
        });
    }
}

/// One notice standing for several: the first `NAMED` told line by line, the rest counted.
/// A single notice goes as it is.
fn gathered(mut notices: Vec<Notice>, more: usize) -> Notice {
    if notices.len() == 1 && more == 0 {
        return notices.remove(0);
    }
    let n = notices.len() + more;
    let firing = notices.iter().filter(|x| x.status == "firing").count();
    let worst = ["critical", "warning", "info"]
        .into_iter()
        .find(|s| notices.iter().any(|x| x.severity == *s))
        .unwrap_or("info");
    let mut lines: Vec<String> = notices.iter().take(NAMED).map(|x| x.text.clone()).collect();
    if n > NAMED {
        lines.push(format!("… and {} more", n - NAMED));
    }
    let first = &notices[0];
    Notice {
        status: if firing > 0 { "firing" } else { "resolved" },
        rule: format!("{n} alerts"),
        severity: worst,
        subject: format!("{n} alerts ({firing} firing)"),
        detail: lines.join("\n"),
        since: first.since.clone(),
        at: notices.last().map_or_else(String::new, |x| x.at.clone()),
        source: first.source.clone(),
        text: format!("{n} alerts ({firing} firing):\n{}", lines.join("\n")),
        to: first.to.clone(),
    }
}

/// One notifier, with its retries: what was sent where, or why it was not.
pub async fn send(n: &Notifier, notice: &Notice) -> Result<String, crate::event::Failure> {
    let what = format!(
        "{} {} ({})",
        notice.status.to_uppercase(),
        notice.rule,
        notice.subject
    );
    let (place, attempt) = match Way::of(n) {
        Ok(way) => (way.place(), way),
        Err(why) => return Err(format!("{what} not sent: {why}").into()),
    };
    let timeout = Duration::from_secs(*n.timeout_secs.get_ref());
    let attempts = 1 + *n.retries.get_ref();
    let mut last = String::new();
    for i in 0..attempts {
        if i > 0 {
            tokio::time::sleep(backoff(i)).await;
        }
        match attempt.once(n.format, notice, timeout).await {
            Ok(said) => {
                return Ok(format!(
                    "{what} sent to {place}: {said} (attempt {} of {attempts})",
                    i + 1
                ));
            }
            Err(Failure { why, again }) => {
                last = why;
                if !again {
                    return Err(format!("{what} not sent to {place}: {last} (not retried)").into());
                }
            }
        }
    }
    Err(format!("{what} not sent to {place}: {last}, after {attempts} attempt(s)").into())
}

/// 1 s, 2 s, 4 s …, at most 30 s, before attempt `i` (1-based after the first).
fn backoff(i: u32) -> Duration {
    Duration::from_secs(1u64 << (i - 1).min(5)).min(Duration::from_secs(30))
}

/// Where a notifier sends, resolved at send time (`webhook_env` is read then).
enum Way {
    Webhook(String),
    Command(Vec<String>),
}

struct Failure {
    why: String,
    /// Whether another attempt may go better (a timeout, a 5xx, a 429, no connection).
    again: bool,
}

impl Way {
    fn of(n: &Notifier) -> Result<Way, crate::event::Failure> {
        if let Some(url) = &n.webhook {
            return Ok(Way::Webhook(url.get_ref().clone()));
        }
        if let Some(var) = &n.webhook_env {
            let var = var.get_ref();
            return match std::env::var(var) {
                Ok(url) if !url.is_empty() => Ok(Way::Webhook(url)),
                _ => Err(format!("the environment variable {var} is not set").into()),
            };
        }
        match &n.command {
            Some(argv) if !argv.get_ref().is_empty() => Ok(Way::Command(argv.get_ref().clone())),
            _ => Err("it has neither a webhook nor a command".into()),
        }
    }

    /// How the activity log names it: never a webhook's path or query, where secrets live.
    fn place(&self) -> String {
        match self {
            Way::Webhook(url) => redact_webhook(url),
            Way::Command(argv) => crate::sanitize::clean(&argv[0], 120),
        }
    }

    async fn once(
        &self,
        format: NotifyFormat,
        notice: &Notice,
        timeout: Duration,
    ) -> Result<String, Failure> {
        match self {
            Way::Webhook(url) => post(url, &body(format, notice), timeout).await,
            Way::Command(argv) => run(argv, notice, timeout).await,
        }
    }
}

/// The webhook's body: the notice itself, or Slack's one `text` field.
pub fn body(format: NotifyFormat, notice: &Notice) -> Vec<u8> {
    let value = match format {
        NotifyFormat::Json => serde_json::to_value(notice).unwrap_or_default(),
        NotifyFormat::Slack => {
            let mark = match (notice.status, notice.severity) {
                ("resolved", _) => ":white_check_mark:",
                (_, "critical") => ":red_circle:",
                (_, "warning") => ":warning:",
                _ => ":information_source:",
            };
            // Slack reads `<…>` as a mention or a link: escaped, a task's name stays text.
            let text = crate::sanitize::slack_text(&format!("{} ({})", notice.text, notice.source));
            serde_json::json!({ "text": format!("{mark} {text}") })
        }
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

async fn post(url: &str, body: &[u8], timeout: Duration) -> Result<String, Failure> {
    let client = crate::http::client(timeout).map_err(|why| Failure {
        why: why.to_string(),
        again: false,
    })?;
    let reply = client
        .post(url)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("chavion-tui/", env!("CARGO_PKG_VERSION")),
        )
        .body(body.to_vec())
        .send()
        .await;
    match reply {
        Ok(r) if r.status().is_success() => Ok(format!("HTTP {}", r.status().as_u16())),
        Ok(r) => {
            let s = r.status();
            Err(Failure {
                why: format!("HTTP {s}"),
                again: s.is_server_error() || s.as_u16() == 429,
            })
        }
        Err(e) => Err(Failure {
            why: if e.is_timeout() {
                format!("no answer within {} s", timeout.as_secs())
            } else if e.is_connect() {
                "could not connect".into()
            } else {
                "the request failed".into()
            },
            again: true,
        }),
    }
}

/// Runs the command without a shell, the notice as JSON on its stdin; exit 0 is sent.
async fn run(argv: &[String], notice: &Notice, timeout: Duration) -> Result<String, Failure> {
    let fail = |why: String| Failure { why, again: true };
    let mut child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Failure {
            why: format!("could not start: {e}"),
            again: false,
        })?;
    let json = serde_json::to_vec(notice).unwrap_or_default();
    let work = async {
        if let Some(mut stdin) = child.stdin.take() {
            // A command that does not read its stdin is its own business.
            let _ = stdin.write_all(&json).await;
        }
        child.wait_with_output().await
    };
    match tokio::time::timeout(timeout, work).await {
        Err(_) => Err(fail(format!(
            "still running after {} s, killed",
            timeout.as_secs()
        ))),
        Ok(Err(e)) => Err(fail(format!("failed: {e}"))),
        Ok(Ok(out)) if out.status.success() => Ok("exit 0".into()),
        Ok(Ok(out)) => {
            let said = String::from_utf8_lossy(&out.stderr);
            let first = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            Err(fail(format!(
                "{}{}",
                out.status,
                if first.is_empty() {
                    String::new()
                } else {
                    format!(": {}", crate::sanitize::clean(first, 200))
                }
            )))
        }
    }
}

/// A webhook as it may be shown: scheme, host and port; its path and query (where a
/// token lives) become `…`; any user or password is dropped.
pub fn redact_webhook(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = crate::sanitize::clean(u.host_str().unwrap_or("?"), 100);
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if u.path() == "/" && u.query().is_none() {
                ""
            } else {
                "/…"
            };
            format!("{}://{host}{port}{rest}", u.scheme())
        }
        Err(_) => "a webhook URL that does not parse".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_is_shown_without_its_path_query_or_password() {
        assert_eq!(
            redact_webhook("https://hooks.slack.com/services/T000/B000/XXXXsecret"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redact_webhook("http://user:pw@127.0.0.1:9000/hook?token=abc"),
            "http://127.0.0.1:9000/…"
        );
        assert_eq!(
            redact_webhook("http://127.0.0.1:9000/"),
            "http://127.0.0.1:9000"
        );
        assert!(!redact_webhook("not a url with secret").contains("secret"));
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_half_a_minute() {
        let waits: Vec<u64> = (1..=8).map(|i| backoff(i).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn slack_gets_one_text_field_and_json_gets_the_notice() {
        let notice = Notice {
            status: "firing",
            rule: "worker offline".into(),
            severity: "critical",
            subject: "celery@a".into(),
            detail: "no heartbeat for 301 s".into(),
            since: "2026-12-01T10:00:00Z".into(),
            at: "2026-12-01T10:05:01Z".into(),
            source: "chavion-tui@vm".into(),
            text: "FIRING worker offline [critical]: celery@a — no heartbeat for 301 s".into(),
            to: vec!["ops".into()],
        };
        let slack: serde_json::Value =
            serde_json::from_slice(&body(NotifyFormat::Slack, &notice)).unwrap();
        assert_eq!(
            slack,
            serde_json::json!({"text": ":red_circle: FIRING worker offline [critical]: celery@a — no heartbeat for 301 s (chavion-tui@vm)"})
        );
        let json: serde_json::Value =
            serde_json::from_slice(&body(NotifyFormat::Json, &notice)).unwrap();
        assert_eq!(json["status"], "firing");
        assert_eq!(json["subject"], "celery@a");
        assert_eq!(json["since"], "2026-12-01T10:00:00Z");
        // Routing is ours, not the receiver's business.
        assert!(json.get("to").is_none(), "{json}");
    }
}
