//! "Small parts" (ARCHITECTURE.md), held against the code: no file in
//! `src/` over 400 lines, no function over 80 lines, and BENCHMARKS.md a
//! reference of at most 250 lines (history stays in git).

use std::path::{Path, PathBuf};

/// Most lines a source file may have.
const FILE_LINES: usize = 400;
/// Most lines a function may have, from its `fn` line to its closing brace.
const FN_LINES: usize = 80;
/// Most lines BENCHMARKS.md may have.
const BENCHMARK_LINES: usize = 250;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The functions of a rustfmt-formatted file longer than `FN_LINES`: each
/// `fn` item's lines run to the first line holding only its indentation
/// and `}` (rustfmt closes a body at the indentation of its `fn`).
fn long_functions(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut long = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let Some(name) = fn_name(trimmed) else {
            continue;
        };
        if trimmed.ends_with(';') || trimmed.ends_with('}') {
            continue; // a declaration without a body, or a one-line function
        }
        let close = format!("{indent}}}");
        let end = lines[i..].iter().position(|l| *l == close);
        if let Some(len) = end.map(|e| e + 1)
            && len > FN_LINES
        {
            long.push((name, len));
        }
    }
    long
}

/// The name of the function a line starts, if it starts one.
fn fn_name(trimmed: &str) -> Option<String> {
    let mut words = trimmed.split_whitespace().peekable();
    while let Some(word) = words.next() {
        match word {
            "pub" | "async" | "const" | "unsafe" | "extern" | "\"C\"" => continue,
            w if w.starts_with("pub(") => continue,
            "fn" => {
                let name = words.next()?;
                let end = name.find(['(', '<']).unwrap_or(name.len());
                return Some(name[..end].to_string());
            }
            _ => return None,
        }
    }
    None
}

#[test]
fn source_files_and_functions_stay_small() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        let shown = file.strip_prefix(root()).unwrap_or(file).display();
        let count = text.lines().count();
        if count > FILE_LINES {
            problems.push(format!("{shown}: {count} lines (most {FILE_LINES})"));
        }
        for (name, len) in long_functions(&text) {
            problems.push(format!(
                "{shown}: fn {name} is {len} lines (most {FN_LINES})"
            ));
        }
    }
    assert!(problems.is_empty(), "too large:\n{}", problems.join("\n"));
}

#[test]
fn the_benchmarks_are_a_reference_not_a_log() {
    let text = std::fs::read_to_string(root().join("BENCHMARKS.md")).expect("BENCHMARKS.md");
    let count = text.lines().count();
    assert!(
        count <= BENCHMARK_LINES,
        "BENCHMARKS.md has {count} lines (most {BENCHMARK_LINES})"
    );
}

#[test]
fn the_function_measure_sees_a_long_function() {
    let body = "    x();\n".repeat(FN_LINES);
    let text = format!("pub fn short() {{\n}}\n\nasync fn long() {{\n{body}}}\n");
    assert_eq!(
        long_functions(&text),
        vec![("long".to_string(), FN_LINES + 2)]
    );
}
