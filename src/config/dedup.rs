//! `[dedup]`: how stories are merged, and whether published titles are cleaned.
//!
//! Takes: the table's raw keys. Gives: [`DedupSettings`] for the deduplicator (which reads them
//! from here, so the configuration needs nothing from `dedup`) and the `clean_titles` switch.
//! Guarantees: both default to on; unknown keys are refused by the TOML layer.

use serde::Deserialize;

/// How the deduplicator behaves; `[dedup]` in `feeds.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupSettings {
    /// Merge copies of a story under other decorations from other feeds (layer 3).
    pub near_duplicates: bool,
}

impl Default for DedupSettings {
    fn default() -> Self {
        DedupSettings {
            near_duplicates: true,
        }
    }
}

/// `[dedup]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDedup {
    #[serde(default = "super::yes")]
    near_duplicates: bool,
    #[serde(default = "super::yes")]
    clean_titles: bool,
}

impl Default for RawDedup {
    fn default() -> Self {
        RawDedup {
            near_duplicates: true,
            clean_titles: true,
        }
    }
}

/// The deduplicator's settings and `clean_titles`; nothing in `[dedup]` can be invalid once it
/// deserialised.
pub(super) fn parse(raw: RawDedup) -> (DedupSettings, bool) {
    (
        DedupSettings {
            near_duplicates: raw.near_duplicates,
        },
        raw.clean_titles,
    )
}
