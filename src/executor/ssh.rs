//! Connecting and logging in with russh: the host key checked strictly against
//! known_hosts, then the ssh-agent's keys, then key files.

use russh::client;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate, load_secret_key};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::known_hosts;
use super::plan::HostTarget;

#[derive(Debug, Clone, Copy)]
pub struct SshOptions {
    /// TCP connect, key exchange and login, together.
    pub connect_timeout: Duration,
    pub keepalive: Duration,
}

impl SshOptions {
    pub fn from_config(x: &crate::config::model::ExecutorConfig) -> SshOptions {
        SshOptions {
            connect_timeout: Duration::from_secs(*x.connect_timeout_secs.get_ref()),
            keepalive: Duration::from_secs(*x.keepalive_secs.get_ref()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SshError {
    Connect(String),
    HostKey(String),
    Auth(String),
    Session(String),
    Cancelled,
}

impl std::fmt::Display for SshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SshError::Connect(w)
            | SshError::HostKey(w)
            | SshError::Auth(w)
            | SshError::Session(w) => f.write_str(w),
            SshError::Cancelled => f.write_str("cancelled before it started"),
        }
    }
}

pub type Session = client::Handle<Checker>;

/// The client side's one judgement: is this the host we meant?
pub struct Checker {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    refusal: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                self.refuse("host key refused: the host offered a certificate, and only keys listed in known_hosts are trusted".into());
                return Ok(false);
            }
        };
        match known_hosts::check(&self.host, self.port, key, &self.known_hosts) {
            Ok(verdict) => {
                match known_hosts::refusal(&verdict, &self.host, self.port, key, &self.known_hosts)
                {
                    None => Ok(true),
                    Some(why) => {
                        self.refuse(why);
                        Ok(false)
                    }
                }
            }
            Err(why) => {
                self.refuse(format!("host key refused: {why}"));
                Ok(false)
            }
        }
    }
}

impl Checker {
    fn refuse(&self, why: String) {
        tracing::warn!("{why}");
        if let Ok(mut r) = self.refusal.lock() {
            *r = Some(why);
        }
    }
}

pub async fn connect(t: &HostTarget, o: &SshOptions) -> Result<Session, SshError> {
    tokio::time::timeout(o.connect_timeout, connect_and_login(t, o))
        .await
        .unwrap_or_else(|_| {
            Err(SshError::Connect(format!(
                "{} did not answer within {} s",
                t.login(),
                o.connect_timeout.as_secs()
            )))
        })
}

async fn connect_and_login(t: &HostTarget, o: &SshOptions) -> Result<Session, SshError> {
    let mut preferred = russh::Preferred::DEFAULT.clone();
    preferred.key = known_hosts::preferred_algorithms(
        &t.address,
        t.port,
        &t.known_hosts,
        &russh::Preferred::DEFAULT.key,
    )
    .into();
    let config = Arc::new(client::Config {
        keepalive_interval: Some(o.keepalive),
        keepalive_max: 3,
        nodelay: true,
        preferred,
        ..client::Config::default()
    });
    let refusal = Arc::new(Mutex::new(None));
    let checker = Checker {
        host: t.address.clone(),
        port: t.port,
        known_hosts: t.known_hosts.clone(),
        refusal: refusal.clone(),
    };
    let mut session = match client::connect(config, (t.address.as_str(), t.port), checker).await {
        Ok(s) => s,
        Err(e) => {
            if let Some(why) = refusal.lock().ok().and_then(|mut r| r.take()) {
                return Err(SshError::HostKey(why));
            }
            return Err(SshError::Connect(format!(
                "cannot connect to {}: {}",
                t.login(),
                connect_error(&e)
            )));
        }
    };
    login(&mut session, t).await?;
    Ok(session)
}

fn connect_error(e: &russh::Error) -> String {
    match e {
        russh::Error::IO(io) => io.to_string().to_lowercase(),
        other => other.to_string(),
    }
}

/// The agent's keys first, then the key files; the error lists everything offered.
async fn login(session: &mut Session, t: &HostTarget) -> Result<(), SshError> {
    let mut offered: Vec<String> = Vec::new();
    if t.agent && std::env::var_os("SSH_AUTH_SOCK").is_some() {
        match AgentClient::connect_env().await {
            Ok(mut agent) => {
                let ids = agent.request_identities().await.unwrap_or_default();
                if ids.is_empty() {
                    offered.push("ssh-agent (no keys loaded)".into());
                }
                for id in ids {
                    let AgentIdentity::PublicKey { key, comment } = id else {
                        continue;
                    };
                    let hash = rsa_hash(session, key.algorithm().is_rsa()).await;
                    match session
                        .authenticate_publickey_with(&t.user, key, hash, &mut agent)
                        .await
                    {
                        Ok(r) if r.success() => return Ok(()),
                        _ => offered.push(format!("ssh-agent key {comment}")),
                    }
                }
            }
            Err(e) => offered.push(format!("ssh-agent (unreachable: {e})")),
        }
    }
    for path in key_files(t) {
        let key = match load_secret_key(&path, None) {
            Ok(k) => Arc::new(k),
            Err(russh::keys::Error::KeyIsEncrypted) => {
                offered.push(format!(
                    "{} (encrypted: load it into ssh-agent)",
                    path.display()
                ));
                continue;
            }
            Err(e) => {
                offered.push(format!("{} (unreadable: {e})", path.display()));
                continue;
            }
        };
        let hash = rsa_hash(session, key.algorithm().is_rsa()).await;
        match session
            .authenticate_publickey(&t.user, PrivateKeyWithHashAlg::new(key, hash))
            .await
        {
            Ok(r) if r.success() => return Ok(()),
            Ok(_) => offered.push(path.display().to_string()),
            Err(e) => {
                return Err(SshError::Auth(format!(
                    "login to {} failed: {e}",
                    t.login()
                )));
            }
        }
    }
    Err(SshError::Auth(if offered.is_empty() {
        format!(
            "login to {} failed: no key to offer (no ssh-agent, and no identity file exists)",
            t.login()
        )
    } else {
        format!(
            "login to {} refused: the server accepted none of: {}",
            t.login(),
            offered.join("; ")
        )
    }))
}

async fn rsa_hash(session: &Session, is_rsa: bool) -> Option<russh::keys::HashAlg> {
    if !is_rsa {
        return None;
    }
    session
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}

/// The configured identity, or the usual defaults that exist.
fn key_files(t: &HostTarget) -> Vec<PathBuf> {
    match &t.identity {
        Some(p) => vec![p.clone()],
        None => ["id_ed25519", "id_ecdsa", "id_rsa"]
            .iter()
            .map(|n| crate::config::paths::expand_tilde(&format!("~/.ssh/{n}")))
            .filter(|p| p.exists())
            .collect(),
    }
}
