//! The architecture, held by a test: which top-level module of `src/` may import which, read
//! from the `crate::…` paths in the source, and no import cycle between the files of one folder.
//! `GPUBENCH_LAYERS_SRC=DIR` checks another tree (e.g. an old checkout, to see this test fail).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may import. `cli` drives everything; `train` is the
/// one place that meets backends and workloads; `record` is the CSV contract and `report` reads
/// rows only, as `export` does; `ops`, `error`, `instance`, `peak` and `telemetry` are leaves.
const ALLOWED: &[(&str, &[&str])] = &[
    (
        "cli",
        &[
            "backend",
            "error",
            "export",
            "instance",
            "peak",
            "record",
            "report",
            "telemetry",
            "train",
            "workload",
        ],
    ),
    (
        "train",
        &["backend", "error", "ops", "record", "telemetry", "workload"],
    ),
    ("workload", &["error", "fuzz", "ops"]),
    (
        "backend",
        &["error", "instance", "ops", "peak", "telemetry"],
    ),
    ("report", &["error", "fuzz", "record"]),
    ("export", &["error", "record", "report"]),
    ("record", &["error"]),
    ("instance", &["error", "fuzz"]),
    ("peak", &["error"]),
    ("telemetry", &[]),
    ("ops", &[]),
    ("error", &[]),
    // Test-only: the inputs of the parsers' property tests.
    ("fuzz", &[]),
];

fn src() -> PathBuf {
    std::env::var_os("GPUBENCH_LAYERS_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments (`//` to the end of a line, which covers doc comments too).
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment after each `prefix` (e.g. `crate::`), including each name in a
/// grouped `prefix{a::x, b}`.
fn targets(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices(prefix) {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue; // `super::crate_x::` or `a::super::` are not this prefix
        }
        let rest = &code[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            found.extend(group.split(',').map(|p| ident(p.trim())));
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|t| !t.is_empty() && t != "self" && t != "super");
    found
}

/// The top-level module a file belongs to (`src/train/run.rs` → `train`), if any.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// Every import of one top-level module by another: (importer, imported) → files.
fn imports(src: &Path) -> BTreeMap<(String, String), Vec<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for f in &files {
        let Some(from) = top_module(src, f) else {
            continue;
        };
        for to in targets(&code(f), "crate::") {
            if to != from {
                let shown = f.strip_prefix(src).unwrap().display().to_string();
                edges.entry((from.clone(), to)).or_default().push(shown);
            }
        }
    }
    edges
}

fn violations(src: &Path) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    imports(src)
        .into_iter()
        .filter(|((from, to), _)| {
            !allowed
                .get(from.as_str())
                .is_some_and(|ok| ok.contains(&to.as_str()))
        })
        .map(|((from, to), files)| format!("{from} -> {to} (in {})", files.join(", ")))
        .collect()
}

/// A cycle in `edges`, as the nodes along it, if there is one.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if !done.insert(n.to_string()) {
            return None;
        }
        path.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

/// Cycles between the files of one folder through `super::sibling` (tests left out: their
/// `super::` is the file itself). A folder's `mod.rs` re-exporting its children is no cycle.
fn sibling_cycles(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut by_dir: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let stem = f.file_stem().unwrap().to_str().unwrap().to_string();
        if stem == "mod" || f.parent() == Some(src) {
            continue;
        }
        let text = code(f);
        let text = &text[..text.find("#[cfg(test)]").unwrap_or(text.len())];
        by_dir
            .entry(f.parent().unwrap().to_path_buf())
            .or_default()
            .insert(stem, targets(text, "super::"));
    }
    by_dir
        .into_iter()
        .filter_map(|(dir, mut edges)| {
            let names: BTreeSet<String> = edges.keys().cloned().collect();
            edges
                .values_mut()
                .for_each(|t| t.retain(|n| names.contains(n)));
            cycle(&edges).map(|c| format!("{}: {}", dir.display(), c.join(" -> ")))
        })
        .collect()
}

#[test]
fn modules_import_only_downward() {
    let src = src();
    let bad = violations(&src);
    assert!(
        bad.is_empty(),
        "imports against the allowed directions:\n  {}",
        bad.join("\n  ")
    );
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in imports(&src).into_keys() {
        top.entry(from).or_default().insert(to);
    }
    assert_eq!(
        cycle(&top),
        None,
        "an import cycle between top-level modules"
    );
}

#[test]
fn no_cycle_between_the_files_of_a_folder() {
    let cycles = sibling_cycles(&src());
    assert!(cycles.is_empty(), "{}", cycles.join("\n"));
}

#[test]
fn every_top_level_module_has_a_row() {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let known: BTreeSet<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
    let missing: BTreeSet<String> = files
        .iter()
        .filter_map(|f| top_module(&src, f))
        .filter(|m| !known.contains(m.as_str()))
        .collect();
    assert!(missing.is_empty(), "add {missing:?} to ALLOWED");
}

#[test]
fn the_reader_finds_grouped_and_plain_paths() {
    let t = targets(
        "use crate::{ops::X, record};\nlet a = crate::train::f();\nx::crate::no;",
        "crate::",
    );
    assert_eq!(
        t.into_iter().collect::<Vec<_>>(),
        ["ops", "record", "train"]
    );
    let mut edges = BTreeMap::new();
    edges.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        cycle(&edges),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}
