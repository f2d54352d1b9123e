//! The code's shape, checked on its source: data flows one way (no module imports a module
//! that imports it back, through any chain), and a provider is known by name only in its own
//! file and in the registry (outside comments and tests).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every source file under `src/`, as (path relative to `src/`, text without comments and
/// without its test module).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                out.push((relative, code(&std::fs::read_to_string(&path).unwrap())));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = vec![];
    walk(&root, &root, &mut out);
    out.retain(|(path, _)| !path.ends_with("_tests.rs"));
    out
}

/// The code of a file: lines without `//` comments, up to its `#[cfg(test)]` test module.
fn code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = vec![];
    for (i, line) in lines.iter().enumerate() {
        let next = lines.get(i + 1).map_or("", |l| l.trim());
        if line.trim() == "#[cfg(test)]"
            && (next.starts_with("mod tests") || next.starts_with("#[path"))
        {
            break;
        }
        let without_comment = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        kept.push(without_comment);
    }
    kept.join("\n")
}

/// The top-level module a file belongs to (`providers/bitbybit.rs` -> `providers`).
fn module(path: &str) -> String {
    let first = path.split('/').next().unwrap();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules a file's code names through `crate::`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            inner.split(',').map(|s| s.trim()).collect()
        } else {
            vec![rest]
        };
        for name in names {
            let ident: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !ident.is_empty() {
                found.insert(ident);
            }
        }
    }
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, code) in sources() {
        let from = module(&path);
        if from == "lib" || from == "main" {
            continue;
        }
        let edges = graph.entry(from.clone()).or_default();
        for to in imports(&code) {
            if to != from {
                edges.insert(to);
            }
        }
    }
    assert!(graph.len() >= 10, "{graph:?}");
    // A cycle is a path from a module back to itself.
    fn reaches(
        graph: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        target: &str,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(from).into_iter().flatten() {
            if next == target || (seen.insert(next.clone()) && reaches(graph, next, target, seen)) {
                return true;
            }
        }
        false
    }
    let cyclic: Vec<&String> = graph
        .keys()
        .filter(|m| reaches(&graph, m, m, &mut BTreeSet::new()))
        .collect();
    assert!(
        cyclic.is_empty(),
        "modules in an import cycle: {cyclic:?}\n{graph:#?}"
    );
}

/// Whether `line` names `name` as a word of its own (`META_BASE_URL` and `meta.rs` do,
/// `metadata` does not).
fn names(line: &str, name: &str) -> bool {
    let line = line.to_ascii_lowercase();
    line.match_indices(name).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + name.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn only_a_providers_own_file_and_the_registry_name_it() {
    let sources = sources();
    // The providers are the files that implement `Provider`.
    let providers: Vec<String> = sources
        .iter()
        .filter(|(path, code)| path.starts_with("providers/") && code.contains("impl Provider for"))
        .map(|(path, _)| {
            path["providers/".len()..]
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    for expected in ["bitbybit", "autocalls", "meta", "echo"] {
        assert!(providers.iter().any(|p| p == expected), "{providers:?}");
    }
    assert!(names("let x = META_BASE_URL;", "meta") && !names("phone_metadata", "meta"));
    let mut offending = vec![];
    for (path, code) in &sources {
        for name in &providers {
            let allowed = *path == format!("providers/{name}.rs") || path == "providers/mod.rs";
            if allowed {
                continue;
            }
            for line in code.lines() {
                if names(line, name) {
                    offending.push(format!("{path}: {}", line.trim()));
                }
            }
        }
    }
    assert!(
        offending.is_empty(),
        "provider names outside their files:\n{}",
        offending.join("\n")
    );
}
