//! `tail -F` against real files: appended to, rotated (renamed, and a new file created),
//! truncated, and new files matching a glob.

mod common;

use chavion_tui::feeds::logfiles::{Tailed, Tailer};
use chavion_tui::platform::model::Level;
use common::{Sandbox, append};

fn lines(out: &[Tailed]) -> Vec<String> {
    out.iter()
        .filter_map(|t| match t {
            Tailed::Line { text, .. } => Some(text.clone()),
            Tailed::Notice { .. } => None,
        })
        .collect()
}

fn notices(out: &[Tailed]) -> Vec<String> {
    out.iter()
        .filter_map(|t| match t {
            Tailed::Notice { text, .. } => Some(text.clone()),
            Tailed::Line { .. } => None,
        })
        .collect()
}

#[test]
fn follows_appends_rotation_and_truncation_like_tail_f() {
    let sb = Sandbox::new("tail-f");
    let path = sb.path("celery.log");
    append(&path, "old line before start\n");
    let mut t = Tailer::new(&path, None, false, 500);
    // Like tail: what was there before start is not replayed.
    assert!(t.poll().is_empty());

    append(
        &path,
        "[2026-11-24 10:00:00,001: INFO/MainProcess] one\npart",
    );
    let out = t.poll();
    assert_eq!(
        lines(&out),
        ["[2026-11-24 10:00:00,001: INFO/MainProcess] one"]
    );
    // A half-written line waits for its end.
    append(
        &path,
        "ial\n[2026-11-24 10:00:01,000: ERROR/MainProcess] \x1b[31mboom\x1b[0m\n",
    );
    let out = t.poll();
    assert_eq!(
        lines(&out),
        [
            "partial",
            "[2026-11-24 10:00:01,000: ERROR/MainProcess] boom"
        ]
    );
    let Tailed::Line { source, level, .. } = &out[1] else {
        unreachable!()
    };
    assert_eq!((source.as_str(), *level), ("celery", Level::Error));

    // Rotation as logrotate does it: the last lines go to the old file, it is renamed, and
    // a new file takes the name.
    append(&path, "last words of the old file\n");
    std::fs::rename(&path, sb.path("celery.log.1")).unwrap();
    append(
        &sb.path("celery.log.1"),
        "written after the rename, before the new file\n",
    );
    append(&path, "first line of the new file\n");
    let out = t.poll();
    assert_eq!(
        lines(&out),
        [
            "last words of the old file",
            "written after the rename, before the new file",
            "first line of the new file"
        ]
    );
    assert!(notices(&out)[0].contains("was rotated"), "{out:?}");

    // Truncation in place (copytruncate, or `> file`).
    append(&path, "more\n");
    assert_eq!(lines(&t.poll()), ["more"]);
    std::fs::write(&path, "").unwrap();
    append(&path, "after truncation\n");
    let out = t.poll();
    assert!(notices(&out)[0].contains("was truncated"), "{out:?}");
    assert_eq!(lines(&out), ["after truncation"]);

    // Deleted: said once; recreated: followed again from its start.
    std::fs::remove_file(&path).unwrap();
    let out = t.poll();
    assert!(notices(&out)[0].contains("has gone"), "{out:?}");
    assert!(t.poll().is_empty(), "said once, not every poll");
    append(&path, "back again\n");
    assert_eq!(lines(&t.poll()), ["back again"]);
}

#[test]
fn a_glob_picks_up_new_files_and_reads_them_whole() {
    let sb = Sandbox::new("tail-glob");
    std::fs::create_dir_all(sb.path("logs")).unwrap();
    append(&sb.path("logs/web.log"), "before start\n");
    append(&sb.path("logs/ignored.txt"), "not a log\n");
    let mut t = Tailer::new(&sb.path("logs/*.log"), None, false, 500);
    assert!(t.poll().is_empty());
    append(&sb.path("logs/worker.log"), "worker says hi\n");
    append(&sb.path("logs/web.log"), "web says hi\n");
    append(&sb.path("logs/ignored.txt"), "still not a log\n");
    let out = t.poll();
    assert!(
        notices(&out)
            .iter()
            .any(|n| n.contains("new file") && n.contains("worker.log"))
    );
    let mut by_source: Vec<(String, String)> = out
        .iter()
        .filter_map(|t| match t {
            Tailed::Line { source, text, .. } => Some((source.clone(), text.clone())),
            _ => None,
        })
        .collect();
    by_source.sort();
    assert_eq!(
        by_source,
        [
            ("web".to_string(), "web says hi".to_string()),
            ("worker".to_string(), "worker says hi".to_string())
        ]
    );
}

#[test]
fn an_overlong_line_is_cut_with_a_marker() {
    let sb = Sandbox::new("tail-long");
    let path = sb.path("flask.log");
    append(&path, "");
    let mut t = Tailer::new(&path, Some("chavion.com".into()), false, 100);
    t.poll();
    append(&path, &format!("{}\n", "x".repeat(5000)));
    let out = t.poll();
    let l = &lines(&out)[0];
    assert!(l.starts_with(&"x".repeat(100)), "{l}");
    assert!(l.ends_with("[4900 more chars cut]"), "{l}");
    let Tailed::Line { source, .. } = &out[0] else {
        unreachable!()
    };
    assert_eq!(source, "chavion.com");
}

/// Issue 14: truncated and written past the old read position between two polls: the size
/// alone does not show it, the content does. Nothing of the new content is lost, and the
/// truncation is said.
#[test]
fn a_truncation_followed_by_a_longer_write_loses_nothing() {
    let sb = Sandbox::new("tail-race");
    let path = sb.path("web.log");
    append(&path, "");
    let mut t = Tailer::new(&path, None, false, 500);
    t.poll();
    append(&path, "short\n");
    assert_eq!(lines(&t.poll()), ["short"]);
    // Truncate, then at once more than was there before.
    std::fs::write(&path, "").unwrap();
    append(&path, "first line after the truncation\nsecond\n");
    let out = t.poll();
    assert!(
        notices(&out).iter().any(|n| n.contains("was truncated")),
        "{out:?}"
    );
    assert_eq!(lines(&out), ["first line after the truncation", "second"]);
    // Appends after it are read once, from where it was read to.
    append(&path, "third\n");
    assert_eq!(lines(&t.poll()), ["third"]);
}

/// Issue 14: a file's name is text from outside: what reaches the source column and the
/// notices is cleaned.
#[test]
fn hostile_file_names_are_cleaned_before_they_are_shown() {
    let sb = Sandbox::new("tail-names");
    std::fs::create_dir_all(sb.path("logs")).unwrap();
    let mut t = Tailer::new(&sb.path("logs/*.log"), None, false, 500);
    t.poll();
    let evil = "x\u{1b}]0;owned\u{7}\u{1b}[2J.log";
    append(&sb.path(&format!("logs/{evil}")), "hello\n");
    let out = t.poll();
    for item in &out {
        let (Tailed::Line { source, text, .. } | Tailed::Notice { source, text, .. }) = item;
        assert!(
            !source.contains('\u{1b}') && !text.contains('\u{1b}'),
            "{item:?}"
        );
        assert!(
            !source.contains('\u{7}') && !text.contains('\u{7}'),
            "{item:?}"
        );
    }
    assert!(lines(&out).contains(&"hello".to_string()), "{out:?}");
}
