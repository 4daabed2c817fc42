//! Shared helpers for the end-to-end tests: a private tmux server per test, and a private
//! HOME so the real binary never touches the operator's own config, data or logs.

#![allow(dead_code)]

pub mod docker;
pub mod http;
pub mod room;
pub mod servers;
pub mod sshd;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_chavion-tui");

pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn new(tag: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("chavion-e2e-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Sandbox { dir }
    }

    /// `env …` prefix that points every XDG dir into the sandbox.
    pub fn env_prefix(&self) -> String {
        let d = self.dir.display();
        format!(
            "env HOME={d} XDG_CONFIG_HOME={d}/config XDG_DATA_HOME={d}/data XDG_STATE_HOME={d}/state TERM=xterm-256color RUST_BACKTRACE=0"
        )
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The real binary with `args`, its HOME and XDG dirs in the sandbox, not yet started.
    pub fn command(&self, args: &[&str]) -> Command {
        let d = &self.dir;
        let mut c = Command::new(BIN);
        c.args(args)
            .env("HOME", d)
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env_remove("CHAVION_TUI_CONFIG");
        c
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A tmux server of our own (its own socket), killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(tag: &str, width: u16, height: u16, shell_cmd: &str) -> Tmux {
        let socket = format!("chavion-{tag}-{}", std::process::id());
        let t = Tmux { socket };
        let status = t
            .tmux()
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                shell_cmd,
            ])
            .status()
            .expect("tmux must be installed (scripts/test installs it)");
        assert!(status.success(), "tmux new-session failed");
        t
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    pub fn capture(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Any tmux command against this server; its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.tmux().args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn send(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits until `pred` holds for the screen; a bound on waiting, not a measured timing.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("never saw {what}; the screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

/// Runs `args` in tmux through a shell that records the program's pid and, after it exits,
/// prints its exit code and the terminal's modes, then waits.
pub fn run_in_tmux(
    tag: &str,
    sandbox: &Sandbox,
    width: u16,
    height: u16,
    args: &str,
) -> (Tmux, PathBuf) {
    let pidfile = sandbox.path("pid");
    let inner = format!(
        "echo $$ > {}; exec {} {BIN} {args}",
        pidfile.display(),
        sandbox.env_prefix()
    );
    let outer = format!("sh -c '{inner}'; echo EXIT=$?; stty -a; sleep 600");
    (
        Tmux::start(
            tag,
            width,
            height,
            &format!(
                "sh -c \"{}\"",
                outer.replace('"', "\\\"").replace('$', "\\$")
            ),
        ),
        pidfile,
    )
}

/// Appends to a file as a service writing its log would (creating it if need be).
pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

pub fn pid(pidfile: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(pidfile)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid file");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The shell has printed the exit code and the whole of `stty -a` (its last line names
/// the `echo*` flags, so wait for `echoctl`).
pub fn exited(screen: &str) -> bool {
    screen.contains("EXIT=") && screen.contains("echoctl")
}

/// After the program has left: the shell printed its exit code and `stty -a`.
pub fn cooked(screen: &str) -> bool {
    let words: Vec<&str> = screen.split_whitespace().collect();
    words.contains(&"icanon")
        && words.contains(&"echo")
        && !words.contains(&"-icanon")
        && !words.contains(&"-echo")
}

/// A child process killed and reaped when the test ends, however it ends.
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
