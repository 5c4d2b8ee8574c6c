//! The crate's layering, read from its sources: which module files name which (`crate::`,
//! `super::` and child-module paths in code outside `#[cfg(test)] mod tests`), checked against
//! the rules of the hexagonal shape:
//!
//! - no cycle between module files (a file naming one of its own ancestors is not an edge: a
//!   child module is part of its parent);
//! - `domain` names nothing outside `domain`, and no AWS, HTTP or Lambda crate;
//! - `ports` names only `domain` and `ports`, and no AWS, HTTP or Lambda crate;
//! - the services (`issuer`, `mdoc`, `publisher`, `pipeline`, `signing`) name no adapter, HTTP,
//!   routing, wiring or Lambda module and no AWS, HTTP or Lambda crate; `issuer` and `mdoc`
//!   speak no JSON values or wire errors (`serde_json::Value`, `json!`, `ApiError`).
//!
//! Test modules and test-only files (`tests.rs`, `*_tests.rs`, `testing.rs`, the contract suite)
//! may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
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

/// The module a file is (`adapters/dynamo/mod.rs` is `adapters::dynamo`), `None` for binaries.
fn module_of(path: &Path) -> Option<Module> {
    let rel = path.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    Some(parts)
}

fn is_test_only(m: &Module) -> bool {
    let last = m.last().map(String::as_str).unwrap_or("");
    last == "tests" || last.ends_with("_tests") || last == "testing" || m.iter().any(|p| p == "contract")
}

/// The code of a file without its comments and its `#[cfg(test)] mod <name> { .. }` blocks.
fn code(text: &str) -> String {
    let text: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("#[cfg(test)]\nmod ") {
        out.push_str(&rest[..at]);
        let block = &rest[at..];
        let Some(open) = block.find('{') else {
            rest = "";
            break;
        };
        if block[..open].contains(';') {
            // `mod tests;`: a file of its own, read as a test-only module.
            let semi = block.find(';').unwrap();
            rest = &block[semi + 1..];
            continue;
        }
        let mut depth = 0;
        let mut end = block.len();
        for (i, c) in block[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &block[end..];
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path in `code` that starts with `head` followed by `::`: its segments, with `use`
/// groups (`a::{b, c::d}`) expanded, one path per leaf.
fn paths_from(code: &str, head: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let pattern: Vec<char> = format!("{head}::").chars().collect();
    let mut i = 0;
    while i + pattern.len() <= bytes.len() {
        let before_ok = i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == ':');
        if before_ok && bytes[i..i + pattern.len()] == pattern[..] {
            let (paths, end) = parse_tail(&bytes, i + pattern.len());
            out.extend(paths);
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Parses `seg::seg::{...}` from `at`; returns every leaf path and where parsing stopped.
fn parse_tail(s: &[char], mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        while at < s.len() && s[at].is_whitespace() {
            at += 1;
        }
        if at < s.len() && s[at] == '{' {
            let mut leaves = Vec::new();
            at += 1;
            loop {
                while at < s.len() && (s[at].is_whitespace() || s[at] == ',') {
                    at += 1;
                }
                if at >= s.len() || s[at] == '}' {
                    at += 1;
                    break;
                }
                let (inner, end) = parse_tail(s, at);
                for p in inner {
                    let mut full = prefix.clone();
                    full.extend(p);
                    leaves.push(full);
                }
                at = end;
                // skip `as alias`
                while at < s.len() && s[at] != ',' && s[at] != '}' {
                    at += 1;
                }
            }
            return (leaves, at);
        }
        let start = at;
        while at < s.len() && is_ident(s[at]) {
            at += 1;
        }
        if start == at {
            return (vec![prefix], at);
        }
        prefix.push(s[start..at].iter().collect());
        if at + 1 < s.len() && s[at] == ':' && s[at + 1] == ':' {
            at += 2;
        } else {
            return (vec![prefix], at);
        }
    }
}

struct Crate {
    modules: BTreeMap<Module, String>,
}

impl Crate {
    fn read() -> Crate {
        let mut files = Vec::new();
        rust_files(&src(), &mut files);
        let modules = files
            .iter()
            .filter_map(|f| Some((module_of(f)?, code(&std::fs::read_to_string(f).unwrap()))))
            .collect();
        Crate { modules }
    }

    /// The longest prefix of `path` that is a module file.
    fn resolve(&self, path: &[String]) -> Option<Module> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| self.modules.contains_key(p))
    }

    /// The module files `m` names, its own ancestors left out.
    fn edges(&self, m: &Module) -> BTreeSet<Module> {
        let code = &self.modules[m];
        let mut targets = BTreeSet::new();
        let children: Vec<String> = code
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let l = l
                    .strip_prefix("pub(crate) ")
                    .or_else(|| l.strip_prefix("pub "))
                    .unwrap_or(l);
                let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
                Some(name.trim().to_string())
            })
            .collect();
        let mut add = |full: Vec<String>| {
            if let Some(t) = self.resolve(&full)
                && t != *m
                && !m.starts_with(&t)
            {
                targets.insert(t);
            }
        };
        for p in paths_from(code, "crate") {
            add(p);
        }
        for p in paths_from(code, "super") {
            let mut base = m[..m.len().saturating_sub(1)].to_vec();
            let mut rest = &p[..];
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            add(base);
        }
        for p in paths_from(code, "self") {
            let mut base = m.clone();
            base.extend(p);
            add(base);
        }
        for child in &children {
            for p in paths_from(code, child) {
                let mut base = m.clone();
                base.push(child.clone());
                base.extend(p);
                add(base);
            }
        }
        targets
    }

    fn graph(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        self.modules.keys().map(|m| (m.clone(), self.edges(m))).collect()
    }
}

fn name(m: &Module) -> String {
    if m.is_empty() { "crate".into() } else { m.join("::") }
}

/// A cycle through `graph`, if there is one (depth-first search, colours).
fn find_cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    fn visit(
        m: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        colour: &mut BTreeMap<Module, Colour>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        colour.insert(m.clone(), Colour::Grey);
        stack.push(m.clone());
        for t in &graph[m] {
            match colour[t] {
                Colour::Grey => {
                    let at = stack.iter().position(|s| s == t).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(t.clone());
                    return Some(cycle);
                }
                Colour::White => {
                    if let Some(c) = visit(t, graph, colour, stack) {
                        return Some(c);
                    }
                }
                Colour::Black => {}
            }
        }
        stack.pop();
        colour.insert(m.clone(), Colour::Black);
        None
    }
    let mut colour: BTreeMap<Module, Colour> = graph.keys().map(|m| (m.clone(), Colour::White)).collect();
    for m in graph.keys() {
        if colour[m] == Colour::White
            && let Some(c) = visit(m, graph, &mut colour, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

const OUTER_CRATES: &[&str] = &[
    "aws_config",
    "aws_sdk_",
    "aws_smithy",
    "aws_lambda_events",
    "axum",
    "lambda_http",
    "lambda_runtime",
    "tower",
    "hyper",
    "reqwest",
];

fn outer_crates_in(code: &str) -> Vec<&'static str> {
    OUTER_CRATES.iter().copied().filter(|c| code.contains(c)).collect()
}

fn top(m: &Module) -> &str {
    m.first().map(String::as_str).unwrap_or("")
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let c = Crate::read();
    let graph = c.graph();
    assert!(
        graph.len() > 50,
        "the crate's modules were read ({} found)",
        graph.len()
    );
    if let Some(cycle) = find_cycle(&graph) {
        let names: Vec<_> = cycle.iter().map(name).collect();
        panic!("module cycle: {}", names.join(" -> "));
    }
}

#[test]
fn the_domain_and_the_ports_look_only_inward() {
    let c = Crate::read();
    let mut findings = Vec::new();
    for (m, code) in &c.modules {
        let allowed: &[&str] = match top(m) {
            "domain" => &["domain"],
            "ports" => &["domain", "ports"],
            _ => continue,
        };
        for t in c.edges(m) {
            if !allowed.contains(&top(&t)) {
                findings.push(format!("{} names {}", name(m), name(&t)));
            }
        }
        for outer in outer_crates_in(code) {
            findings.push(format!("{} uses {outer}", name(m)));
        }
    }
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_services_speak_no_http_and_know_no_adapter() {
    let c = Crate::read();
    let services = ["issuer", "mdoc", "publisher", "pipeline", "signing"];
    let outward = [
        "adapters", "http", "handlers", "routes", "wiring", "app", "lambda", "local",
    ];
    let mut findings = Vec::new();
    let mut checked = 0;
    for (m, code) in &c.modules {
        if !services.contains(&top(m)) || is_test_only(m) {
            continue;
        }
        checked += 1;
        for t in c.edges(m) {
            if outward.contains(&top(&t)) {
                findings.push(format!("{} names {}", name(m), name(&t)));
            }
        }
        for outer in outer_crates_in(code) {
            findings.push(format!("{} uses {outer}", name(m)));
        }
        if matches!(top(m), "issuer" | "mdoc") {
            for wire in ["serde_json::Value", "serde_json::{", "json!", "ApiError"] {
                if code.contains(wire) {
                    findings.push(format!("{} uses {wire}", name(m)));
                }
            }
        }
    }
    assert!(checked >= 10, "the service modules were read ({checked})");
    assert!(findings.is_empty(), "{findings:#?}");
}

/// The reader itself: a cycle, a domain module naming a service, and a service naming HTTP are
/// each found in made-up sources (so the checks above cannot pass by reading nothing).
#[test]
fn the_reader_finds_what_it_looks_for() {
    let mut c = Crate {
        modules: BTreeMap::new(),
    };
    let m = |s: &str| -> Module { s.split("::").map(String::from).collect() };
    c.modules
        .insert(m("a"), "use crate::b::{X, c::Y};\nmod kid;\nfn f() { kid::g() }".into());
    c.modules.insert(m("a::kid"), "use super::Z;".into());
    c.modules.insert(m("b"), "use crate::d::Q;".into());
    c.modules.insert(m("b::c"), "".into());
    c.modules.insert(m("d"), "fn f() -> crate::a::X { todo!() }".into());
    let graph = c.graph();
    assert_eq!(graph[&m("a")], [m("a::kid"), m("b"), m("b::c")].into_iter().collect());
    assert!(graph[&m("a::kid")].is_empty(), "a child naming its parent is no edge");
    let cycle = find_cycle(&graph).expect("a -> b -> d -> a");
    assert_eq!(cycle.first(), cycle.last());
    c.modules.insert(m("d"), "".into());
    assert!(find_cycle(&c.graph()).is_none());
    assert_eq!(
        code("use a; // crate::x::y\n#[cfg(test)]\nmod tests { fn f() { crate::z } }\nfn g() {}"),
        "use a; \n\nfn g() {}"
    );
    assert_eq!(outer_crates_in("use axum::Json;"), ["axum"]);
}
