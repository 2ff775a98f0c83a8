//! JSON-lines files of labelled data (`feedsift train`, `feedsift eval …`): read line by line,
//! with errors that name the file and the line.

use serde::de::DeserializeOwned;
use std::path::Path;

/// A JSON-lines file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not what was expected.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Reads every non-blank line of `path` as a `T`, then passes it through `check`, which may
/// refuse it with a message (reported with the line number).
pub fn read<T: DeserializeOwned, U>(
    path: &Path,
    mut check: impl FnMut(T) -> Result<U, String>,
) -> Result<Vec<U>, JsonlError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| JsonlError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let err = |message: String| JsonlError::Line {
            path: shown.clone(),
            line: i + 1,
            message,
        };
        let v: T = serde_json::from_str(l).map_err(|e| err(e.to_string()))?;
        out.push(check(v).map_err(err)?);
    }
    Ok(out)
}
