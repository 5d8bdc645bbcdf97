//! The crate's layers, checked: every `crate::…` path in `src/` points at the module's own
//! layer or one below it.
//!
//! Data flows intake → outbox → index/embed/themes → backlog → digest → http/cli, and
//! dependencies point the other way: storage (`db`) knows nothing of intake, themes or
//! mail. A new `use crate::digest` in `db/` fails this test with the file and the path.
//! Comments are ignored, so a doc may still mention a module above it.

use std::path::{Path, PathBuf};

/// Lowest first. A module may use its own layer and those below; a few shared leaves
/// (error, configuration, field checks, the vector buffer) are at the bottom.
const LAYERS: &[&[&str]] = &[
    &["error", "config", "validate", "metrics", "embed::vectors"],
    &["db"],
    &["intake"],
    &["embed", "themes", "search"],
    &["jobs"],
    &["backlog"],
    &["impact"],
    &["digest", "privacy", "webhooks"],
    &["http", "cli", "bench", "server"],
];

/// Upward uses made on purpose, each with its reason at the call site.
const EXCEPTIONS: &[(&str, &str)] = &[
    // A status change to `shipped` queues the close-the-loop notices in the same
    // transaction, so a change is never recorded without its notices (or the reverse).
    ("backlog/workflow.rs", "digest::notices"),
];

fn rank(module: &str) -> Option<usize> {
    // The longest listed prefix wins: `embed::vectors` before `embed`.
    let mut best: Option<(usize, usize)> = None;
    for (i, layer) in LAYERS.iter().enumerate() {
        for m in *layer {
            let hit = module == *m || module.starts_with(&format!("{m}::"));
            if hit && best.is_none_or(|(len, _)| m.len() > len) {
                best = Some((m.len(), i));
            }
        }
    }
    best.map(|(_, i)| i)
}

/// `db/customers.rs` → `db`, `embed/vectors.rs` → `embed::vectors`, `search.rs` → `search`.
fn module_of(rel: &Path) -> Option<String> {
    let parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|p| p != "mod")
        .collect();
    match parts.first().map(String::as_str) {
        None | Some("lib") | Some("main") => None,
        Some(_) => Some(parts.iter().take(2).cloned().collect::<Vec<_>>().join("::")),
    }
}

/// The crate paths a source text uses (first two segments), comments left out;
/// `crate::{db, Config}` yields `db` and `config`.
fn crate_paths(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(group.len(), |(i, _)| i);
            let mut item = String::new();
            let mut depth = 0;
            for c in group[..end].chars().chain([',']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(path_head(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            out.push(path_head(rest));
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The first two segments of a path, with the crate root's re-exports named by module.
fn path_head(path: &str) -> String {
    let segments: Vec<&str> = path
        .split("::")
        .map(|s| {
            s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
        })
        .take(2)
        .collect();
    match segments.first().copied().unwrap_or("") {
        "Config" => "config".into(),
        "Error" | "Result" => "error".into(),
        "" | "self" => String::new(),
        _ => segments
            .iter()
            .filter(|s| s.chars().next().is_some_and(char::is_lowercase))
            .copied()
            .collect::<Vec<_>>()
            .join("::"),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_its_layer_and_those_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 50,
        "expected the crate's sources under {src:?}"
    );
    let mut violations = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let rel_name = rel.to_string_lossy().replace('\\', "/");
        let Some(module) = module_of(rel) else {
            continue;
        };
        let own = rank(&module).unwrap_or_else(|| panic!("{rel_name}: {module} has no layer"));
        for used in crate_paths(&std::fs::read_to_string(file).unwrap()) {
            let to = rank(&used).unwrap_or_else(|| panic!("{rel_name}: {used} has no layer"));
            let excepted = EXCEPTIONS.iter().any(|(f, p)| {
                *f == rel_name && (used == *p || used.starts_with(&format!("{p}::")))
            });
            if to > own && !excepted {
                violations.push(format!("{rel_name} ({module}) uses crate::{used}"));
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(
        violations.is_empty(),
        "upward dependencies (see LAYERS in this test):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_grouped_and_inline_paths_and_ignores_comments() {
    let src = "use crate::{db, Config, Error};\n// crate::http in a comment\nlet x = crate::digest::notices::queue();\nuse crate::embed::vectors::{dot, Vectors};";
    assert_eq!(
        crate_paths(src),
        ["db", "config", "error", "digest::notices", "embed::vectors"]
    );
    assert_eq!(rank("embed::vectors"), Some(0));
    assert_eq!(rank("embed::minilm"), Some(3));
    assert_eq!(rank("impact"), Some(6));
    assert_eq!(rank("digest"), Some(7));
    assert_eq!(
        module_of(Path::new("db/entity/theme.rs")).as_deref(),
        Some("db::entity")
    );
    assert_eq!(module_of(Path::new("search.rs")).as_deref(), Some("search"));
}
