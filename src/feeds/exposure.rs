//! The exposure audit's reading: this machine's listening sockets from /proc/net/tcp and
//! tcp6, with their owners from /proc/*/fd, judged by `platform::exposure`.

use crate::platform::exposure::{Finding, Listener, audit, parse_proc_net_tcp};

/// The audit of this machine's listening sockets against the port map.
pub fn audit_here(mapped: &[(String, u16, bool)]) -> Vec<Finding> {
    audit(&scan(), mapped)
}

/// Reads the machine's listening sockets, with their owners where /proc shows them.
pub fn scan() -> Vec<Listener> {
    let mut all = Vec::new();
    for path in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            all.extend(parse_proc_net_tcp(&text));
        }
    }
    let wanted: std::collections::HashSet<u64> = all.iter().map(|l| l.inode).collect();
    let owners = socket_owners(&wanted);
    for l in &mut all {
        l.owner = owners.get(&l.inode).cloned();
    }
    all.sort_by_key(|l| (l.port, l.addr));
    all.dedup_by_key(|l| (l.port, l.addr));
    all
}

/// socket inode → `name (pid N)`, for the listening sockets `wanted` (so the map is no
/// bigger than the listeners, however many sockets a process holds), for the processes we
/// may look into. A process names itself (`prctl`), so its name is cleaned as it is read.
fn socket_owners(
    wanted: &std::collections::HashSet<u64>,
) -> std::collections::HashMap<u64, String> {
    let mut map = std::collections::HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return map;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        let comm = std::fs::read_to_string(p.path().join("comm"))
            .map(|c| crate::sanitize::clean(c.trim_end_matches('\n'), 32))
            .unwrap_or_default();
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && let Some(inode) = target
                    .to_str()
                    .and_then(|t| t.strip_prefix("socket:["))
                    .and_then(|t| t.strip_suffix(']'))
                    .and_then(|t| t.parse().ok())
                && wanted.contains(&inode)
            {
                map.entry(inode)
                    .or_insert_with(|| format!("{comm} (pid {pid})"));
            }
        }
    }
    map
}
