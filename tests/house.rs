//! The house's rules, checked on every run: no source file under `crates/` over 600 lines, a
//! README that stays a front door (at most 200 lines), and no module of a crate that imports a
//! module which imports it back (directly or round a longer loop).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const MAX_SOURCE_LINES: usize = 600;
const MAX_README_LINES: usize = 200;

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The source directories of the workspace's crates.
fn crate_sources() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().path().join("src"))
        .filter(|src| src.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn no_source_file_is_over_six_hundred_lines() {
    let mut long = Vec::new();
    for src in crate_sources() {
        for file in rust_files(&src) {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            if lines > MAX_SOURCE_LINES {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "split these by what they do: {long:#?}");
}

#[test]
fn the_readme_is_a_front_door() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= MAX_README_LINES,
        "README.md has {lines} lines: move the manual into docs/"
    );
}

/// A module's path in its crate (`""` for the crate root, `tools::approve_invoice`, ...).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The modules of its crate that a file's code names (`crate::x`, `super::`), comments left
/// out.
fn imports(code: &str, module: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or_default();
        for (at, _) in line.match_indices("crate::") {
            let path: String = line[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            // The longest prefix of the path that is a module: `crate::tools::DecisionArgs`
            // names `tools`.
            let mut prefix = String::new();
            let mut found = None;
            for part in path.split("::").filter(|part| !part.is_empty()) {
                prefix = if prefix.is_empty() {
                    part.to_owned()
                } else {
                    format!("{prefix}::{part}")
                };
                if modules.contains(&prefix) {
                    found = Some(prefix.clone());
                }
            }
            named.extend(found);
        }
        if line.contains("super::") {
            let parent = module.rsplit_once("::").map_or("", |(parent, _)| parent);
            named.insert(parent.to_owned());
        }
    }
    named.remove(module);
    named.remove("");
    named
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut loops = Vec::new();
    for src in crate_sources() {
        let files = rust_files(&src);
        let modules: BTreeSet<String> = files.iter().map(|file| module_of(&src, file)).collect();
        let graph: BTreeMap<String, BTreeSet<String>> = files
            .iter()
            .map(|file| {
                let module = module_of(&src, file);
                let code = std::fs::read_to_string(file).unwrap();
                let named = imports(&code, &module, &modules);
                (module, named)
            })
            .collect();
        // A loop is a path back to where it started.
        for start in graph.keys() {
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((at, path)) = stack.pop() {
                for next in graph.get(&at).into_iter().flatten() {
                    if next == start {
                        loops.push(format!(
                            "{}: {} -> {start}",
                            src.display(),
                            path.join(" -> ")
                        ));
                    } else if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
    }
    loops.sort();
    loops.dedup();
    assert!(
        loops.is_empty(),
        "modules that import each other: {loops:#?}"
    );
}

#[test]
fn the_loop_finder_finds_a_loop() {
    let modules: BTreeSet<String> = ["a", "b"].map(str::to_owned).into();
    assert_eq!(
        imports("use crate::b::Thing; // crate::a", "a", &modules),
        ["b".to_owned()].into()
    );
    assert_eq!(
        imports("use super::Args;", "tools::approve", &modules),
        ["tools".to_owned()].into()
    );
}
