//! The command line as users type it: check, poll --once, export, serve, demo.

mod common;

use common::{free_port, text};

use common::{serve_standard_fixtures, write_config, write_config_listen, Publisher};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn feedsift(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_feedsift"));
    c.current_dir(dir)
        .args(args)
        .env_remove("FEEDSIFT_CONFIG")
        .env_remove("FEEDSIFT_DATA_DIR")
        .env("RUST_LOG", "warn");
    c
}

async fn run(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

async fn wait_for(url: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(url).await {
            if let Ok(body) = r.text().await {
                if ok(&body) {
                    return body;
                }
            }
        }
        assert!(Instant::now() < deadline, "{url} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A child's log, read line by line as it is written, so a test can wait for an event the
/// process reports instead of sleeping: each line wakes the waiters.
struct Log(tokio::sync::watch::Receiver<String>);

impl Log {
    fn follow(stderr: std::process::ChildStderr) -> Log {
        let (tx, rx) = tokio::sync::watch::channel(String::new());
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                tx.send_modify(|b| {
                    b.push_str(&line);
                    b.push('\n');
                });
            }
        });
        Log(rx)
    }

    /// Waits (bounded) until the log has a line containing `what`.
    async fn wait_for(&self, what: &str) {
        let mut rx = self.0.clone();
        let seen = tokio::time::timeout(Duration::from_secs(60), rx.wait_for(|b| b.contains(what)))
            .await
            .map(|r| r.is_ok());
        assert!(
            seen == Ok(true),
            "never logged {what:?}:\n{}",
            *self.0.borrow()
        );
    }
}

/// Kills the child when a test fails half-way, so no `feedsift serve` outlives it.
struct Reap(Option<std::process::Child>);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_accepts_good_and_rejects_bad_configs_with_location() {
    let p = Publisher::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &p, "");
    let out = run(feedsift(dir.path(), &["check"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("feeds.toml: ok (7 feeds, 3 outputs)"),
        "{}",
        text(&out.stdout)
    );

    // The bundled feeds.toml is valid.
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml");
    let out = run(feedsift(
        dir.path(),
        &["check", "--config", bundled.to_str().unwrap()],
    ))
    .await;
    assert!(
        out.status.success(),
        "bundled feeds.toml: {}",
        text(&out.stderr)
    );

    let bad = dir.path().join("bad.toml");
    let cases = [
        (
            "[[feed]]\nid = \"a\"\nurl = \"https://e.com/\"\nschedule = \"0 0 * * 1-5\"\n",
            "bad.toml:4:12: cron expression",
        ),
        (
            "[[feed]]\nid = \"a\"\nurl = \"https://e.com/\"\ncolour = 1\n",
            "bad.toml:4:1: unknown field `colour`",
        ),
        (
            "[[feed]]\nid = \"a\"\nurl = \"e.com\"\n",
            "bad.toml:3:7: `e.com` is not a valid URL",
        ),
    ];
    for (toml, want) in cases {
        std::fs::write(&bad, toml).unwrap();
        let out = run(feedsift(dir.path(), &["check", "--config", "bad.toml"])).await;
        assert_eq!(out.status.code(), Some(2), "{toml}");
        assert!(
            text(&out.stderr).starts_with(want),
            "{toml}: {}",
            text(&out.stderr)
        );
    }
    // A missing file names itself; FEEDSIFT_CONFIG is honoured.
    let mut c = feedsift(dir.path(), &["check"]);
    c.env("FEEDSIFT_CONFIG", "nowhere.toml");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nowhere.toml: cannot read config"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_once_then_export() {
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &p, "");

    let out = run(feedsift(dir.path(), &["poll", "--once"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "feeds: 4 ok, 0 not modified, 2 failed; items: 12 new, 1 duplicate\n"
    );
    let err = text(&out.stderr);
    assert!(err.contains("failed: missing: fetch: HTTP 404"), "{err}");
    assert!(err.contains("failed: broken: parse"), "{err}");

    let out = run(feedsift(dir.path(), &["poll", "--once"])).await;
    assert_eq!(
        text(&out.stdout),
        "feeds: 0 ok, 4 not modified, 2 failed; items: 0 new, 0 duplicate\n"
    );

    for format in ["rss", "atom", "json"] {
        let out = run(feedsift(
            dir.path(),
            &["export", "finance", "--format", format],
        ))
        .await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let feed = feed_rs::parser::parse(out.stdout.as_slice()).unwrap();
        // The Chinese finance stories and the English markets ones, and nothing else.
        assert!(feed.entries.len() >= 4, "{format}: {}", feed.entries.len());
        for e in &feed.entries {
            let t = &e.title.as_ref().unwrap().content;
            assert!(
                !t.contains("巴西龟") && !t.contains("暴雨") && !t.contains("联席会议"),
                "{format}: {t}"
            );
        }
    }
    let out = run(feedsift(dir.path(), &["export", "merged", "--limit", "3"])).await;
    assert_eq!(
        feed_rs::parser::parse(out.stdout.as_slice())
            .unwrap()
            .entries
            .len(),
        3
    );

    // Bad input to export: unknown output, bad format, bad limit.
    let out = run(feedsift(dir.path(), &["export", "sports"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no such output `sports`"));
    let out = run(feedsift(
        dir.path(),
        &["export", "merged", "--format", "pdf"],
    ))
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown format `pdf`"),
        "{}",
        text(&out.stderr)
    );
    let out = run(feedsift(dir.path(), &["export", "merged", "--limit", "0"])).await;
    assert!(text(&out.stderr).contains("--limit must be between 1 and 1000"));

    // --data-dir overrides the config's data_dir; an unusable store is fatal.
    std::fs::write(dir.path().join("a-file"), "x").unwrap();
    let out = run(feedsift(
        dir.path(),
        &["poll", "--once", "--data-dir", "a-file"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("a-file"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_polls_serves_reloads_on_sighup_and_shuts_down_cleanly_on_sigterm() {
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    write_config_listen(dir.path(), &p, &format!("127.0.0.1:{port}"), "");
    let child = feedsift(dir.path(), &["serve"])
        .env("RUST_LOG", "feedsift=info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = Reap(Some(child));
    let log = Log::follow(guard.0.as_mut().unwrap().stderr.take().unwrap());
    let pid = guard.0.as_ref().unwrap().id().to_string();
    // Never-polled feeds are polled at start-up, not at their first cron time.
    let merged = format!("http://127.0.0.1:{port}/feeds/merged.rss");
    let body = wait_for(&merged, |b| b.matches("<item>").count() == 12).await;
    assert!(body.contains("巴西龟"));
    // SIGHUP reloads the config (unchanged here, so nothing is re-applied) and the service
    // goes on.
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    log.wait_for("SIGHUP: reloading config").await;
    wait_for(&format!("http://127.0.0.1:{port}/healthz"), |b| b == "ok\n").await;
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut child = guard.0.take().unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    log.wait_for("store flushed").await;
    // The store was flushed and released: export reads it directly, and agrees with HTTP.
    let out = run(feedsift(dir.path(), &["export", "merged"])).await;
    assert_eq!(text(&out.stdout), body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_sample_feeds_with_no_internet() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let demo_dir = dir.path().join("demo");
    let child = feedsift(
        dir.path(),
        &[
            "demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--dir",
            demo_dir.to_str().unwrap(),
        ],
    )
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut guard = Reap(Some(child));
    let fin = wait_for(
        &format!("http://127.0.0.1:{port}/feeds/finance.json"),
        |b| b.contains("北向资金"),
    )
    .await;
    assert!(!fin.contains("巴西龟"));
    let index = wait_for(&format!("http://127.0.0.1:{port}/"), |b| {
        b.contains("no-pets")
    })
    .await;
    assert!(index.contains("/feeds/politics.rss"));
    let child = guard.0.take().unwrap();
    sigterm(&child);
    let status = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap().status)
        .await
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_opml_appends_feeds_and_keeps_comments() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = "# The admin's notes stay.\n[service]\nlisten = \"127.0.0.1:8080\" # port\n\n[[feed]]\nid = \"bbc\"\nurl = \"https://feeds.bbci.co.uk/news/world/rss.xml\"\n";
    std::fs::write(dir.path().join("feeds.toml"), cfg).unwrap();
    std::fs::write(
        dir.path().join("reader.opml"),
        r#"<?xml version="1.0"?><opml version="1.0"><body><outline text="News">
           <outline text="BBC" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
           <outline text="人民网 时政" type="rss" xmlUrl="http://www.people.com.cn/rss/politics.xml"/>
           <outline title="The Guardian" xmlUrl="https://www.theguardian.com/world/rss"/></outline></body></opml>"#,
    )
    .unwrap();
    let out = run(feedsift(dir.path(), &["import-opml", "reader.opml"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("feeds.toml: 2 feeds added, 1 already present, 0 invalid"),
        "{}",
        text(&out.stdout)
    );
    let new = std::fs::read_to_string(dir.path().join("feeds.toml")).unwrap();
    assert!(new.starts_with(cfg), "{new}");
    assert!(
        new.contains("id = \"the-guardian\"")
            && new.contains("url = \"http://www.people.com.cn/rss/politics.xml\""),
        "{new}"
    );
    let out = run(feedsift(dir.path(), &["check"])).await;
    assert!(
        text(&out.stdout).contains("(3 feeds, 1 outputs)"),
        "{}",
        text(&out.stdout)
    );
    // Again: nothing to add. A broken OPML changes nothing.
    let out = run(feedsift(dir.path(), &["import-opml", "reader.opml"])).await;
    assert!(text(&out.stdout).contains("0 feeds added, 3 already present"));
    std::fs::write(
        dir.path().join("bad.opml"),
        "<opml><body><outline xmlUrl=\"http://x/\"></opml>",
    )
    .unwrap();
    let out = run(feedsift(dir.path(), &["import-opml", "bad.opml"])).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("bad.opml"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("feeds.toml")).unwrap(),
        new
    );

    // Feeds on loopback or private addresses are refused unless asked for.
    std::fs::write(
        dir.path().join("inside.opml"),
        r#"<opml version="1.0"><body><outline text="Router" xmlUrl="http://192.168.1.1/rss"/>
           <outline text="Local" xmlUrl="http://localhost:8080/feed.xml"/>
           <outline text="Metadata" xmlUrl="http://[::ffff:169.254.169.254]/latest"/></body></opml>"#,
    )
    .unwrap();
    let out = run(feedsift(dir.path(), &["import-opml", "inside.opml"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("0 feeds added") && said.contains("3 refused"),
        "{said}"
    );
    assert!(
        said.contains("refused http://192.168.1.1/rss: 192.168.1.1 is a private address"),
        "{said}"
    );
    assert!(said.contains("--allow-private"), "{said}");
    let out = run(feedsift(
        dir.path(),
        &["import-opml", "inside.opml", "--allow-private"],
    ))
    .await;
    assert!(
        text(&out.stdout)
            .contains("3 feeds added, 0 already present, 0 invalid URLs left out, 0 refused"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_on_port_zero_publishes_the_port_it_got_also_after_a_reload() {
    use std::io::{BufRead, BufReader};
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    let dir = tempfile::tempdir().unwrap();
    // No `public_url`: it is derived from `listen`, whose port 0 means "any free port".
    let path = write_config_listen(dir.path(), &p, "127.0.0.1:0", "");
    let cfg = std::fs::read_to_string(&path).unwrap();
    let cfg = cfg.replace("public_url = \"http://feeds.test/\"\n", "");
    std::fs::write(&path, &cfg).unwrap();
    let mut child = feedsift(dir.path(), &["serve"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let pid = child.id().to_string();
    let _guard = Reap(Some(child));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = |what: &str| {
        rx.recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no {what} on stderr"))
    };
    let base = loop {
        if let Some(rest) = line("start-up line").strip_prefix("feedsift: serving on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(!base.ends_with(":0/"), "{base}");
    // The feed URLs printed for the admin are reachable ones.
    let first = line("feed URL");
    assert!(
        first.trim().starts_with(&format!("{base}feeds/")),
        "{first}"
    );

    let body = wait_for(&format!("{base}feeds/merged.rss"), |b| {
        b.matches("<item>").count() == 12
    })
    .await;
    assert!(body.contains(&format!("{base}feeds/merged.rss")), "{body}");
    assert!(!body.contains(":0/"), "{body}");

    // A reload keeps the bound port (the file still says port 0).
    let cfg = format!("{cfg}\n[[output]]\nname = \"added\"\ncategories = [\"finance\"]\n");
    std::fs::write(&path, cfg).unwrap();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let json = wait_for(&format!("{base}feeds/added.json"), |b| {
        b.contains("\"feed_url\"")
    })
    .await;
    assert!(
        json.contains(&format!("\"feed_url\":\"{base}feeds/added.json\""))
            || json.contains(&format!("\"feed_url\": \"{base}feeds/added.json\"")),
        "{json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rough_edges_of_the_command_line_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    // Run where there is no feeds.toml: the error says where it looked and how to name one.
    let out = run(feedsift(dir.path(), &["check"])).await;
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for want in [
        "feeds.toml: cannot read config",
        "--config",
        "FEEDSIFT_CONFIG",
        &dir.path().canonicalize().unwrap().display().to_string(),
    ] {
        assert!(err.contains(want), "{want:?} in {err}");
    }

    // A missing data file is named once, its reason said once.
    for args in [
        &["eval", "dedup", "missing.jsonl"][..],
        &["train", "--data", "missing.jsonl", "--out", "m.bin"][..],
    ] {
        let out = run(feedsift(dir.path(), args)).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.matches("missing.jsonl").count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("No such file").count(), 1, "{args:?}: {err}");
    }

    // `export --format xml` is not silently RSS: the formats there are are listed.
    let out = run(feedsift(
        dir.path(),
        &["export", "merged", "--format", "xml"],
    ))
    .await;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown format `xml`") && err.contains("rss, atom or json"),
        "{err}"
    );

    // A busy address: the failure names it and how to choose another, and no URL to open is
    // printed before it.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let demo_dir = dir.path().join("demo");
    let out = run(feedsift(
        dir.path(),
        &[
            "demo",
            "--listen",
            &addr,
            "--dir",
            demo_dir.to_str().unwrap(),
        ],
    ))
    .await;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on {addr}")) && err.contains("--listen"),
        "{err}"
    );
    assert!(
        !err.contains("open http") && !err.contains("serving on"),
        "{err}"
    );
    let cfg = dir.path().join("busy.toml");
    std::fs::write(
        &cfg,
        format!("[service]\nlisten = \"{addr}\"\ndata_dir = \"store\"\n\n[[feed]]\nid = \"a\"\nurl = \"http://127.0.0.1:9/a.rss\"\n"),
    )
    .unwrap();
    let out = run(feedsift(dir.path(), &["serve", "--config", "busy.toml"])).await;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on {addr}"))
            && err.contains("[service] listen")
            && err.contains("busy.toml"),
        "{err}"
    );
    assert!(!err.contains("serving on"), "{err}");
    drop(busy);
}

/// The `_feedsift.story` id of the item titled `title` in an exported JSON Feed.
fn story_of(json_feed: &[u8], title: &str) -> String {
    let v: serde_json::Value = serde_json::from_slice(json_feed).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == title)
        .unwrap_or_else(|| panic!("no `{title}` in {v}"))["_feedsift"]["story"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_then_corrections_export_feeds_train() {
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &p, "");
    let d = dir.path();

    // Before any poll there is no store to correct in.
    let out = run(feedsift(d, &["label", "urn:feedsift:00", "other"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no store in ./store (run `feedsift poll --once`"),
        "{}",
        text(&out.stderr)
    );

    let out = run(feedsift(d, &["poll", "--once"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let title = "A股三大指数集体收涨 券商板块领涨";
    let out = run(feedsift(d, &["export", "merged", "--format", "json"])).await;
    let id = story_of(&out.stdout, title);

    // Bad input: an unknown label (checked first), an unknown item.
    let out = run(feedsift(d, &["label", &id, "sports"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "feedsift: unknown label `sports`: use one of regional_politics, finance, lifestyle, other\n"
    );
    let out = run(feedsift(d, &["label", "urn:feedsift:00ff", "other"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no item `urn:feedsift:00ff` in the store (sled)"),
        "{}",
        text(&out.stderr)
    );

    let out = run(feedsift(d, &["label", &id, "lifestyle"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("relabelled {id}: finance -> lifestyle (correction 1, \"{title}\")\n")
    );
    let out = run(feedsift(d, &["export", "finance"])).await;
    assert!(
        !text(&out.stdout).contains(title),
        "left the finance output"
    );

    // The export: one training line per corrected item, its newest correction.
    let out = run(feedsift(d, &["label", &id, "other"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(feedsift(d, &["corrections", "export"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = text(&out.stdout);
    assert_eq!(lines.lines().count(), 1, "{lines}");
    let line: serde_json::Value = serde_json::from_str(lines.trim()).unwrap();
    assert_eq!(
        (
            &line["title"],
            &line["label"],
            &line["source"],
            &line["previous"]
        ),
        (
            &serde_json::Value::from(title),
            &serde_json::Value::from("other"),
            &serde_json::Value::from("money"),
            &serde_json::Value::from("lifestyle")
        )
    );
    assert_eq!(line["summary"], "沪指涨0.8%，两市成交额超9000亿元。");
    assert_eq!(
        (&line["item"], &line["by"]),
        (
            &serde_json::Value::from(id.as_str()),
            &serde_json::Value::from("cli")
        )
    );
    assert!(
        line.get("weight").is_none(),
        "train gives it --correction-weight"
    );
    let out = run(feedsift(
        d,
        &["corrections", "export", "--output", "corr.jsonl"],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "1 corrections written to corr.jsonl\n");
    assert_eq!(
        std::fs::read_to_string(d.join("corr.jsonl")).unwrap(),
        lines
    );

    // `train --corrections` reads exactly what the export wrote.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/labelled.jsonl");
    let out = run(feedsift(
        d,
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--corrections",
            "corr.jsonl",
            "--epochs",
            "1",
            "--out",
            "m.bin",
        ],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("trained on 13 items"),
        "12 labelled + 1 correction: {}",
        text(&out.stdout)
    );
}
