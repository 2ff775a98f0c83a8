//! The house rules of `src/`, checked on every `cargo test` so they cannot silently rot:
//!
//! - **Layers.** `src/lib.rs` lists the layers (`//! N. `module`, `module` — …` lines under
//!   "Layers"); a module may use (`crate::name` in code, tests aside) only modules of *lower*
//!   layers. That rules out import cycles too, and names the offending file and line when broken.
//! - **Function size.** No function in `src/` is longer than [`MAX_FN_LINES`] lines, tests
//!   aside: a function the size of a module is a module waiting to be named.
//!
//! Reads the source as text (comments, string literals and `#[cfg(test)]` items removed), so it
//! needs no compiler plug-in and runs in milliseconds.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The longest a function in `src/` may be, in lines from its signature to its closing brace.
const MAX_FN_LINES: usize = 120;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let p = entry.expect("directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The source with comments and string/char literals blanked (newlines kept, so line numbers
/// stay right).
fn strip_comments_and_strings(s: &str) -> String {
    let b: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_char_before(&b, i)
        {
            // Raw string r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < b.len() {
                if b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &x in &b[i..j.min(b.len())] {
                out.push(blank(x));
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && is_char_literal(&b, i) {
            let mut j = i + 1;
            if b[j] == '\\' {
                j += 1;
            }
            j += 1;
            while j < b.len() && b[j] != '\'' {
                j += 1;
            }
            out.push_str("' '");
            for _ in i + 3..=j {
                out.push(' ');
            }
            i = j + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_char_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// Whether the `'` at `i` opens a char literal (not a lifetime or label).
fn is_char_literal(b: &[char], i: usize) -> bool {
    matches!(
        (b.get(i + 1), b.get(i + 2)),
        (Some('\\'), _) | (Some(_), Some('\''))
    )
}

/// `stripped` with every item under `#[cfg(test)]` blanked (newlines kept).
fn strip_test_items(stripped: &str) -> String {
    let mut b: Vec<char> = stripped.chars().collect();
    let pat: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + pat.len() <= b.len() {
        if b[i..i + pat.len()] != pat[..] {
            i += 1;
            continue;
        }
        // The item ends at the first `;` before any `{`, or at the `}` matching its first `{`.
        let mut j = i + pat.len();
        let mut depth = 0usize;
        while j < b.len() {
            match b[j] {
                ';' if depth == 0 => break,
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        for c in b.iter_mut().take((j + 1).min(stripped.len())).skip(i) {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = j + 1;
    }
    b.into_iter().collect()
}

/// A file's code as the checks see it: no comments, no literals, no test items.
fn code_of(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    strip_test_items(&strip_comments_and_strings(&text))
}

/// The top-level module a file of `src/` belongs to (`None` for `lib.rs` and `main.rs`).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).expect("under src/");
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// The top-level modules `code` refers to as `crate::name` or `crate::{name, …}`, each with
/// the first line it appears on.
fn references(code: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before_ok = at == 0
                || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$');
            rest = &rest[at + "crate::".len()..];
            if !before_ok {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for part in group[..end].split(',') {
                    let name: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != "self" {
                        out.entry(name).or_insert(n + 1);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.entry(name).or_insert(n + 1);
                }
            }
        }
    }
    out
}

/// The layers as `src/lib.rs` declares them: module name → layer number.
fn declared_layers() -> BTreeMap<String, u32> {
    let lib = fs::read_to_string(src().join("lib.rs")).expect("read src/lib.rs");
    let mut layers = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.strip_prefix("//! ") else {
            continue;
        };
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() || !rest[digits.len()..].starts_with(". ") {
            continue;
        }
        let layer: u32 = digits.parse().expect("layer number");
        // The module names are the back-ticked words before the dash.
        let names = rest.split(" — ").next().unwrap_or("");
        for name in names.split('`').skip(1).step_by(2) {
            let previous = layers.insert(name.to_string(), layer);
            assert!(previous.is_none(), "src/lib.rs puts `{name}` in two layers");
        }
    }
    layers
}

/// The modules `src/lib.rs` declares (`pub mod name;`).
fn declared_modules() -> BTreeSet<String> {
    let lib = code_of(&src().join("lib.rs"));
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(|n| n.trim().to_string())
        })
        .collect()
}

#[test]
fn every_module_uses_only_lower_layers() {
    let layers = declared_layers();
    let modules = declared_modules();
    assert!(
        !layers.is_empty(),
        "src/lib.rs declares no layers (`//! 0. `model` — …` lines)"
    );
    let undeclared: Vec<_> = modules
        .iter()
        .filter(|m| !layers.contains_key(*m))
        .collect();
    assert!(
        undeclared.is_empty(),
        "modules missing from src/lib.rs's layers: {undeclared:?}"
    );
    let stale: Vec<_> = layers.keys().filter(|m| !modules.contains(*m)).collect();
    assert!(
        stale.is_empty(),
        "src/lib.rs's layers name modules that do not exist: {stale:?}"
    );

    let mut violations = Vec::new();
    let mut edges = BTreeSet::new();
    for file in rust_files(&src()) {
        let Some(from) = module_of(&file) else {
            continue;
        };
        for (to, line) in references(&code_of(&file)) {
            if to == from || !modules.contains(&to) {
                continue;
            }
            edges.insert((from.clone(), to.clone()));
            if layers[&to] >= layers[&from] {
                violations.push(format!(
                    "{}:{line}: `{from}` (layer {}) uses `{to}` (layer {})",
                    file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                        .unwrap_or(&file)
                        .display(),
                    layers[&from],
                    layers[&to]
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "a module may use only modules of lower layers (src/lib.rs, \"Layers\"):\n{}",
        violations.join("\n")
    );
    // The check saw the graph: a reader that found no edge at all would pass vacuously.
    assert!(
        edges.len() > 20,
        "only {} module edges found: is the parser broken?",
        edges.len()
    );
}

/// `(lines, file, line, name)` of every function in `code` (a stripped file).
fn functions(code: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let Some(at) = t.find("fn ") else { continue };
        let head = &t[..at];
        let qualifiers_only = head
            .split_whitespace()
            .all(|w| w.starts_with("pub") || ["async", "const", "unsafe", "extern"].contains(&w));
        if !qualifiers_only {
            continue;
        }
        let name: String = t[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // Find the body's opening brace (or a `;`: a declaration), then its matching close.
        let mut depth = 0usize;
        let mut opened = false;
        'scan: for (j, body_line) in lines.iter().enumerate().skip(i) {
            let start = if j == i { l.len() - t.len() + at } else { 0 };
            for c in body_line.chars().skip(start) {
                match c {
                    ';' if !opened => break 'scan,
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => {
                        depth -= 1;
                        if opened && depth == 0 {
                            out.push((j - i + 1, i + 1, name.clone()));
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

#[test]
fn no_function_in_src_is_longer_than_the_limit() {
    let mut long = Vec::new();
    let mut seen = 0;
    for file in rust_files(&src()) {
        for (len, line, name) in functions(&code_of(&file)) {
            seen += 1;
            if len > MAX_FN_LINES {
                long.push(format!(
                    "{}:{line}: fn {name} is {len} lines",
                    file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                        .unwrap_or(&file)
                        .display()
                ));
            }
        }
    }
    assert!(
        seen > 200,
        "only {seen} functions found: is the parser broken?"
    );
    assert!(
        long.is_empty(),
        "functions longer than {MAX_FN_LINES} lines (split them into named steps):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_must() {
    // The stripping keeps code and drops comments, literals and test items.
    let code = strip_test_items(&strip_comments_and_strings(
        "use crate::a;\n// crate::b\nlet s = \"crate::c\";\nlet r = r#\"crate::d\"#;\n\
         let ch = '{';\n#[cfg(test)]\nmod tests {\n    use crate::e;\n}\nuse crate::{f, g::h};\n",
    ));
    let refs: Vec<String> = references(&code).into_keys().collect();
    assert_eq!(refs, ["a", "f", "g"]);
    // A function's length runs from its signature to its closing brace.
    let f =
        functions("fn short() {\n    x();\n}\npub(crate) async fn two() -> u8 { 2 }\nfn decl();\n");
    assert_eq!(
        f,
        vec![(3, 1, "short".to_string()), (1, 4, "two".to_string())]
    );
}
