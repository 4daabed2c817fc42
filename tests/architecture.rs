//! The house's rules, checked on the source itself: every module's imports go down the
//! layers written in docs/ARCHITECTURE.md, and no two modules import each other, directly
//! or round about. A `use` that breaks a rule fails here, naming the file and the import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Families whose submodules are nodes of their own (the views of the app, the feeds);
/// every other top-level module is one node.
const SPLIT: &[&str] = &["app", "feeds", "platform"];

/// Layer of each node, bottom first. A node may import nodes of lower layers, and nodes of
/// its own layer only within its own family (app from app, feeds from feeds), acyclically.
const LAYERS: &[(&str, u8)] = &[
    // Pure helpers at the bottom: no I/O, no app.
    ("sanitize", 0),
    ("glob", 0),
    ("gate", 0),
    ("redis_url", 0),
    ("logging", 0),
    ("term", 0),
    ("http", 0),
    ("private_files", 0),
    ("lines", 1),
    ("config", 1),
    // The platform's nouns and codecs, apart from all I/O.
    ("platform", 1),
    ("platform::model", 1),
    ("platform::links", 1),
    ("platform::socketio", 1),
    ("platform::backoff", 1),
    ("platform::pyrepr", 1),
    // Pure models and the leaf services (the store, SSH).
    ("platform::wire", 2),
    ("platform::decode", 2),
    ("platform::decode_tests", 2),
    ("platform::route", 2),
    ("platform::exposure", 2),
    ("platform::pidbox", 2),
    ("platform::containers", 2),
    ("platform::pidbox_tests", 2),
    ("store", 2),
    ("kept", 2),
    ("executor", 2),
    // The one language every part speaks.
    ("event", 3),
    // Every outside system reached through one client each (the Redis broker first).
    ("clients", 3),
    // Orders to the fleet, as data: the app builds them, the actions carry them out.
    ("orders", 3),
    // The feeds (world → events) and the app (events → state, effects).
    ("feeds", 4),
    ("feeds::redis", 4),
    ("feeds::socketio", 4),
    ("feeds::probes", 4),
    ("feeds::prometheus", 4),
    ("feeds::docker", 4),
    ("feeds::demo", 4),
    ("feeds::logfiles", 4),
    ("feeds::journal", 4),
    ("feeds::remote_logs", 4),
    ("app", 4),
    // The flight recorder: events to disk and back (below the loop, beside the app).
    ("recorder", 4),
    // Above the app: effects performed, state drawn.
    ("actions", 5),
    ("ui", 5),
    ("exporter", 5),
    // Everything built in one place; one control room's runtime step over it.
    ("wiring", 6),
    ("house", 7),
    // The loops (the TUI, `watch`, a replay) and the shell commands.
    ("run", 8),
    ("headless", 8),
    ("replay", 8),
    ("cli", 8),
    // The command line: arguments parsed, each command handed on.
    ("shell", 9),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The module path of a source file: `src/app/state.rs` → ["app", "state"].
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The node a module path belongs to.
fn node(path: &[String]) -> Option<String> {
    let top = path.first()?;
    // The app's folders (model, views, dialogs, reports) split once more: each file in them
    // is a node, so the rules below see a view importing a model, not a folder another.
    if top == "app"
        && let (Some(sub), Some(leaf)) = (path.get(1), path.get(2))
        && src().join(top).join(sub).is_dir()
        && src()
            .join(top)
            .join(sub)
            .join(format!("{leaf}.rs"))
            .exists()
    {
        let leaf = leaf.strip_suffix("_tests").unwrap_or(leaf);
        return Some(format!("{top}::{sub}::{leaf}"));
    }
    if SPLIT.contains(&top.as_str())
        && let Some(sub) = path.get(1)
        && (src().join(top).join(format!("{sub}.rs")).exists()
            || src().join(top).join(sub).is_dir())
    {
        // app::update_tests is part of app::update.
        let sub = sub
            .strip_suffix("_tests")
            .filter(|s| *s != "decode")
            .unwrap_or(sub);
        return Some(format!("{top}::{sub}"));
    }
    Some(top.clone())
}

fn layer(node: &str) -> Option<u8> {
    let family = node.split("::").next().unwrap_or(node);
    LAYERS
        .iter()
        .find(|(n, _)| *n == node)
        .or_else(|| LAYERS.iter().find(|(n, _)| *n == family))
        .map(|(_, l)| *l)
}

/// `pub use sub::{A, B}` in a family's mod.rs: which submodule each re-exported name is.
fn reexports(family: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(src().join(family).join("mod.rs")).unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((sub, names)) = rest.trim_end_matches(';').split_once("::") else {
            continue;
        };
        for name in names.trim_matches(['{', '}']).split(',') {
            out.insert(name.trim().to_string(), sub.to_string());
        }
    }
    out
}

/// Every module path a file names: `crate::a::b…`, and `super::x` resolved from the file.
fn references(file: &Path, text: &str) -> Vec<Vec<String>> {
    let here = module_of(file);
    let is_mod = file.file_name().is_some_and(|n| n == "mod.rs");
    let mut out = Vec::new();
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|p| {
                p.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|p| !p.is_empty())
            .collect()
    };
    // Inside an inline `mod … {` (the tests at the end of a file), `super` is the file.
    let mut nested = false;
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        if code.starts_with("mod ") && code.trim_end().ends_with('{') {
            nested = true;
        }
        for (i, _) in code.match_indices("crate::") {
            out.push(ident(&code[i + 7..]));
        }
        for (i, _) in code.match_indices("super::") {
            // `super::super::` is not used in this crate.
            let mut base = here.clone();
            if !is_mod && !nested {
                base.pop();
            }
            let tail = ident(&code[i + 7..]);
            if tail.first().is_some_and(|t| t == "super") {
                continue;
            }
            base.extend(tail);
            out.push(base);
        }
    }
    out
}

fn resolve(path: &[String]) -> Option<String> {
    let top = path.first()?;
    if SPLIT.contains(&top.as_str())
        && let Some(name) = path.get(1)
        && let Some(sub) = reexports(top).get(name)
    {
        return node(&[top.clone(), sub.clone()]);
    }
    node(path)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// node → (imported node → the first file and line that imports it)
fn graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for f in all {
        let rel = f.strip_prefix(src()).unwrap().to_string_lossy().to_string();
        // The binaries sit on top of the library and are not part of it.
        if rel == "main.rs" || rel == "lib.rs" || rel.starts_with("bin/") {
            continue;
        }
        let Some(from) = node(&module_of(&f)) else {
            continue;
        };
        let text = std::fs::read_to_string(&f).unwrap();
        let edges = g.entry(from.clone()).or_default();
        for r in references(&f, &text) {
            if let Some(to) = resolve(&r)
                && to != from
                && layer(&to).is_some()
            {
                edges.entry(to).or_insert_with(|| rel.clone());
            }
        }
    }
    g
}

#[test]
fn every_module_has_a_layer() {
    for n in graph().keys() {
        assert!(
            layer(n).is_some(),
            "{n} has no layer in LAYERS (and docs/ARCHITECTURE.md)"
        );
    }
}

#[test]
fn imports_go_down_the_layers() {
    let mut wrong = Vec::new();
    for (from, edges) in graph() {
        let (lf, ff) = (
            layer(&from).unwrap(),
            from.split("::").next().unwrap().to_string(),
        );
        for (to, file) in edges {
            let (lt, ft) = (layer(&to).unwrap(), to.split("::").next().unwrap());
            let ok = lt < lf || (lt == lf && ff == ft);
            if !ok {
                wrong.push(format!(
                    "{file}: {from} (layer {lf}) imports {to} (layer {lt})"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

/// The feeds are long-running tasks that the wiring starts; nothing else above them reaches
/// into one (the actions and the shell use `clients`, the app and the views `platform`).
#[test]
fn only_the_wiring_starts_feeds() {
    let mut wrong = Vec::new();
    for (from, edges) in graph() {
        if from == "wiring" || from.starts_with("feeds") {
            continue;
        }
        for (to, file) in edges {
            if to.starts_with("feeds") {
                wrong.push(format!("{file}: {from} imports {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "feeds reached around the wiring:\n{}",
        wrong.join("\n")
    );
}

/// The model is the platform as known: it never reaches up into the views, the dialogs, the
/// reports or the routing (`update`), so it can be read, tested and reused on its own.
#[test]
fn the_model_never_imports_views_dialogs_or_reports() {
    let mut wrong = Vec::new();
    for (from, edges) in graph() {
        if !from.starts_with("app::model") {
            continue;
        }
        for (to, file) in edges {
            let up = ["app::views", "app::dialogs", "app::reports", "app::update"]
                .iter()
                .any(|p| to.starts_with(p));
            if up {
                wrong.push(format!("{file}: {from} imports {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the model reaching up:\n{}",
        wrong.join("\n")
    );
}

/// Every cycle found depth-first: meeting a node still on the path closes one.
fn cycles(g: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<String> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeMap<String, String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<String>,
    ) {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            found.push(c.join(" → "));
            return;
        }
        if !done.insert(n.to_string()) {
            return;
        }
        path.push(n.to_string());
        for next in g
            .get(n)
            .map(|e| e.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            visit(&next, g, path, done, found);
        }
        path.pop();
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for n in g.keys() {
        visit(n, g, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn no_module_imports_itself_round_about() {
    let found = cycles(&graph());
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_checker_reads_imports_and_finds_cycles() {
    // The rules above are only as good as the reading of imports: known edges must show.
    let g = graph();
    assert!(
        g["app::update"].contains_key("app::common"),
        "{:?}",
        g["app::update"]
    );
    assert!(
        g["actions"].contains_key("app::effect"),
        "{:?}",
        g["actions"]
    );
    assert!(g["cli"].contains_key("wiring"));
    // And a cycle, once there is one, is found: the one this issue removed (the app
    // importing the actions' dispatch, which imports the Redis feed, which sends events).
    let mut with_cycle = g.clone();
    with_cycle
        .entry("event".into())
        .or_default()
        .insert("actions".into(), "event.rs".into());
    let found = cycles(&with_cycle);
    assert!(
        found
            .iter()
            .any(|c| c.contains("event") && c.contains("actions")),
        "{found:?}"
    );
}

#[test]
fn the_project_stands_on_its_own() {
    // A user's clone has only the repository: no file may send a reader outside it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                if !matches!(
                    name.as_str(),
                    "target" | ".git" | ".venv" | "found" | "corpus"
                ) {
                    stack.push(p);
                }
                continue;
            }
            let text_like = ["rs", "md", "toml", "sh", "py", "txt"]
                .iter()
                .any(|x| p.extension().is_some_and(|e| e == *x));
            if !text_like || p.ends_with("tests/architecture.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                if line.contains("shared/reference") || line.contains("../shared") {
                    found.push(format!("{}:{}", p.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "references outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn long_functions_say_why() {
    // rustfmt'd code: a function ends at the first `}` at its own indentation. Tests aside.
    let mut all = Vec::new();
    files(&src(), &mut all);
    let mut long = Vec::new();
    for f in all {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let tests_from = lines
            .iter()
            .position(|l| l.starts_with("#[cfg(test)]"))
            .unwrap_or(lines.len());
        if f.to_string_lossy().ends_with("_tests.rs") {
            continue;
        }
        for (i, line) in lines.iter().enumerate().take(tests_from) {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(super) fn ",
                "pub(crate) fn ",
                "async fn ",
                "pub async fn ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p));
            if !is_fn || indent > 4 || line.trim_end().ends_with(';') {
                continue;
            }
            let close = format!("{}}}", " ".repeat(indent));
            let Some(end) = lines[i..].iter().position(|l| *l == close) else {
                continue;
            };
            let reasoned = lines[..i]
                .iter()
                .rev()
                .take_while(|l| {
                    let t = l.trim_start();
                    t.starts_with("//") || t.starts_with("#[")
                })
                .any(|l| l.contains("Long, on purpose:"));
            if end + 1 > 80 && !reasoned {
                long.push(format!("{}:{} ({} lines)", f.display(), i + 1, end + 1));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over 80 lines without a `// Long, on purpose: …` reason:\n{}",
        long.join("\n")
    );
}
