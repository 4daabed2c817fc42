//! What the actions write to files: saved activity lines and timelines, each in a new file
//! of its own (never one overwritten), private to the operator.

use super::Context;

/// The filtered activity, one line each, to a file only the operator can read.
pub(super) fn save_lines(
    path: &std::path::Path,
    lines: &[crate::app::model::activity::LogLine],
    utc: bool,
) -> Result<String, crate::event::Failure> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let (file, path) = create_numbered(path)?;
    let path = path.as_path();
    let mut out = std::io::BufWriter::new(file);
    for l in lines {
        writeln!(out, "{}", crate::app::model::activity::format_line(l, utc))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    out.flush()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

/// Creates `path`, or `name-2.ext`, `name-3.ext`… when it exists: a second save in the same
/// second (or another operator's) never fails and never overwrites. `create_new` makes
/// each try atomic.
pub(super) fn create_numbered(
    path: &std::path::Path,
) -> Result<(std::fs::File, std::path::PathBuf), crate::event::Failure> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    for n in 1..=1000 {
        let candidate = if n == 1 {
            path.to_path_buf()
        } else {
            path.with_file_name(format!("{stem}-{n}{ext}"))
        };
        match std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode_private()
            .open(&candidate)
        {
            Ok(f) => return Ok((f, candidate)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", candidate.display()).into()),
        }
    }
    Err(format!("{}: 1000 files of that name already", path.display()).into())
}

trait PrivateMode {
    fn mode_private(&mut self) -> &mut Self;
}

impl PrivateMode for std::fs::OpenOptions {
    fn mode_private(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

/// Lines read for a timeline at most: a busy hour's worth of state changes and failures.
const TIMELINE_LINES: i64 = 200_000;

/// The timeline between two times from the store: what `timeline` prints and `:timeline`
/// saves.
/// Only `context`'s lines and actions: contexts may share one store.
pub async fn timeline_of(
    store: &crate::store::Store,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    context: &str,
) -> Result<Vec<crate::app::reports::timeline::Entry>, crate::event::Failure> {
    let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
    let lines = store
        .activity_between(from_ms, to_ms, TIMELINE_LINES, context)
        .await
        .map_err(|e| e.to_string())?;
    let mut audit = store
        .audit_since(from_ms)
        .await
        .map_err(|e| e.to_string())?;
    audit.retain(|r| r.context == context);
    let runs = store.runs_since(from_ms).await.map_err(|e| e.to_string())?;
    Ok(crate::app::reports::timeline::build(
        &lines, &audit, &runs, from_ms, to_ms,
    ))
}

/// `:timeline -30m`: the timeline from the store, as Markdown, into the data dir.
pub(super) async fn save_timeline(
    ctx: &Context,
    from_ms: i64,
    to_ms: i64,
) -> Result<String, crate::event::Failure> {
    use chrono::TimeZone;
    let store = ctx
        .store
        .get()
        .await
        .ok_or("no store: the timeline is read from the audit store")?;
    let at = |ms: i64| {
        chrono::Utc
            .timestamp_millis_opt(ms)
            .single()
            .unwrap_or_default()
    };
    let (from, to) = (at(from_ms), at(to_ms));
    let entries = timeline_of(&store, from, to, &ctx.target.context).await?;
    let dir = crate::config::paths::Paths::resolve(None)
        .data_dir
        .join("timelines");
    let path = dir.join(format!("timeline-{}.md", to.format("%Y%m%dT%H%M%SZ")));
    let text = crate::app::reports::timeline::markdown(&entries, from, to);
    let n = entries.len();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(&path, text)?;
        Ok::<_, std::io::Error>(path)
    })
    .await
    .map_err(|e| e.to_string())?
    .map(|p| format!("{n} entries saved to {}", p.display()))
    .map_err(|e| e.to_string())
    .map_err(crate::event::Failure::from)
}
