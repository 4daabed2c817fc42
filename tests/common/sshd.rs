//! A real OpenSSH sshd on a free loopback port, with a throwaway host key and a client key
//! of its own, logging in as a non-root user (sshd refuses to signal root sessions).
//! How and why: docs/TESTING.md.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;

use super::servers::{free_port, wait_until};

pub const USER: &str = "chavion-sshtest";

pub struct SshServer {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

fn keygen(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "chavion-test", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen must be installed (scripts/test installs openssh-server)");
    assert!(ok.success());
}

fn ensure_user() {
    static USER_ONCE: Once = Once::new();
    USER_ONCE.call_once(|| {
        let _ = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", USER])
            .stderr(Stdio::null())
            .status();
        // A useradd'ed account is locked, and sshd with UsePAM no refuses locked accounts.
        let _ = Command::new("usermod").args(["-p", "*", USER]).status();
        let _ = std::fs::create_dir_all("/run/sshd");
    });
}

impl SshServer {
    pub fn start(tag: &str) -> SshServer {
        ensure_user();
        let dir = std::env::temp_dir().join(format!("chavion-sshd-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // sshd reads authorized_keys as the user: the directory must be open to it.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        keygen(&dir.join("host_ed25519"));
        keygen(&dir.join("client"));
        keygen(&dir.join("stranger"));
        std::fs::copy(dir.join("client.pub"), dir.join("authorized_keys")).unwrap();
        std::fs::set_permissions(
            dir.join("authorized_keys"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let mut s = SshServer {
            port: free_port(),
            dir,
            child: None,
        };
        std::fs::write(s.known_hosts(), s.known_line()).unwrap();
        s.restart();
        s
    }

    pub fn restart(&mut self) {
        self.kill();
        let cfg = self.dir.join("sshd_config");
        std::fs::write(
            &cfg,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\n{ecdsa}PidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPubkeyAuthentication yes\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel DEBUG\n",
                port = self.port,
                d = self.dir.display(),
                ecdsa = if self.dir.join("host_ecdsa").exists() {
                    format!("HostKey {}/host_ecdsa\n", self.dir.display())
                } else {
                    String::new()
                }
            ),
        )
        .unwrap();
        let log = std::fs::File::create(self.dir.join("sshd.log")).unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sshd must be installed (scripts/test installs openssh-server)");
        self.child = Some(child);
        let log = self.dir.join("sshd.log");
        let want = format!("Server listening on 127.0.0.1 port {}", self.port);
        wait_until("sshd", 10, || {
            std::fs::read_to_string(&log).is_ok_and(|t| t.contains(&want))
        });
    }

    /// Gives the host a new key, as a rebuilt (or impersonated) host would have.
    pub fn new_host_key(&mut self) {
        keygen(&self.dir.join("host_ed25519"));
        self.restart();
    }

    /// Gives the host an ECDSA key beside its ed25519 one, as most hosts have; returns the
    /// known_hosts line for it.
    pub fn add_ecdsa_host_key(&mut self) -> String {
        let path = self.dir.join("host_ecdsa");
        let _ = std::fs::remove_file(&path);
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(ok.success());
        self.restart();
        self.line_for("host_ecdsa.pub")
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// The known_hosts line for the host key it has now.
    pub fn known_line(&self) -> String {
        self.line_for("host_ed25519.pub")
    }

    /// The known_hosts line for the public key in `file`.
    fn line_for(&self, file: &str) -> String {
        let public = std::fs::read_to_string(self.dir.join(file)).unwrap();
        let mut parts = public.split_whitespace();
        format!(
            "[127.0.0.1]:{} {} {}\n",
            self.port,
            parts.next().unwrap(),
            parts.next().unwrap()
        )
    }

    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client")
    }

    /// A key the server does not know.
    pub fn stranger_key(&self) -> PathBuf {
        self.dir.join("stranger")
    }

    /// `[executor]` config for this server as host `test`, with the given runbooks (TOML).
    pub fn executor_toml(&self, identity: &Path, runbooks: &str) -> String {
        self.executor_toml_as(USER, identity, runbooks)
    }

    /// The same, logging in as `user` (root, to see how OpenSSH treats root sessions).
    pub fn executor_toml_as(&self, user: &str, identity: &Path, runbooks: &str) -> String {
        format!(
            "[executor]\nkill_grace_secs = 1\nconnect_timeout_secs = 10\n\n[[executor.hosts]]\n\
             name = \"test\"\naddress = \"127.0.0.1\"\nport = {}\nuser = \"{user}\"\n\
             identity = \"{}\"\nagent = false\nknown_hosts = \"{}\"\n\n{runbooks}",
            self.port,
            identity.display(),
            self.known_hosts().display()
        )
    }

    /// Whether a process of the test user whose command line contains `pattern` is alive.
    pub fn process_alive(&self, pattern: &str) -> bool {
        Command::new("pgrep")
            .args(["-u", USER, "-f", pattern])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default();
            eprintln!("sshd log:\n{log}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
