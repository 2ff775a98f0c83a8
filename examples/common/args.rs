//! Command-line flags of the examples (`--name value`), without a dependency: each example
//! includes this file (`#[path = "common/args.rs"] mod args;`).

/// The value after `name` in `args`, or `default`.
pub fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}
