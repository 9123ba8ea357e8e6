//! The crate's modules form layers that point one way: no module uses, directly or through
//! others, a module that uses it; neither among the top-level modules nor among the
//! modules of one folder. A loop makes two modules one, so neither can be read, tested or
//! changed alone; this test names the loop and the files that make it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Every file of `src/`: its path from `src/` and its text.
fn sources() -> Vec<(Vec<String>, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&src).unwrap();
                let parts = rel
                    .components()
                    .map(|c| {
                        c.as_os_str()
                            .to_string_lossy()
                            .trim_end_matches(".rs")
                            .to_string()
                    })
                    .collect();
                files.push((parts, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files
}

/// Adds the edge `from -> to`, made in `file`.
fn edge(graph: &mut Graph, from: &str, to: &str, file: &[String]) {
    if from != to {
        graph
            .entry(from.to_string())
            .or_default()
            .entry(to.to_string())
            .or_default()
            .insert(file.join("/"));
    }
}

/// The top-level modules, and which of them each uses through `crate::`.
fn top_level(files: &[(Vec<String>, String)]) -> Graph {
    let mut graph = Graph::new();
    for (parts, text) in files {
        let module = &parts[0];
        if module == "lib" || module == "main" {
            continue;
        }
        for used in referenced(text, "crate::") {
            edge(&mut graph, module, &used, parts);
        }
    }
    graph
}

/// The modules of the folder `folder`, and which of them each uses (through
/// `crate::folder::` or, from a file of its own, `super::`).
fn in_folder(files: &[(Vec<String>, String)], folder: &str) -> Graph {
    let children: BTreeSet<&str> = files
        .iter()
        .filter(|(p, _)| p.len() >= 2 && p[0] == folder && p[1] != "mod")
        .map(|(p, _)| p[1].as_str())
        .collect();
    let mut graph = Graph::new();
    for (parts, text) in files {
        if parts.len() < 2 || parts[0] != folder || parts[1] == "mod" {
            continue;
        }
        let mut used = referenced(text, &format!("crate::{folder}::"));
        // `super::` is the folder in its direct files (`folder/x.rs`, `folder/x/mod.rs`).
        if parts.len() == 2 || (parts.len() == 3 && parts[2] == "mod") {
            used.extend(referenced(text, "super::"));
        }
        for u in used.iter().filter(|u| children.contains(u.as_str())) {
            edge(&mut graph, &parts[1], u, parts);
        }
    }
    graph
}

/// The first path segment after each `prefix` (`crate::`) in code (not comments), groups
/// included.
fn referenced(text: &str, prefix: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find(prefix) {
        // Not the tail of a longer path (`a::super::`, `my_crate::`).
        let before = code[..code.len() - rest.len() + at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::{c, d}}`: the first segment of each part at depth one.
            let (mut depth, mut start) = (0, 0);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    // Modules only (not types), and not a path that goes on up (`super::super::`).
    found.retain(|m| {
        m.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && !["super", "self", "crate"].contains(&m.as_str())
    });
    found
}

/// A path of uses from `from` back to `from`, if there is one.
fn loop_through(graph: &Graph, from: &str) -> Option<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![vec![from.to_string()]];
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        for next in graph.get(last).into_iter().flat_map(|m| m.keys()) {
            if next == from {
                let mut found = path.clone();
                found.push(next.clone());
                return Some(found);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

/// The first loop in `graph`, each use with the files that make it.
fn first_loop(graph: &Graph) -> Option<String> {
    graph.keys().find_map(|module| {
        loop_through(graph, module).map(|path| {
            path.windows(2)
                .map(|w| format!("{} -> {} in {:?}", w[0], w[1], graph[&w[0]][&w[1]]))
                .collect::<Vec<_>>()
                .join("; ")
        })
    })
}

#[test]
fn no_module_uses_a_module_that_uses_it() {
    let files = sources();
    let top = top_level(&files);
    assert!(
        top.len() > 15,
        "the scan found the crate's modules: {:?}",
        top.keys()
    );
    if let Some(how) = first_loop(&top) {
        panic!("a loop among the top-level modules: {how}");
    }
    let folders: BTreeSet<&str> = files
        .iter()
        .filter(|(p, _)| p.len() > 1)
        .map(|(p, _)| p[0].as_str())
        .collect();
    for folder in folders {
        if let Some(how) = first_loop(&in_folder(&files, folder)) {
            panic!("a loop among the modules of {folder}/: {how}");
        }
    }
}

#[test]
fn the_scan_sees_grouped_and_plain_uses_and_skips_comments() {
    let text = "use crate::{event::Side, model::{store, probe}};\n\
                let x = crate::frontend::vad::FRAME; // crate::report::html::today()\n\
                /// [`crate::talk::Talk`]\n";
    let found: Vec<String> = referenced(text, "crate::").into_iter().collect();
    assert_eq!(found, ["event", "frontend", "model"]);
    let nested = "use super::super::x; use self::super::y; use super::{a, b::c};";
    let found: Vec<String> = referenced(nested, "super::").into_iter().collect();
    assert_eq!(found, ["a", "b"], "only a folder's own super");
}
