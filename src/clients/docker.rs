//! The Docker Engine, reached through bollard: a client for the configured URL (unix
//! socket, TCP with or without TLS; an ssh:// URL is first resolved to a forwarded local
//! socket), the version agreed with the Engine, the project's containers listed and
//! inspected, and the Engine's errors in words without the URL's secrets.

use bollard::Docker;
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions, LogsOptions};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

use crate::platform::containers::{Container, from_inspect};
use crate::platform::model::FeedItem;

/// How long one request to the Engine may take.
const REQUEST_SECS: u64 = 10;

/// What the client and the feed need from the config.
#[derive(Debug, Clone)]
pub struct Settings {
    /// unix:// or tcp:// (an ssh:// URL is resolved to a forwarded local socket first).
    pub url: String,
    pub ca_file: String,
    pub cert_file: String,
    pub key_file: String,
    pub project: String,
    pub follow_logs: Vec<String>,
    pub logs_since: Duration,
}

impl Settings {
    pub fn of(cfg: &crate::config::Config) -> Option<Settings> {
        let d = &cfg.docker;
        let url = d.url.get_ref().trim().to_string();
        (!url.is_empty()).then(|| Settings {
            url,
            ca_file: d.ca_file.clone(),
            cert_file: d.cert_file.clone(),
            key_file: d.key_file.clone(),
            project: d.project.clone(),
            follow_logs: d.follow_logs.clone(),
            logs_since: Duration::from_secs(*d.logs_since_secs.get_ref()),
        })
    }
}

/// Why the Engine was not reached, or refused.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The URL names no Engine (already redacted of secrets).
    #[error("{0} is not a Docker URL: unix://PATH, tcp://HOST:PORT or ssh://HOST")]
    NotAUrl(String),
    /// What the Engine (or the way to it) said, in `words`.
    #[error("{}", words(.0))]
    Engine(#[from] bollard::errors::Error),
}

/// A client for `url`; it connects on its first request. Each request may take up to
/// `REQUEST_SECS`.
pub fn client(s: &Settings) -> Result<Docker, DockerError> {
    client_with(s, REQUEST_SECS)
}

/// A client whose requests may take up to `secs`: a stop or restart waits out the
/// container's own stop timeout (Docker's default is 10 s) before the Engine answers.
pub fn client_with(s: &Settings, secs: u64) -> Result<Docker, DockerError> {
    let v = bollard::API_DEFAULT_VERSION;
    let url = s.url.as_str();
    let made = if let Some(path) = url.strip_prefix("unix://") {
        Docker::connect_with_unix(path, secs, v)
    } else if url.starts_with("tcp://") && !s.ca_file.is_empty() {
        crate::http::ensure_crypto();
        Docker::connect_with_ssl(
            url,
            std::path::Path::new(&s.key_file),
            std::path::Path::new(&s.cert_file),
            std::path::Path::new(&s.ca_file),
            secs,
            v,
        )
    } else if url.starts_with("tcp://") {
        Docker::connect_with_http(url, secs, v)
    } else {
        return Err(DockerError::NotAUrl(crate::sanitize::redact_url(url)));
    };
    Ok(made?)
}

/// Connects and agrees on an API version the Engine speaks (an older Engine refuses a
/// newer client's).
pub async fn connect(s: &Settings) -> Result<Docker, DockerError> {
    connect_with(s, REQUEST_SECS).await
}

/// `connect`, with requests that may take up to `secs`.
pub async fn connect_with(s: &Settings, secs: u64) -> Result<Docker, DockerError> {
    let docker = client_with(s, secs)?;
    docker.ping().await?;
    Ok(docker.negotiate_version().await?)
}

/// An Engine error in words, without its URL's secrets.
pub fn words(e: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    let text = match e {
        E::DockerResponseServerError {
            status_code,
            message,
        } => format!("the Engine said {status_code}: {message}"),
        E::SocketNotFoundError(path) => format!("no socket at {path}"),
        E::RequestTimeoutError => format!("no answer within {REQUEST_SECS} s"),
        other => other.to_string(),
    };
    crate::sanitize::clean(&text, 200)
}

/// `base` filters, narrowed to the configured Compose project when there is one.
pub fn filters(s: &Settings, base: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let mut f: HashMap<String, Vec<String>> = base
        .iter()
        .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
        .collect();
    if !s.project.is_empty() {
        f.insert(
            "label".into(),
            vec![format!(
                "{}={}",
                crate::platform::containers::PROJECT_LABEL,
                s.project
            )],
        );
    }
    f
}

/// Every container of the project (or of the Engine), inspected.
pub async fn list(s: &Settings, docker: &Docker) -> Result<Vec<Container>, DockerError> {
    let filters = filters(s, &[]);
    let summaries = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await?;
    let mut out = Vec::with_capacity(summaries.len());
    for c in summaries {
        let Some(id) = c.id else { continue };
        if let Ok(i) = docker
            .inspect_container(&id, None::<InspectContainerOptions>)
            .await
        {
            out.push(from_inspect(&i));
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub async fn list_running(s: &Settings, docker: &Docker) -> Result<Vec<String>, DockerError> {
    let filters = filters(s, &[("status", "running")]);
    Ok(docker
        .list_containers(Some(ListContainersOptions {
            filters: Some(filters),
            ..Default::default()
        }))
        .await?
        .into_iter()
        .filter_map(|c| c.id)
        .collect())
}

/// A batch of lines on its way; true while someone listens.
pub type Handed = std::pin::Pin<Box<dyn Future<Output = bool> + Send>>;

/// Follows one container's stdout and stderr as activity lines, each batch handed on (`hand_on` says false when no one listens), source `source`,
/// from `since` ago; across its restarts: when the stream ends (the container stopped), it
/// waits for the container to run again and goes on from there.
pub async fn follow_logs(
    docker: Docker,
    id: String,
    source: String,
    since: Duration,
    mut hand_on: impl FnMut(Vec<FeedItem>) -> Handed,
) {
    let mut from = chrono::Utc::now().timestamp() - since.as_secs() as i64;
    let mut partial: HashMap<bool, crate::lines::LineSplitter> = HashMap::new();
    loop {
        let mut stream = docker.logs(
            &id,
            Some(LogsOptions {
                follow: true,
                stdout: true,
                stderr: true,
                since: from as i32,
                ..Default::default()
            }),
        );
        while let Some(item) = stream.next().await {
            let Ok(out) = item else { break };
            let (err, bytes) = match out {
                bollard::container::LogOutput::StdErr { message } => (true, message),
                bollard::container::LogOutput::StdOut { message }
                | bollard::container::LogOutput::Console { message } => (false, message),
                bollard::container::LogOutput::StdIn { .. } => continue,
            };
            let lines = partial
                .entry(err)
                .or_insert_with(|| crate::lines::LineSplitter::new(2000));
            let items: Vec<FeedItem> = lines
                .push(&bytes)
                .into_iter()
                .map(|text| log_item(&source, err, text))
                .collect();
            if !items.is_empty() && !hand_on(items).await {
                return;
            }
        }
        from = chrono::Utc::now().timestamp();
        // Stopped (or the Engine went away): wait until it runs again, or is gone.
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if !hand_on(Vec::new()).await {
                return;
            }
            match docker
                .inspect_container(&id, None::<InspectContainerOptions>)
                .await
            {
                Ok(c) if c.state.as_ref().and_then(|s| s.running) == Some(true) => break,
                Ok(_) => continue,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {
                    return;
                }
                Err(_) => continue,
            }
        }
    }
}

/// One log line as activity: stderr marked, and a warning.
pub fn log_item(source: &str, stderr: bool, text: String) -> crate::platform::model::FeedItem {
    use crate::platform::model::{ActivityReport, FeedItem, Level};
    FeedItem::Activity(ActivityReport {
        ts: None,
        level: if stderr { Level::Warn } else { Level::Info },
        source: source.to_string(),
        message: if stderr {
            format!("stderr: {text}")
        } else {
            text
        },
        task_id: None,
    })
}
