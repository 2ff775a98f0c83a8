//! `feedsift import-opml FILE`: a feed reader's export added to `feeds.toml`.
//!
//! Takes: the config path and an OPML file. Gives: the file's new feeds appended to the config,
//! its comments and layout kept ([`crate::opml::import`]), and a count on stdout. Guarantees:
//! the result is validated before it replaces the file, atomically (a temporary file renamed
//! over it, which a running `serve` then reloads); feeds on loopback, private or link-local
//! addresses are refused unless `--allow-private`.

use crate::config;
use anyhow::Context as _;
use std::net::{IpAddr, ToSocketAddrs};
use std::path::Path;

/// Runs `import-opml`: the counts and each added or refused feed on stdout.
pub fn run(config_path: &Path, file: &Path, allow_private: bool) -> anyhow::Result<()> {
    let done = import_opml(config_path, file, allow_private)?;
    println!(
        "{}: {} feeds added, {} already present, {} invalid URLs left out, {} refused",
        config_path.display(),
        done.added.len(),
        done.skipped.len(),
        done.invalid.len(),
        done.refused.len()
    );
    for id in &done.added {
        println!("  + {id}");
    }
    for (url, why) in &done.refused {
        println!("  refused {url}: {why}");
    }
    Ok(())
}

/// `feedsift import-opml`: appends the OPML file's new feeds to the config at `config_path`,
/// validating the result before replacing the file (atomically: a temporary file renamed over
/// it, which a running `serve` then reloads).
pub fn import_opml(
    config_path: &Path,
    opml_path: &Path,
    allow_private: bool,
) -> anyhow::Result<crate::opml::Imported> {
    let opml = std::fs::read_to_string(opml_path)
        .with_context(|| format!("cannot read {}", opml_path.display()))?;
    let toml = match std::fs::read_to_string(config_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("cannot read {}", config_path.display()))
            )
        }
    };
    // An imported list is not the admin's own writing: feeds on loopback, private or
    // link-local addresses are refused unless asked for (`--allow-private`).
    let refuse = |u: &url::Url| (!allow_private).then(|| private_address(u)).flatten();
    let (text, done) = crate::opml::import(&toml, &opml, &refuse)
        .with_context(|| opml_path.display().to_string())?;
    // Never write a config the service would refuse.
    config::parse(&text, config_path)?;
    let tmp = config_path.with_extension("toml.import-tmp");
    std::fs::write(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, config_path)
        .with_context(|| format!("cannot replace {}", config_path.display()))?;
    Ok(done)
}

/// Why `u` is refused when it names (or resolves to) a private address; `None` when it does not.
fn private_address(u: &url::Url) -> Option<String> {
    let host = u.host_str()?.trim_matches(['[', ']']);
    let port = u.port_or_known_default().unwrap_or(80);
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map(|a| a.map(|a| a.ip()).collect())
            .unwrap_or_default(),
    };
    addrs
        .into_iter()
        .find(|a| crate::fetch::is_private_address(*a))
        .map(|a| format!("{host} is a private address ({a}); use --allow-private to import it"))
}
