//! The categorizer through the CLI: classify, eval categorizer, train, and a trained model
//! named in feeds.toml.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn feedsift(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedsift"))
        .current_dir(dir)
        .args(args)
        .env_remove("FEEDSIFT_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn classify_json_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let input = "川渝党政联席会议第八次会议在重庆召开\n{\"title\": \"北向资金增持3.54万股\", \"summary\": \"某科技股份公告\"}\n\n";
    let out = feedsift(dir.path(), &["classify", "--json", "--explain"], input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["label"], "regional_politics");
    assert_eq!(lines[0]["regions"], serde_json::json!(["重庆市", "四川省"]));
    assert!(lines[0]["confidence"].as_f64().unwrap() > 0.5);
    assert!(lines[0]["runner_up"].is_string());
    assert!(!lines[0]["features"].as_array().unwrap().is_empty());
    assert_eq!(lines[1]["label"], "finance");

    // Plain output: label, confidence, runner-up, regions, tab-separated.
    let out = feedsift(
        dir.path(),
        &["classify"],
        "成都市开展基层矛盾纠纷调解专项行动\n",
    );
    let line = text(&out.stdout);
    let cols: Vec<&str> = line.trim_end().split('\t').collect();
    assert_eq!(cols[0], "regional_politics", "{line}");
    assert!(
        cols[3].contains("成都市") && cols[3].contains("四川省"),
        "{line}"
    );

    // Bad input names the line.
    let out = feedsift(
        dir.path(),
        &["classify"],
        "fine title\n{\"summary\": \"no title\"}\n",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("stdin line 2"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn eval_prints_scores_and_the_confusion_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let out = feedsift(
        dir.path(),
        &["eval", "categorizer", &fixture("labelled.jsonl")],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("confusion (rows: gold, columns: predicted)"),
        "{report}"
    );
    let last = report.lines().last().unwrap();
    assert!(
        last.starts_with("macro_f1=") && last.ends_with(" n=12"),
        "{last}"
    );
    let f1: f64 = last["macro_f1=".len()..last.find(' ').unwrap()]
        .parse()
        .unwrap();
    assert!(f1 >= 0.75, "the shipped model on clear-cut items: {last}");

    let out = feedsift(dir.path(), &["eval", "categorizer", "missing.jsonl"], "");
    assert!(!out.status.success());
    std::fs::write(
        dir.path().join("bad.jsonl"),
        "{\"title\": \"x\", \"label\": \"sports\"}\n",
    )
    .unwrap();
    let out = feedsift(dir.path(), &["eval", "categorizer", "bad.jsonl"], "");
    assert!(
        text(&out.stderr).contains("bad.jsonl:1: unknown category `sports`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn train_is_deterministic_and_a_config_can_use_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("labelled.jsonl");
    let out = feedsift(
        dir.path(),
        &[
            "train", "--data", &data, "--dev", &data, "--out", "m/a.bin", "--epochs", "30",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("trained on 12 items") && report.contains("macro_f1="),
        "{report}"
    );
    let out = feedsift(
        dir.path(),
        &[
            "train", "--data", &data, "--out", "m/b.bin", "--epochs", "30",
        ],
        "",
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(dir.path().join("m/a.bin")).unwrap(),
        std::fs::read(dir.path().join("m/b.bin")).unwrap()
    );

    // A feeds.toml naming that model, with a keyword override.
    std::fs::write(
        dir.path().join("feeds.toml"),
        "[categorize]\nmodel = \"m/a.bin\"\nlifestyle = [\"巴西龟\"]\n",
    )
    .unwrap();
    let out = feedsift(
        dir.path(),
        &["classify", "--explain"],
        "红烧肉的家常做法\n巴西龟概念股大涨\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert!(lines[0].starts_with("lifestyle"), "{lines:?}");
    assert!(
        lines[1].starts_with("lifestyle\t1.000")
            && lines[1].contains("[keyword `巴西龟` forces lifestyle]"),
        "{lines:?}"
    );

    // A broken model file is a clear error.
    std::fs::write(dir.path().join("m/a.bin"), b"garbage").unwrap();
    let out = feedsift(dir.path(), &["classify"], "x\n");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a feedsift categorizer model"),
        "{}",
        text(&out.stderr)
    );
    let out = feedsift(
        dir.path(),
        &["train", "--data", "nothing.jsonl", "--out", "x.bin"],
        "",
    );
    assert!(!out.status.success());
}

/// Every item of the demo's sample feeds lands in the outputs it should, and in no other: the
/// demo's own config and feed server, polled once, each output exported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_item_is_in_the_right_outputs() {
    use feedsift::app::cmd::demo::{demo_config, serve_files, SAMPLE_FEEDS};
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feeds_at = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_files(listener, SAMPLE_FEEDS));
    let listen: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    std::fs::write(
        dir.path().join("feeds.toml"),
        demo_config(feeds_at, listen, dir.path()),
    )
    .unwrap();
    let d = dir.path().to_path_buf();
    let outputs = tokio::task::spawn_blocking(move || {
        let out = feedsift(&d, &["poll", "--once"], "");
        assert!(out.status.success(), "{}", text(&out.stderr));
        ["finance", "politics", "no-pets", "merged"].map(|o| {
            let out = feedsift(&d, &["export", o, "--format", "json"], "");
            assert!(out.status.success(), "{}", text(&out.stderr));
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let mut titles: Vec<String> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["title"].as_str().unwrap().to_string())
                .collect();
            titles.sort();
            (o, titles)
        })
    })
    .await
    .unwrap();
    server.abort();
    let has = |o: &str, t: &str| {
        outputs
            .iter()
            .find(|(n, _)| *n == o)
            .unwrap()
            .1
            .iter()
            .any(|x| x.contains(t))
    };
    // (title, in Finance only, in Regional politics, in Everything but pets)
    let want = [
        ("川渝党政联席会议第八次会议在重庆召开", false, true, true),
        ("北向资金增持3.54万股", true, false, true),
        ("巴西龟的饲养方法", false, false, false),
        ("信用卡逾期了怎么办", true, false, true),
        ("成都市开展基层矛盾纠纷调解专项行动", false, true, true),
        ("气象台发布暴雨蓝色预警", false, false, true),
        (
            "Central bank holds interest rate as stocks rally",
            true,
            false,
            true,
        ),
        ("Ten recipes for a cold evening", false, false, true),
        ("Local team wins the cup final", false, false, true),
        (
            "How to make your phone battery last longer",
            false,
            false,
            true,
        ),
        (
            "Chipmaker earnings beat forecasts; shares jump",
            true,
            false,
            true,
        ),
        ("A股三大指数集体收涨 券商板块领涨", true, false, true),
    ];
    for (t, fin, pol, nopets) in want {
        assert!(
            has("merged", t),
            "{t} is not in the merged feed: {outputs:?}"
        );
        assert_eq!(has("finance", t), fin, "{t} in Finance only: {outputs:?}");
        assert_eq!(
            has("politics", t),
            pol,
            "{t} in Regional politics: {outputs:?}"
        );
        assert_eq!(
            has("no-pets", t),
            nopets,
            "{t} in Everything but pets: {outputs:?}"
        );
    }
    // Every item of the merged feed is one of those above.
    let merged = &outputs.iter().find(|(n, _)| *n == "merged").unwrap().1;
    for m in merged {
        assert!(
            want.iter().any(|(t, ..)| m.contains(t)),
            "unexpected item {m}"
        );
    }
}

#[test]
fn corrections_weigh_in_and_loso_and_by_source_report_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("labelled.jsonl");
    // The fixture has no source: its file is its group. Two files make two groups.
    let lines = std::fs::read_to_string(&data).unwrap();
    let all: Vec<&str> = lines.lines().collect();
    let a: Vec<&str> = all.iter().step_by(2).copied().collect();
    let b: Vec<&str> = all.iter().skip(1).step_by(2).copied().collect();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    std::fs::write(dir.path().join("more/a.jsonl"), a.join("\n")).unwrap();
    std::fs::write(dir.path().join("more/b.jsonl"), b.join("\n")).unwrap();
    let out = feedsift(
        dir.path(),
        &["train", "--data", "more", "--loso", "--epochs", "30"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("\na ") && report.contains("\nb ") && report.contains("loso_score="),
        "{report}"
    );

    // A correction, weighed: the title the data calls one thing, the admin another.
    let t = "四川省委召开常委会会议 研究部署防汛工作";
    std::fs::write(
        dir.path().join("corr.jsonl"),
        format!("{{\"title\": \"{t}\", \"label\": \"other\"}}\n"),
    )
    .unwrap();
    let classify = |model: &str| {
        std::fs::write(
            dir.path().join("feeds.toml"),
            format!("[categorize]\nmodel = \"{model}\"\n"),
        )
        .unwrap();
        let out = feedsift(dir.path(), &["classify"], &format!("{t}\n"));
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    for (args, want) in [
        (vec!["--out", "plain.bin"], "regional_politics"),
        (
            vec![
                "--out",
                "fixed.bin",
                "--corrections",
                "corr.jsonl",
                "--correction-weight",
                "20",
            ],
            "other",
        ),
    ] {
        let mut all = vec!["train", "--data", "more", "--epochs", "30"];
        all.extend(args.iter().copied());
        let out = feedsift(dir.path(), &all, "");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let model = args[1];
        let got = classify(model);
        assert!(got.starts_with(want), "{args:?}: {got}");
    }

    // eval --by-source: one row per group, then the pooled scores.
    let out = feedsift(
        dir.path(),
        &["eval", "categorizer", "--by-source", "more"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("\na ")
            && report.contains("\nb ")
            && report
                .lines()
                .last()
                .unwrap()
                .starts_with("mean_source_accuracy="),
        "{report}"
    );
}
