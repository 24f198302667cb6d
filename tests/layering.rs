//! The layering rule of ARCHITECTURE.md ("Layers"), held against the code:
//! every `crate::…` (and `super::…` reaching the crate root) path in `src/`
//! must name a module of the same layer or one below, and the modules must
//! not import one another in a circle. The layer order is read from
//! ARCHITECTURE.md's `layers` block, the one place it is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// An import of one top-level module by another, where it was seen.
#[derive(Debug, Clone)]
struct Import {
    from: String,
    to: String,
    at: String,
}

/// The layers, bottom first: the lines of ARCHITECTURE.md's ```layers
/// block, top first, each naming the modules of one layer.
fn layers() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let block = text
        .split("```layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("ARCHITECTURE.md has a ```layers block");
    let mut layers: Vec<Vec<String>> = block
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .map(|line| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|modules| !modules.is_empty())
        .collect();
    layers.reverse();
    layers
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `storage/sqlite/mod.rs` →
/// `["storage", "sqlite"]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().expect("a file name");
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_owned());
    }
    parts
}

/// The text of a file without its comments (doc links are no imports).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.find('\n').map_or("", |i| &after[i..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |i| &after[i + 2..]);
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first identifiers of the paths in `{a::b, c, d::{e, f}}` (the text
/// just after the opening brace), at the group's top level.
fn group_heads(s: &str) -> Vec<&str> {
    let (mut heads, mut depth, mut start) = (Vec::new(), 0, true);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && (c.is_alphanumeric() || c == '_') => {
                heads.push(ident(&s[i..]));
                start = false;
            }
            _ => {}
        }
    }
    heads
}

/// The top-level modules a file's code names, with the line of each.
fn imports_of(module: &[String], code: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find(['c', 's']) {
            let at = &rest[i..];
            let boundary =
                i == 0 || !rest[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_');
            let after_root = if let Some(after) = at.strip_prefix("crate::") {
                Some(after)
            } else if at.starts_with("super::") && boundary {
                // `super::` chains that climb above the file's top-level module.
                let mut after = at;
                let mut climbed = 0;
                while let Some(a) = after.strip_prefix("super::") {
                    after = a;
                    climbed += 1;
                }
                (climbed >= module.len()).then_some(after)
            } else {
                None
            };
            match after_root {
                Some(after) if boundary => {
                    let names = match after.strip_prefix('{') {
                        Some(group) => group_heads(group),
                        None => vec![ident(after)],
                    };
                    out.extend(names.into_iter().map(|m| (m.to_owned(), n + 1)));
                    rest = after;
                }
                _ => rest = &at[1..],
            }
        }
    }
    out
}

fn imports() -> (BTreeSet<String>, Vec<Import>) {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let (mut modules, mut found) = (BTreeSet::new(), Vec::new());
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let module = module_path(relative);
        let Some(top) = module.first().cloned() else {
            continue; // lib.rs and main.rs only declare and wire.
        };
        modules.insert(top.clone());
        let code = code_of(&std::fs::read_to_string(&file).expect("read a source file"));
        for (to, line) in imports_of(&module, &code) {
            if to != top && to != "self" {
                let at = format!("src/{}:{line}", relative.display());
                found.push(Import {
                    from: top.clone(),
                    to,
                    at,
                });
            }
        }
    }
    (modules, found)
}

/// A circle among the modules of `imports`, if there is one.
fn circle(imports: &[Import]) -> Option<Vec<String>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in imports {
        graph.entry(&i.from).or_default().insert(&i.to);
    }
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| *n == node) {
            let mut circle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, &graph, &mut Vec::new(), &mut done))
}

#[test]
fn every_module_is_placed_in_a_layer() {
    let placed: BTreeSet<String> = layers().into_iter().flatten().collect();
    let (modules, _) = imports();
    let unplaced: Vec<_> = modules.difference(&placed).collect();
    assert!(
        unplaced.is_empty(),
        "add these to ARCHITECTURE.md's layers: {unplaced:?}"
    );
    let missing: Vec<_> = placed.difference(&modules).collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names modules src/ lacks: {missing:?}"
    );
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let layer_of: BTreeMap<String, usize> = layers()
        .into_iter()
        .enumerate()
        .flat_map(|(i, modules)| modules.into_iter().map(move |m| (m, i)))
        .collect();
    let (_, imports) = imports();
    // The reader itself must see the imports it judges.
    for (from, to) in [("storage", "domain"), ("http", "stream"), ("app", "config")] {
        assert!(
            imports.iter().any(|i| i.from == from && i.to == to),
            "the import {from} → {to} was not found: the reader is broken"
        );
    }
    let upward: Vec<String> = imports
        .iter()
        .filter(|i| layer_of.get(&i.to) > layer_of.get(&i.from))
        .map(|i| format!("{}: {} imports {}, a higher layer", i.at, i.from, i.to))
        .collect();
    assert!(upward.is_empty(), "{}", upward.join("\n"));
}

#[test]
fn no_modules_import_one_another_in_a_circle() {
    let (_, imports) = imports();
    if let Some(circle) = circle(&imports) {
        let witnesses: Vec<String> = circle
            .windows(2)
            .filter_map(|pair| {
                imports
                    .iter()
                    .find(|i| i.from == pair[0] && i.to == pair[1])
                    .map(|i| format!("{}: {} imports {}", i.at, i.from, i.to))
            })
            .collect();
        panic!(
            "an import circle: {}\n{}",
            circle.join(" → "),
            witnesses.join("\n")
        );
    }
}

#[test]
fn the_reader_finds_grouped_and_climbing_paths() {
    let module = vec!["ingest".to_owned()];
    let code = "use crate::{auth::Auth, storage::{Store, X}};\nlet x = super::pubsub::Hub::new();\nfn f() -> supersede::X {}";
    let found: Vec<String> = imports_of(&module, code)
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    assert_eq!(found, ["auth", "storage", "pubsub"]);
    let nested = vec![
        "storage".to_owned(),
        "sqlite".to_owned(),
        "writer".to_owned(),
    ];
    let found = imports_of(&nested, "use super::cache::Hot;\nuse super::super::schema;");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(code_of("a // crate::x\n/* crate::y */b"), "a \nb");
}
