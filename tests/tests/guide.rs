//! The guide is compiled: `tests/src/lib.rs` includes every page as a doc test, so each Rust
//! block builds and, unless it is `no_run`, runs against the embedded engine. This checks that no
//! page is left out of that and that no block escapes it.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

/// Blocks that compile but cannot run in the suite, and why: page, count, reason.
const NOT_RUN: &[(&str, usize, &str)] = &[
    (
        "docs/src/getting-started.md",
        1,
        "its main sends to real AWS; the next block runs the same code locally",
    ),
    (
        "docs/src/client.md",
        1,
        "a profile and an assumed role of a real account",
    ),
    ("docs/src/resilience.md", 1, "a client for a real region"),
    (
        "docs/src/containers.md",
        1,
        "needs the project's container images (run by tests/tests/containers.rs)",
    ),
    (
        "docs/src/iam.md",
        1,
        "a command-line main: without arguments it exits with its usage",
    ),
];

/// Blocks shown as they are because they are whole files the suite builds and runs elsewhere
/// (a test of another crate): page and file. Such a block must be that file, to the byte.
const WHOLE_FILES: &[(&str, &str)] = &[(
    "docs/src/testing.md",
    "tests/user-service/tests/under_policy.rs",
)];

/// Languages of blocks that are not Rust.
const OTHER_LANGUAGES: &[&str] = &["toml", "sh", "text", "yaml", "json"];

/// Every page of the guide, the architecture page and the README.
fn pages() -> Vec<PathBuf> {
    let root = workspace();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| !p.ends_with("SUMMARY.md"))
        .collect();
    pages.push(root.join("docs/architecture.md"));
    pages.push(root.join("README.md"));
    pages.sort();
    pages
}

fn relative(page: &Path) -> String {
    page.strip_prefix(workspace())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A page's fenced blocks: the line each opens on, its info string and its text.
fn fences(text: &str) -> Vec<(usize, String, String)> {
    let mut open: Option<(usize, String, String)> = None;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match (line.trim_start().strip_prefix("```"), open.as_mut()) {
            (Some(info), None) => open = Some((n + 1, info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => out.extend(open.take()),
            (None, Some((_, _, body))) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a fenced block is not closed");
    out
}

#[test]
fn every_page_is_a_doc_test() {
    let lib = std::fs::read_to_string(workspace().join("tests/src/lib.rs")).unwrap();
    let summary = std::fs::read_to_string(workspace().join("docs/src/SUMMARY.md")).unwrap();
    for page in pages() {
        let rel = relative(&page);
        let include = format!("include_str!(\"../../{rel}\")");
        assert!(
            lib.contains(&include),
            "{rel} is not included in tests/src/lib.rs"
        );
        if let Some(name) = rel.strip_prefix("docs/src/") {
            assert!(
                summary.contains(&format!("]({name})")),
                "{rel} is not in SUMMARY.md"
            );
        }
    }
}

#[test]
fn no_block_is_skipped() {
    let mut not_run = Vec::new();
    for page in pages() {
        let rel = relative(&page);
        let text = std::fs::read_to_string(&page).unwrap();
        let mut count = 0;
        for (line, info, body) in fences(&text) {
            let words: Vec<&str> = info.split(',').map(str::trim).collect();
            match words.as_slice() {
                ["rust"] => {}
                ["rust", "no_run"] => count += 1,
                ["rust", "ignore"] if is_whole_file(&rel, &body) => {}
                [lang] if OTHER_LANGUAGES.contains(lang) => {}
                _ => panic!(
                    "{rel}:{line}: a block marked `{info}`: Rust blocks are `rust` (run) or \
                     `rust,no_run` (listed in NOT_RUN); others name their language"
                ),
            }
        }
        if count > 0 {
            not_run.push((rel, count));
        }
    }
    let expected: Vec<(String, usize)> = NOT_RUN
        .iter()
        .map(|(page, n, _)| (page.to_string(), *n))
        .collect();
    not_run.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(
        not_run, expected_sorted,
        "blocks that do not run: only those in NOT_RUN"
    );
}

fn is_whole_file(page: &str, body: &str) -> bool {
    WHOLE_FILES.iter().any(|(p, file)| {
        *p == page && std::fs::read_to_string(workspace().join(file)).unwrap() == body
    })
}

#[test]
fn every_whole_file_is_shown_as_it_is() {
    for (page, file) in WHOLE_FILES {
        let text = std::fs::read_to_string(workspace().join(page)).unwrap();
        assert!(
            fences(&text)
                .iter()
                .any(|(_, info, body)| info == "rust,ignore" && is_whole_file(page, body)),
            "{page} does not show {file} as it is"
        );
    }
    // An edited copy is not the file.
    let (page, file) = WHOLE_FILES[0];
    let body = std::fs::read_to_string(workspace().join(file)).unwrap();
    assert!(!is_whole_file(
        page,
        &body.replacen("assert", "debug_assert", 1)
    ));
}

#[test]
fn fences_are_read_with_their_text() {
    let text = "a\n```rust,ignore\nlet x = 1;\n```\n```\nplain\n```\n";
    let blocks = fences(text);
    assert_eq!(
        blocks[0],
        (2, "rust,ignore".to_string(), "let x = 1;\n".to_string())
    );
    assert_eq!(blocks[1].1, "");
}
