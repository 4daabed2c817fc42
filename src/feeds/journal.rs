//! systemd units as sources: `journalctl -f -o json -u UNIT`, one JSON object a line.
//! Optional (`[[logs.journal]]`); a unit whose journal cannot be read says so once.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::platform::model::{ActivityReport, FeedItem, Level};

/// One `journalctl -o json` line as an activity line. MESSAGE may be a string, an array of
/// bytes (not UTF-8, or with control characters), or null; the time is the entry's own.
pub fn decode(line: &[u8], unit: &str, max_chars: usize) -> Result<FeedItem, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not journal JSON: {e}"))?;
    let message = match v.get("MESSAGE") {
        Some(Value::String(s)) => crate::sanitize::clean(s, max_chars),
        Some(Value::Array(bytes)) => {
            let raw: Vec<u8> = bytes
                .iter()
                .filter_map(|b| b.as_u64().map(|b| b as u8))
                .collect();
            crate::sanitize::clean_bytes(&raw, max_chars)
        }
        _ => String::new(),
    };
    let level = match v
        .get("PRIORITY")
        .and_then(Value::as_str)
        .and_then(|p| p.parse::<u8>().ok())
    {
        Some(0..=3) => Level::Error,
        Some(4) => Level::Warn,
        Some(7) => Level::Debug,
        _ => Level::Info,
    };
    let ts = v
        .get("__REALTIME_TIMESTAMP")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(DateTime::<Utc>::from_timestamp_micros);
    Ok(FeedItem::Activity(ActivityReport {
        ts,
        level,
        source: unit.trim_end_matches(".service").to_string(),
        message,
        task_id: None,
    }))
}

/// Follows one unit. Restarts journalctl with a pause if it ends; ends when the app has gone.
pub fn spawn(
    unit: String,
    max_chars: usize,
    tx: tokio::sync::mpsc::Sender<crate::event::Event>,
) -> tokio::task::JoinHandle<()> {
    use tokio::io::AsyncBufReadExt;
    tokio::spawn(async move {
        let mut said = None::<String>;
        while !tx.is_closed() {
            let child = tokio::process::Command::new("journalctl")
                .args(["-f", "-o", "json", "-n", "0", "-u", &unit])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn();
            let why = match child {
                Ok(mut child) => {
                    let stdout = child.stdout.take().expect("piped");
                    let mut lines = tokio::io::BufReader::new(stdout).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let item =
                            decode(line.as_bytes(), &unit, max_chars).unwrap_or_else(|reason| {
                                FeedItem::Malformed {
                                    source: format!("journal {unit}"),
                                    reason,
                                    raw: crate::sanitize::clean(&line, 200),
                                }
                            });
                        let ev = crate::event::Event::Feed {
                            at: Utc::now(),
                            item: Box::new(item),
                        };
                        if tx.send(ev).await.is_err() {
                            return;
                        }
                    }
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        use tokio::io::AsyncReadExt;
                        let _ = (&mut e).take(64 * 1024).read_to_string(&mut err).await;
                    }
                    let _ = child.wait().await;
                    format!(
                        "journalctl for {unit} ended: {}",
                        crate::sanitize::clean(err.trim(), 200)
                    )
                }
                Err(e) => format!("cannot run journalctl for {unit}: {e}"),
            };
            if said.as_deref() != Some(why.as_str()) {
                let item = FeedItem::Activity(ActivityReport {
                    ts: None,
                    level: Level::Warn,
                    source: unit.clone(),
                    message: why.clone(),
                    task_id: None,
                });
                let _ = tx
                    .send(crate::event::Event::Feed {
                        at: Utc::now(),
                        item: Box::new(item),
                    })
                    .await;
                said = Some(why);
            }
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(item: FeedItem) -> ActivityReport {
        match item {
            FeedItem::Activity(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn journal_entries_become_activity_lines() {
        // As `journalctl -o json` prints them (fields trimmed).
        let line = br#"{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1795000000123456","PRIORITY":"3","_SYSTEMD_UNIT":"chavion-web.service","SYSLOG_IDENTIFIER":"gunicorn","MESSAGE":"worker timeout \u001b[31m(pid 12)"}"#;
        let a = act(decode(line, "chavion-web.service", 200).unwrap());
        assert_eq!(a.source, "chavion-web");
        assert_eq!(a.level, Level::Error);
        assert_eq!(a.message, "worker timeout (pid 12)");
        assert_eq!(a.ts.unwrap().timestamp_micros(), 1_795_000_000_123_456);
        // Binary messages arrive as byte arrays; PRIORITY 4 is a warning.
        let line = br#"{"PRIORITY":"4","MESSAGE":[104,105,27,91,50,74]}"#;
        let a = act(decode(line, "nginx", 200).unwrap());
        assert_eq!((a.level, a.message.as_str()), (Level::Warn, "hi"));
        assert!(decode(b"not json", "nginx", 200).is_err());
    }
}
