//! A private dockerd (Debian's docker.io) on its own socket, data root and exec root, with
//! an image imported from busybox-static (`mini:1`), so nothing is pulled from a registry.
//! The docker CLI is used here only, to set the scene; the control room speaks the Engine
//! API. Every container is removed and the daemon stopped on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Dockerd {
    pub dir: PathBuf,
    child: Option<Child>,
    /// The socket's group (dockerd --group), so another account may use it.
    group: Option<String>,
}

impl Dockerd {
    pub fn start(tag: &str) -> Dockerd {
        Self::start_for(tag, None)
    }

    /// A daemon whose socket belongs to `group` too (the SSH test's account reads it).
    pub fn start_for(tag: &str, group: Option<&str>) -> Dockerd {
        let dir =
            std::env::temp_dir().join(format!("chavion-dockerd-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut d = Dockerd {
            dir,
            child: None,
            group: group.map(str::to_string),
        };
        d.restart();
        let root = d.dir.join("rootfs");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::copy("/usr/bin/busybox", root.join("bin/busybox"))
            .expect("busybox-static must be installed (scripts/test installs it)");
        for c in ["sh", "sleep", "echo", "cat", "date"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(c)).unwrap();
        }
        let tarball = d.dir.join("rootfs.tar");
        let tar = Command::new("tar")
            .args([
                "-C",
                root.to_str().unwrap(),
                "-cf",
                tarball.to_str().unwrap(),
                ".",
            ])
            .status()
            .unwrap();
        assert!(tar.success(), "tar");
        d.run(&["import", tarball.to_str().unwrap(), "mini:1"]);
        d
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    pub fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// Starts (again) on the same socket and data root.
    pub fn restart(&mut self) {
        let d = &self.dir;
        let child = Command::new("dockerd")
            .arg("--host")
            .arg(format!("unix://{}", d.join("docker.sock").display()))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("dockerd.pid"))
            .args([
                "--storage-driver",
                "vfs",
                "--iptables=false",
                "--bridge=none",
                "--ip-masq=false",
            ])
            .args(self.group.iter().flat_map(|g| ["--group", g.as_str()]))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("dockerd.log")).unwrap())
            .spawn()
            .expect("dockerd must be installed (scripts/test installs docker.io)");
        self.child = Some(child);
        super::servers::wait_until("dockerd", 60, || {
            self.cli(&["version", "--format", "{{.Server.Version}}"])
                .status
                .success()
        });
    }

    /// Stops the daemon with SIGTERM (KILL after 20 s), as `systemctl stop docker` would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while c.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(self.dir.join("dockerd.pid"));
        // Its containerd shim and children go with it only when asked.
        let _ = Command::new("pkill")
            .args(["-f", &format!("{}", self.dir.join("exec").display())])
            .status();
    }

    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", self.url())
            .output()
            .unwrap()
    }

    /// The docker CLI's answer, trimmed; panics on failure.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A container of the `chavion` Compose project, service `service`.
    pub fn service(&self, name: &str, service: &str, extra: &[&str], script: &str) -> String {
        let mut args = vec![
            "run".to_string(),
            "-d".into(),
            "--name".into(),
            name.into(),
            "--network".into(),
            "none".into(),
            "--label".into(),
            "com.docker.compose.project=chavion".into(),
            "--label".into(),
            format!("com.docker.compose.service={service}"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend([
            "mini:1".into(),
            "/bin/sh".into(),
            "-c".into(),
            script.into(),
        ]);
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        self.run(&refs)
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if self.child.is_some() {
            let ids = self.run_quiet(&["ps", "-aq"]);
            for id in ids.split_whitespace() {
                let _ = self.cli(&["rm", "-f", id]);
            }
        }
        self.kill();
        // dockerd mounts its data root (and its netns under the exec root) over itself:
        // lazily unmounted, so nothing is left behind in /tmp.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "mount | awk '{{print $3}}' | grep '^{}' | sort -r | xargs -r umount -l",
                self.dir.display()
            ))
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Dockerd {
    fn run_quiet(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cli(args).stdout).to_string()
    }
}
