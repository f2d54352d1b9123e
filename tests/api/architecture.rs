//! The code's shape, checked on its source: data flows one way (no module, and no file,
//! imports one that imports it back, through any chain), a provider is known by name only in
//! its own file and in the registry (outside comments and tests), no comment cites a file a
//! reader of the repository cannot open, and no two types share a name.

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
    // Test modules kept in files of their own.
    out.retain(|(path, _)| {
        !path.ends_with("_tests.rs")
            && !path.ends_with("/tests.rs")
            && !path.contains("/tests/")
            && !path.ends_with("/testing.rs")
    });
    out
}

/// Every source file under `src/` as it is, comments included: (path, text).
fn texts() -> Vec<(String, String)> {
    texts_under("src")
}

/// Every `.rs` file under the crate's folder `folder`, as it is: (path relative to it, text).
fn texts_under(folder: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut out = vec![];
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&root).unwrap().display().to_string();
                out.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out
}

/// The code of a file: lines without `//` comments, up to its `#[cfg(test)]` test module.
fn code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = vec![];
    for (i, line) in lines.iter().enumerate() {
        let next = lines.get(i + 1).map_or("", |l| l.trim());
        // An inline test module ends the file's code; one in a file of its own (`mod tests;`)
        // is only a declaration.
        if line.trim() == "#[cfg(test)]" && next.starts_with("mod tests {") {
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
    assert!(graph.len() >= 8, "{graph:?}");
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
    let original = line;
    let line = line.to_ascii_lowercase();
    line.match_indices(name).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + name.len()..].chars().next();
        // Another provider's snake_case field name that starts with this one's, quoted as
        // that provider documents it (autocalls' `"meta_message_id"`), is that field.
        let field = before == Some('"')
            && original[at + name.len()..].starts_with('_')
            && original[at + name.len() + 1..].starts_with(|c: char| c.is_ascii_lowercase());
        !field
            && !before.is_some_and(|c| c.is_ascii_alphanumeric())
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
            let name = &path["providers/".len()..];
            name.split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    for expected in wa_dispatch::providers::REGISTRY.iter().map(|p| p.name()) {
        assert!(providers.iter().any(|p| p == expected), "{providers:?}");
    }
    assert!(names("let x = META_BASE_URL;", "meta") && !names("phone_metadata", "meta"));
    assert!(names(r#"find("meta")"#, "meta") && !names(r#"text("meta_message_id")"#, "meta"));
    let mut offending = vec![];
    for (path, code) in &sources {
        for name in &providers {
            let allowed = *path == format!("providers/{name}.rs")
                || path.starts_with(&format!("providers/{name}/"))
                || path == "providers/mod.rs";
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

/// A file's module path: `send/claim.rs` is `send::claim`, `send/mod.rs` is `send`.
fn file_module(path: &str) -> String {
    let path = path.trim_end_matches(".rs");
    let path = path.strip_suffix("/mod").unwrap_or(path);
    match path {
        "lib" | "main" => String::new(),
        _ => path.replace('/', "::"),
    }
}

/// The modules of the crate that a file's code names (`crate::a::b`, `super::x`, a child
/// module `x::` of a `mod.rs`), resolved to the longest module path that is a file.
fn file_imports(path: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let own = file_module(path);
    let parent = own
        .rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_string());
    let join = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            format!("{a}::{b}")
        }
    };
    let mut found = BTreeSet::new();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !ident(chars[i]) || (i > 0 && (ident(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        // A path starting here: segments joined by `::`, with `{a, b}` groups.
        let rest: String = chars[i..].iter().take(300).collect();
        let mut paths = vec![];
        expand(&rest, String::new(), &mut paths);
        for full in paths {
            let segments: Vec<&str> = full.split("::").filter(|s| !s.is_empty()).collect();
            // Names resolve from the file's own module: `super` is its parent, `crate` the root.
            let (base, tail) = match segments.first() {
                Some(&"crate") => (String::new(), &segments[1..]),
                Some(&"super") => (parent.clone(), &segments[1..]),
                Some(&"self") => (own.clone(), &segments[1..]),
                _ => (own.clone(), &segments[..]),
            };
            // An item of a module (`super::Item`, `crate::a::Item`) is an import of that module.
            let mut best = (!tail.is_empty() && modules.contains(&base) && segments.len() > 1)
                .then(|| base.clone());
            let mut current = base;
            for segment in tail {
                current = join(&current, segment);
                if modules.contains(&current) {
                    best = Some(current.clone());
                }
            }
            if let Some(target) = best.filter(|t| *t != own) {
                found.insert(target);
            }
        }
        while i < chars.len() && (ident(chars[i]) || chars[i] == ':') {
            i += 1;
        }
    }
    found
}

/// `a::{b, c::d}` as `a::b` and `a::c::d`; a path ends at the first character that is not
/// part of one.
fn expand(text: &str, prefix: String, out: &mut Vec<String>) {
    let mut path = prefix;
    for (at, c) in text.char_indices() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            path.push(c);
        } else if c == '{' && path.ends_with("::") {
            let inner = &text[at + 1..];
            let mut depth = 0;
            let mut start = 0;
            for (j, d) in inner.char_indices() {
                match d {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        expand(inner[start..j].trim(), path.clone(), out);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(inner[start..j].trim(), path.clone(), out);
                        start = j + 1;
                    }
                    _ => {}
                }
            }
            return;
        } else {
            break;
        }
    }
    if path.contains("::") {
        out.push(path);
    }
}

#[test]
fn no_file_imports_one_that_imports_it_back() {
    let sources = sources();
    let modules: BTreeSet<String> = sources.iter().map(|(p, _)| file_module(p)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, code) in &sources {
        if path == "lib.rs" || path == "main.rs" {
            continue;
        }
        let imports = file_imports(path, code, &modules);
        graph.entry(file_module(path)).or_default().extend(imports);
    }
    assert!(
        graph.get("entry::http").is_some_and(|e| !e.is_empty()),
        "{graph:#?}"
    );
    let mut cyclic = vec![];
    for start in graph.keys() {
        // Depth-first from `start`, looking for `start` again.
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, trail)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    cyclic.push(format!("{} -> {start}", trail.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        cyclic.is_empty(),
        "files in an import cycle:\n{}",
        cyclic.join("\n")
    );
}

#[test]
fn file_imports_are_resolved_through_crate_super_and_child_paths() {
    let modules: BTreeSet<String> = [
        "send",
        "send::claim",
        "send::outcome",
        "infra",
        "infra::aws",
        "error",
    ]
    .map(String::from)
    .into();
    let found = file_imports(
        "send/claim.rs",
        "use super::outcome::Outcome;\nuse crate::{error::ApiError, infra::aws::describe};",
        &modules,
    );
    assert_eq!(
        found,
        ["error", "infra::aws", "send::outcome"]
            .map(String::from)
            .into()
    );
    let found = file_imports(
        "send/mod.rs",
        "use claim::Claim; fn f() { outcome::answer() }",
        &modules,
    );
    assert_eq!(
        found,
        ["send::claim", "send::outcome"].map(String::from).into()
    );
}

#[test]
fn no_comment_cites_a_file_outside_the_repository() {
    let mut offending = vec![];
    for (path, text) in texts() {
        for (n, line) in text.lines().enumerate() {
            let Some(at) = line.find("//") else { continue };
            let comment = line[at..].to_ascii_lowercase();
            if comment.contains("shared/")
                || comment.contains("contract section")
                || comment.contains("contract's")
                || comment.contains("the contract")
            {
                offending.push(format!("src/{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "comments citing what a clone does not hold:\n{}",
        offending.join("\n")
    );
}

#[test]
fn no_two_types_share_a_name() {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut twice = vec![];
    for (path, code) in sources() {
        for line in code.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            for pair in words.windows(2) {
                if ["struct", "enum", "trait", "type"].contains(&pair[0]) {
                    let name: String = pair[1]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if name.is_empty() {
                        continue;
                    }
                    if let Some(other) = seen.insert(name.clone(), path.clone()) {
                        twice.push(format!("{name}: {other} and {path}"));
                    }
                }
            }
        }
    }
    assert!(twice.is_empty(), "types of one name:\n{}", twice.join("\n"));
}

/// A provider reaches the tests through its fixture alone: every provider of the registry has
/// its fixture file and every fixture is a provider of the registry, and no test file names a
/// test-only provider (`echo`) in a string, so that what covers it is the registry, not a
/// line of the harness. Adding a provider is then its file, its registry line and its
/// fixture (and its simulator arm for local runs).
#[test]
fn a_provider_reaches_the_tests_through_its_fixture_alone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures: BTreeSet<String> = std::fs::read_dir(root.join("tests/api/support/providers"))
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            (path.extension()? == "json")
                .then(|| path.file_stem().unwrap().to_string_lossy().into())
        })
        .collect();
    let registry: BTreeSet<String> = wa_dispatch::providers::REGISTRY
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    assert_eq!(fixtures, registry, "fixture files and the registry");
    let test_only = crate::support::fixtures::test_only();
    assert!(
        !test_only.is_empty(),
        "the tests' build has a test-only provider"
    );
    let mut offending = vec![];
    for (path, text) in texts_under("tests") {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            if test_only
                .iter()
                .any(|name| code.contains(&format!("\"{name}\"")))
            {
                offending.push(format!("tests/{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "test files naming a test-only provider:\n{}",
        offending.join("\n")
    );
}
