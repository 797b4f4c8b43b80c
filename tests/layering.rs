//! The modules of `src/` depend on each other one way: no import cycle between top-level modules
//! (a folder or a loose file under `src/`). A cycle is how a stage starts to reach back into the
//! ones before it (inspection asking configuration, rules asking the command line), and each
//! such reach made a place where one scan mode differed from another. This reads every
//! `crate::…` path of non-test code and fails with the cycle when there is one, or when a core
//! module imports one of the edges (the command line, the plan, configuration, reports).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The binary's entry and the crate root, above everything by design.
const ROOTS: [&str; 2] = ["main", "lib"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The file's code without test modules and comments.
fn code_of(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the file is compiled only for tests (`#[cfg(test)] mod name;` in its parent).
fn test_only(file: &Path) -> bool {
    let name = file.file_stem().unwrap().to_string_lossy();
    let parent = file.with_file_name("mod.rs");
    if name == "mod" || !parent.exists() {
        return false;
    }
    let text = std::fs::read_to_string(parent).unwrap();
    [
        format!("#[cfg(test)]\nmod {name};"),
        format!("#[cfg(test)]\npub mod {name};"),
    ]
    .iter()
    .any(|declaration| text.contains(declaration.as_str()))
}

/// The top-level modules each top-level module refers to.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let path_start = regex::Regex::new(r"\bcrate::(\{[^}]*\}|\w+)").unwrap();
    let first_name = regex::Regex::new(r"(?:^|[{,])\s*(\w+)").unwrap();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = top.trim_end_matches(".rs").to_string();
        if ROOTS.contains(&module.as_str()) || test_only(&file) {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        let targets = graph.entry(module.clone()).or_default();
        for path in path_start.captures_iter(&code) {
            for name in first_name.captures_iter(&path[1]) {
                if name[1] != *module {
                    targets.insert(name[1].to_string());
                }
            }
        }
    }
    graph
}

/// A cycle through `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.len() > 10, "the module graph was read: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between top-level modules: {}\n(every `crate::` path of non-test code \
             counts; move the shared type down, or pass the stage the narrow value it needs)",
            cycle.join(" -> ")
        );
    }
}

/// The edges of the program: reading the command line and the environment into a plan and a
/// configuration, running the stages, and writing reports. They depend on the core.
const EDGES: [&str; 5] = ["app", "cli", "config", "plan", "report"];

#[test]
fn the_core_never_reaches_back_to_the_edges() {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut reaching_back = Vec::new();
    for (module, targets) in &graph {
        if EDGES.contains(&module.as_str()) {
            continue;
        }
        for edge in targets.iter().filter(|t| EDGES.contains(&t.as_str())) {
            reaching_back.push(format!("{module} -> {edge}"));
        }
    }
    assert!(
        reaching_back.is_empty(),
        "core modules import the command line, the plan, configuration or reports: {}\n(pass \
         the stage the narrow value it needs instead, as `source::walk::WalkPlan` does)",
        reaching_back.join(", ")
    );
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("inspect".into()).or_default().insert("rules".into());
    graph.entry("rules".into()).or_default().insert("finding".into());
    assert_eq!(find_cycle(&graph), None);
    graph
        .entry("finding".into())
        .or_default()
        .insert("inspect".into());
    assert_eq!(
        find_cycle(&graph).unwrap(),
        ["finding", "inspect", "rules", "finding"]
    );
}
