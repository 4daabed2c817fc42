//! The phase-2 bridge: the platform's Prometheus read for the Metrics pane. Every
//! `every_secs`, each `[[panels]]` query is asked over its range through the HTTP API
//! (`/api/v1/query_range`, 60 steps), and what comes back (or why nothing did) is one
//! `Event::Panels`. The link is `prometheus` in the status bar. Labels and errors from
//! Prometheus are remote text: cleaned here.

use chrono::Utc;
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::event::{Event, LinkHealth, PanelRead, PanelSeries};

/// The link's name, in the status bar.
pub const LINK: &str = "prometheus";
/// Points per sparkline.
const STEPS: u64 = 60;
/// Series drawn per panel at most; a query returning more says how many were left out.
pub const MAX_SERIES: usize = 4;
const TIMEOUT: Duration = Duration::from_secs(10);
const EVERY: u64 = 30;

/// Starts reading the panels, when a Prometheus and panels are configured.
pub fn spawn(cfg: &Config, tx: mpsc::Sender<Event>) -> Option<JoinHandle<()>> {
    let url = cfg
        .prometheus
        .url
        .as_ref()?
        .get_ref()
        .trim_end_matches('/')
        .to_string();
    if cfg.panels.is_empty() {
        return None;
    }
    let panels: Vec<(String, u64)> = cfg
        .panels
        .iter()
        .map(|p| (p.query.get_ref().clone(), *p.range_secs.get_ref()))
        .collect();
    let every = Duration::from_secs(
        cfg.prometheus
            .every_secs
            .as_ref()
            .map_or(EVERY, |e| *e.get_ref()),
    );
    Some(tokio::spawn(async move {
        let client = match crate::http::client(TIMEOUT) {
            Ok(c) => c,
            Err(why) => {
                let _ = tx
                    .send(Event::Link {
                        name: LINK.into(),
                        health: LinkHealth::Down {
                            why: why.to_string(),
                            retry_in: None,
                        },
                    })
                    .await;
                return;
            }
        };
        loop {
            let mut reads = Vec::with_capacity(panels.len());
            for (index, (query, range)) in panels.iter().enumerate() {
                let outcome = query_range(&client, &url, query, *range).await;
                reads.push(PanelRead {
                    index,
                    outcome: outcome.map_err(crate::event::Failure::from),
                });
            }
            let health = match reads.iter().find_map(|r| r.outcome.as_ref().err()) {
                Some(why) if reads.iter().all(|r| r.outcome.is_err()) => LinkHealth::Down {
                    why: why.to_string(),
                    retry_in: Some(every),
                },
                Some(why) => LinkHealth::Degraded {
                    why: why.to_string(),
                },
                None => LinkHealth::Up,
            };
            let link = Event::Link {
                name: LINK.into(),
                health,
            };
            if tx.send(link).await.is_err()
                || tx
                    .send(Event::Panels {
                        at: Utc::now(),
                        reads,
                    })
                    .await
                    .is_err()
            {
                return;
            }
            tokio::time::sleep(every).await;
        }
    }))
}

/// Prometheus's answer to a range query, as far as it is read.
#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    result: Vec<Matrix>,
}

#[derive(Deserialize)]
struct Matrix {
    #[serde(default)]
    metric: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// One panel's query over the last `range` seconds.
pub async fn query_range(
    client: &reqwest::Client,
    url: &str,
    query: &str,
    range: u64,
) -> Result<Vec<PanelSeries>, String> {
    let end = Utc::now().timestamp();
    let start = end - range as i64;
    let step = (range / STEPS).max(1);
    let reply = client
        .get(format!("{url}/api/v1/query_range"))
        .query(&[
            ("query", query.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step.to_string()),
        ])
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} s", TIMEOUT.as_secs())
            } else {
                "could not reach Prometheus".to_string()
            }
        })?;
    let status = reply.status();
    let bytes = crate::http::body_capped(reply, crate::http::MAX_BODY)
        .await
        .map_err(|e| e.to_string())?;
    parse(&bytes, start, step).map_err(|why| {
        if status.is_success() {
            why
        } else {
            format!("HTTP {}: {why}", status.as_u16())
        }
    })
}

/// A `query_range` answer as series of `STEPS + 1` points from `start`, `step` apart; a
/// step with no sample is NaN (a gap).
pub fn parse(bytes: &[u8], start: i64, step: u64) -> Result<Vec<PanelSeries>, String> {
    let answer: Answer = serde_json::from_slice(bytes).map_err(|_| {
        format!(
            "not Prometheus's JSON: {}",
            crate::sanitize::clean_bytes(bytes, 120)
        )
    })?;
    if answer.status != "success" {
        return Err(crate::sanitize::clean(
            answer.error.as_deref().unwrap_or("the query failed"),
            200,
        ));
    }
    let result = answer.data.map(|d| d.result).unwrap_or_default();
    let total = result.len();
    let mut out: Vec<PanelSeries> = result
        .into_iter()
        .take(MAX_SERIES)
        .map(|m| {
            let mut points = vec![f64::NAN; (STEPS + 1) as usize];
            for (ts, v) in &m.values {
                let i = ((*ts as i64 - start) as f64 / step as f64).round();
                if (0.0..points.len() as f64).contains(&i) {
                    points[i as usize] = v.parse().unwrap_or(f64::NAN);
                }
            }
            PanelSeries {
                label: label(&m.metric),
                points,
            }
        })
        .collect();
    if total > MAX_SERIES
        && let Some(last) = out.last_mut()
    {
        last.label
            .push_str(&format!(" (+{} more series not drawn)", total - MAX_SERIES));
    }
    Ok(out)
}

/// `{job="x", instance="y"}` without `__name__`; empty for a sum.
fn label(metric: &std::collections::BTreeMap<String, String>) -> String {
    let parts: Vec<String> = metric
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::sanitize::clean(k, 40),
                crate::sanitize::clean(v, 60)
            )
        })
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_answer_becomes_series_with_gaps_and_clean_labels() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up","job":"cr\u001b[2J"},"values":[[1000,"1"],[1020,"0.5"]]}]}}"#;
        let s = parse(body, 1000, 10).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].label, "job=cr");
        assert_eq!(s[0].points[0], 1.0);
        assert!(s[0].points[1].is_nan(), "no sample at 1010: a gap");
        assert_eq!(s[0].points[2], 0.5);
    }

    #[test]
    fn an_error_or_a_stranger_says_why() {
        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
        assert_eq!(parse(bad, 0, 1).unwrap_err(), "parse error at char 4");
        assert!(parse(b"<html>", 0, 1).unwrap_err().contains("<html>"));
    }
}
