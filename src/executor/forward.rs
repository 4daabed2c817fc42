//! A remote unix socket (the Docker Engine's, on a VM) reached over the executor's SSH:
//! OpenSSH's streamlocal forwarding (`direct-streamlocal@openssh.com`), as `ssh -L
//! local.sock:/var/run/docker.sock` does. A local socket of our own is bound at once, in a
//! directory only this user can enter; each connection to it becomes one channel to the
//! remote socket. The SSH session is opened on the first connection and opened again when
//! it breaks; host keys are checked as strictly as for every run. Nothing is installed on
//! the remote host.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::plan::HostTarget;
use super::ssh::{Session, SshOptions, connect};

/// Binds `local` now (so a client can be pointed at it) and forwards each connection to
/// `remote` on `host`.
pub fn spawn(
    host: HostTarget,
    opts: SshOptions,
    remote: String,
    local: &Path,
) -> std::io::Result<JoinHandle<()>> {
    if let Some(dir) = local.parent() {
        std::fs::create_dir_all(dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let _ = std::fs::remove_file(local);
    let listener = std::os::unix::net::UnixListener::bind(local)?;
    listener.set_nonblocking(true)?;
    let session: Arc<Mutex<Option<Arc<Session>>>> = Arc::default();
    Ok(tokio::spawn(async move {
        let Ok(listener) = tokio::net::UnixListener::from_std(listener) else {
            return;
        };
        while let Ok((mut conn, _)) = listener.accept().await {
            let (host, opts, remote, session) =
                (host.clone(), opts, remote.clone(), session.clone());
            tokio::spawn(async move {
                let channel = match open(&host, &opts, &remote, &session).await {
                    Ok(c) => c,
                    Err(why) => {
                        // The client sees its connection closed; the reason goes to the log.
                        tracing::warn!("docker over ssh to {}: {why}", host.login());
                        return;
                    }
                };
                let mut stream = channel.into_stream();
                let _ = tokio::io::copy_bidirectional(&mut conn, &mut stream).await;
            });
        }
    }))
}

/// A channel to the remote socket, on the session (opened, or opened again).
async fn open(
    host: &HostTarget,
    opts: &SshOptions,
    remote: &str,
    session: &Mutex<Option<Arc<Session>>>,
) -> Result<russh::Channel<russh::client::Msg>, String> {
    let mut held = session.lock().await;
    for _ in 0..2 {
        let s = match held.as_ref() {
            Some(s) if !s.is_closed() => s.clone(),
            _ => {
                let s = Arc::new(connect(host, opts).await.map_err(|e| e.to_string())?);
                *held = Some(s.clone());
                s
            }
        };
        match s.channel_open_direct_streamlocal(remote).await {
            Ok(c) => return Ok(c),
            // A session that died quietly: once more on a new one.
            Err(e) if s.is_closed() => {
                tracing::debug!("ssh session closed under us: {e}");
                *held = None;
            }
            Err(e) => return Err(format!("{remote} could not be opened there: {e}")),
        }
    }
    Err("the SSH session keeps closing".into())
}

/// Where the local end of host `name`'s forwarded socket lives.
pub fn local_socket(runtime_dir: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    runtime_dir.join(format!("docker-{safe}.sock"))
}
