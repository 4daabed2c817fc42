//! What /metrics counts that the state does not keep: every task event ever taken, by task
//! name, worker host and queue (celery-exporter's labels), and task runtimes as a
//! histogram. Counted in `update`, only while a /metrics endpoint is served (`on`), so a
//! control room that serves none pays nothing on the feed path.
//!
//! Labels are bounded: task names, hosts, queues and exception types only (never task ids),
//! each capped, and the number of series capped. What a cap turns away is counted in
//! `dropped`, which /metrics reports, rather than growing without end.

use std::collections::HashMap;

use crate::platform::model::TaskEventKind;

/// Prometheus's default buckets, which celery-exporter's runtime histogram uses too.
pub const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Distinct values kept per label, and series kept in all. The worst case these allow is
/// what one scrape costs (docs/PERFORMANCE.md: a few MB, rendered once a second at most):
/// a series is 24 lines (7 counters and the 17 of the histogram).
pub const MAX_NAMES: usize = 1_000;
pub const MAX_HOSTS: usize = 1_000;
pub const MAX_QUEUES: usize = 200;
pub const MAX_EXCEPTIONS: usize = 200;
pub const MAX_SERIES: usize = 1_000;
/// A label value's length, in characters; longer ones are cut (with the sanitizer's marker).
pub const MAX_LABEL_CHARS: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Counting at all: a /metrics endpoint is served.
    pub on: bool,
    pub names: Interner,
    pub hosts: Interner,
    pub queues: Interner,
    pub exceptions: Interner,
    /// By (name, host, queue).
    pub series: HashMap<(u32, u32, u32), Series>,
    /// task-failed by (name, host, queue, exception type).
    pub failed: HashMap<(u32, u32, u32, u32), u64>,
    /// Events not counted because a cap was reached.
    pub dropped: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Series {
    /// By `TaskEventKind as usize`.
    pub events: [u64; 8],
    /// Runtimes of the tasks that succeeded: counts per bucket (not cumulative), the last
    /// one above every bound.
    pub buckets: [u64; BUCKETS.len() + 1],
    pub runtime_sum: f64,
    pub runtime_count: u64,
    /// Sent → started waits (ETA and countdown delays left out), as `buckets`.
    pub wait_buckets: [u64; BUCKETS.len() + 1],
    pub wait_sum: f64,
    pub wait_count: u64,
}

/// Strings to small ids, up to a cap.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    ids: HashMap<Box<str>, u32>,
    pub values: Vec<Box<str>>,
}

impl Interner {
    fn id(&mut self, value: &str, cap: usize) -> Option<u32> {
        if let Some(id) = self.ids.get(value) {
            return Some(*id);
        }
        if self.values.len() >= cap {
            return None;
        }
        let id = self.values.len() as u32;
        // Keyed by the whole value, shown cut: two long names that share a beginning stay
        // two series, each bounded.
        self.values.push(label_value(value).into());
        self.ids.insert(value.into(), id);
        Some(id)
    }

    /// Distinct values kept.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn get(&self, id: u32) -> &str {
        &self.values[id as usize]
    }
}

/// One task event's labels, as celery-exporter gives them.
pub struct Labels<'a> {
    pub name: Option<&'a str>,
    /// The event's hostname (`worker@host`): the label is the host part.
    pub hostname: &'a str,
    pub queue: Option<&'a str>,
    /// On task-failed: the exception's repr (`ValueError('boom')`).
    pub exception: Option<&'a str>,
    /// On task-succeeded: seconds.
    pub runtime: Option<f64>,
    /// On task-started: seconds it waited in its queue since it was sent (or since its ETA,
    /// when it had one), if its sent event was seen.
    pub wait: Option<f64>,
}

impl Tally {
    /// Counts one task event.
    pub fn count(&mut self, kind: TaskEventKind, l: Labels) {
        let ids = (
            self.names.id(l.name.unwrap_or("unknown"), MAX_NAMES),
            self.hosts.id(host_of(l.hostname), MAX_HOSTS),
            self.queues.id(l.queue.unwrap_or("celery"), MAX_QUEUES),
        );
        let (Some(n), Some(h), Some(q)) = ids else {
            self.dropped += 1;
            return;
        };
        let room = self.series.len() < MAX_SERIES;
        // As celery-exporter does: a new series has its failures at 0 (exception ""), so the
        // community dashboards' success-rate panels have data for a task that never failed.
        if room
            && !self.series.contains_key(&(n, h, q))
            && self.failed.len() < MAX_SERIES
            && let Some(e) = self.exceptions.id("", MAX_EXCEPTIONS)
        {
            self.failed.entry((n, h, q, e)).or_insert(0);
        }
        let Some(series) = (match self.series.get_mut(&(n, h, q)) {
            Some(s) => Some(s),
            None if room => Some(self.series.entry((n, h, q)).or_default()),
            None => None,
        }) else {
            self.dropped += 1;
            return;
        };
        series.events[kind as usize] += 1;
        match kind {
            TaskEventKind::Started => {
                if let Some(w) = l.wait.filter(|w| w.is_finite() && *w >= 0.0) {
                    let i = BUCKETS.partition_point(|b| *b < w);
                    series.wait_buckets[i] += 1;
                    series.wait_sum += w;
                    series.wait_count += 1;
                }
            }
            TaskEventKind::Succeeded => {
                if let Some(r) = l.runtime.filter(|r| r.is_finite() && *r >= 0.0) {
                    let i = BUCKETS.partition_point(|b| *b < r);
                    series.buckets[i] += 1;
                    series.runtime_sum += r;
                    series.runtime_count += 1;
                }
            }
            TaskEventKind::Failed => {
                let e = exception_type(l.exception.unwrap_or(""));
                match self.exceptions.id(e, MAX_EXCEPTIONS) {
                    Some(e) if self.failed.len() < MAX_SERIES => {
                        *self.failed.entry((n, h, q, e)).or_default() += 1;
                    }
                    _ => self.dropped += 1,
                }
            }
            _ => {}
        }
    }
}

/// A label's value as shown: cleaned, and past `MAX_LABEL_CHARS` cut with a checksum of
/// the whole, so two long names that share a beginning stay two series (Prometheus refuses a
/// scrape with a series twice).
pub fn label_value(value: &str) -> String {
    let clean = crate::sanitize::clean(value, usize::MAX);
    if clean.chars().count() <= MAX_LABEL_CHARS {
        return clean;
    }
    let head: String = clean.chars().take(MAX_LABEL_CHARS - 10).collect();
    format!("{head}…{:08x}", crc32fast::hash(value.as_bytes()))
}

impl Tally {
    /// The worst a hostile publisher can make it: three times as many task names as the cap,
    /// every label far past its length, failures under as many exception types. For the
    /// tests and the benchmark of the exposition at the caps.
    pub fn fill_to_the_caps(&mut self) {
        let long = "x".repeat(500);
        for i in 0..MAX_NAMES * 3 {
            let (name, host) = (format!("{long}.task{i}"), format!("w@{long}{}", i % 7));
            let exception = format!("E{i}{long}('x')");
            for kind in [
                TaskEventKind::Received,
                TaskEventKind::Started,
                TaskEventKind::Failed,
                TaskEventKind::Succeeded,
            ] {
                self.count(
                    kind,
                    Labels {
                        name: Some(&name),
                        hostname: &host,
                        queue: Some(&long),
                        exception: Some(&exception),
                        runtime: Some(0.1),
                        wait: Some(0.2),
                    },
                );
            }
        }
    }
}

/// The host part of Celery's `name@host` (what celery-exporter labels `hostname`, so the
/// community dashboards work unchanged).
pub fn host_of(hostname: &str) -> &str {
    hostname.split_once('@').map_or(hostname, |(_, host)| host)
}

/// `ValueError('boom')` → `ValueError`; anything else → `UnknownException`, as
/// celery-exporter labels it.
pub fn exception_type(repr: &str) -> &str {
    let word = repr
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map_or("", |end| &repr[..end]);
    if !word.is_empty() && repr[word.len()..].starts_with('(') {
        word
    } else {
        "UnknownException"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels<'a>(name: &'a str, host: &'a str) -> Labels<'a> {
        Labels {
            name: Some(name),
            hostname: host,
            queue: None,
            exception: None,
            runtime: None,
            wait: None,
        }
    }

    #[test]
    fn exception_types_and_hosts_are_read_as_celery_exporter_reads_them() {
        assert_eq!(exception_type("ValueError('boom')"), "ValueError");
        assert_eq!(
            exception_type("SoftTimeLimitExceeded()"),
            "SoftTimeLimitExceeded"
        );
        assert_eq!(exception_type("boom"), "UnknownException");
        assert_eq!(exception_type(""), "UnknownException");
        assert_eq!(host_of("thinking@vm-1"), "vm-1");
        assert_eq!(host_of("vm-1"), "vm-1");
    }

    #[test]
    fn runtimes_fall_in_their_bucket_and_failures_by_exception_type() {
        let mut t = Tally::default();
        for r in [0.004, 0.005, 0.3, 99.0] {
            t.count(
                TaskEventKind::Succeeded,
                Labels {
                    runtime: Some(r),
                    wait: None,
                    ..labels("a.b", "w@h")
                },
            );
        }
        t.count(
            TaskEventKind::Failed,
            Labels {
                exception: Some("KeyError('x')"),
                ..labels("a.b", "w@h")
            },
        );
        let s = &t.series[&(0, 0, 0)];
        assert_eq!(s.events[TaskEventKind::Succeeded as usize], 4);
        assert_eq!(
            s.buckets[0], 2,
            "0.004 and 0.005 (le=0.005 holds its bound)"
        );
        assert_eq!(s.buckets[7], 1, "0.3 in le=0.5");
        assert_eq!(s.buckets[14], 1, "99 above every bound");
        assert_eq!(s.runtime_count, 4);
        // Its zero series first (exception "", as celery-exporter makes it), then KeyError.
        assert_eq!((t.exceptions.get(0), t.failed[&(0, 0, 0, 0)]), ("", 0));
        assert_eq!(
            (t.exceptions.get(1), t.failed[&(0, 0, 0, 1)]),
            ("KeyError", 1)
        );
        assert_eq!(t.queues.get(0), "celery", "no queue said: celery's default");
    }

    #[test]
    fn a_label_explosion_is_capped_and_counted() {
        let mut t = Tally::default();
        for i in 0..MAX_NAMES + 25 {
            t.count(TaskEventKind::Received, labels(&format!("task.{i}"), "w@h"));
        }
        assert_eq!(t.names.values.len(), MAX_NAMES);
        assert_eq!(t.series.len(), MAX_NAMES);
        assert_eq!(t.dropped, 25);
        // Names already known still count.
        t.count(TaskEventKind::Started, labels("task.0", "w@h"));
        assert_eq!(t.dropped, 25);
    }
}
