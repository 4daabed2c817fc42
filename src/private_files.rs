//! What the control room writes is the operator's alone, as ssh and gpg keep theirs: the
//! audit store holds the task history, the recordings every raw Redis message, the log and
//! the timelines what happened. Directories are made 0700 and files 0600 (the umask, for
//! everything this process creates), and what an older version left readable to others is
//! tightened at start.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// From here on, everything this process (and what it starts) creates is private: 0700
/// directories, 0600 files.
pub fn private_from_now_on() {
    // SAFETY: umask only swaps the process's file-creation mask; it touches no memory.
    unsafe {
        libc::umask(0o077);
    }
}

/// How deep `tighten` goes below each directory (recordings/<platform>/segment is the
/// deepest the control room writes).
const DEPTH: usize = 4;
/// Entries looked at in all, so a huge tree cannot hold the start up.
const ENTRIES: usize = 100_000;

/// Takes group and other permissions away from `dirs` and what is in them (symbolic links
/// are not followed); returns how many files and directories were changed.
pub fn tighten(dirs: &[&Path]) -> usize {
    let mut budget = ENTRIES;
    dirs.iter().map(|d| walk(d, DEPTH, &mut budget)).sum()
}

fn walk(path: &Path, depth: usize, budget: &mut usize) -> usize {
    if *budget == 0 {
        return 0;
    }
    *budget -= 1;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let mode = meta.permissions().mode();
    let mut changed = 0;
    if (meta.is_dir() || meta.is_file()) && mode & 0o077 != 0 {
        let owner_only = std::fs::Permissions::from_mode(mode & !0o077);
        if std::fs::set_permissions(path, owner_only).is_ok() {
            changed += 1;
        }
    }
    if meta.is_dir()
        && depth > 0
        && let Ok(entries) = std::fs::read_dir(path)
    {
        for e in entries.flatten() {
            changed += walk(&e.path(), depth - 1, budget);
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_readable_tree_is_made_private_and_a_private_one_is_left_alone() {
        let dir = std::env::temp_dir().join(format!("chavion-private-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("recordings/p")).unwrap();
        std::fs::write(dir.join("audit.db"), b"x").unwrap();
        std::fs::write(dir.join("recordings/p/seg"), b"x").unwrap();
        let set = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        set(&dir, 0o755);
        set(&dir.join("recordings"), 0o755);
        set(&dir.join("recordings/p"), 0o755);
        set(&dir.join("audit.db"), 0o644);
        set(&dir.join("recordings/p/seg"), 0o644);
        assert_eq!(tighten(&[&dir]), 5);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("recordings/p")), 0o700);
        assert_eq!(mode(&dir.join("audit.db")), 0o600);
        assert_eq!(mode(&dir.join("recordings/p/seg")), 0o600);
        assert_eq!(tighten(&[&dir]), 0, "already private: nothing to say");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
