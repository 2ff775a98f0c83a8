//! Tells the test suite what this machine has, at build time, so that a test that cannot run
//! here is reported as *ignored, with the reason*, never as `ok` (cargo test's summary counts
//! it): `feedsift_postgres` when `FEEDSIFT_TEST_POSTGRES` names a server, `feedsift_shared_data`
//! when `../shared/data/feeds` (the real-world corpus) sits next to the project. The library
//! and the binary do not use either.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(feedsift_postgres)");
    println!("cargo::rustc-check-cfg=cfg(feedsift_shared_data)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=FEEDSIFT_TEST_POSTGRES");
    if std::env::var("FEEDSIFT_TEST_POSTGRES").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=feedsift_postgres");
    }
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let corpus = Path::new(&manifest).join("../shared/data/feeds");
    if corpus.is_dir() {
        println!("cargo::rustc-cfg=feedsift_shared_data");
        println!("cargo::rerun-if-changed={}", corpus.display());
    }
}
