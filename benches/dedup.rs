//! Deduplicator throughput: ingesting decorated re-posts into a store, each with its exact and
//! near-duplicate lookups; one big document of look-alike titles in one response (its cost per
//! entry must not grow with the document: compare the 1,000 and 4,000 rows); and the title
//! rules on their own.
//!
//! `cargo bench --bench dedup`. Numbers go to `docs/PERFORMANCE.md`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use feedsift::dedup::{self, near, title, DedupSettings};
use feedsift::model::{Category, Classification, Item, SourceRef};
use feedsift::store::Store;
use std::hint::black_box;

const TOPICS: &[&str] = &[
    "川渝党政联席会议在重庆召开",
    "北向资金增持股份公告发布",
    "巴西龟的饲养方法与注意事项",
    "信用卡逾期了怎么办银行这样说",
    "成都市开展基层矛盾纠纷调解专项行动",
    "Central bank holds interest rates steady",
];
const DECOR: &[(&str, &str)] = &[
    ("每日焦点!", ""),
    ("", "|环球快资讯"),
    ("【环球报资讯】", "_当前独家"),
    ("", ""),
];

fn items(n: usize, feed: &str) -> Vec<Item> {
    (0..n)
        .map(|i| {
            let (pre, suf) = DECOR[i % DECOR.len()];
            Item {
                link: Some(format!("http://{feed}.example.cn/a/{i}.html")),
                summary: Some(format!("<p>摘要 {i}</p>")),
                ..Item::titled(
                    feed,
                    &format!("{pre}{}第{}期{suf}", TOPICS[i % TOPICS.len()], i / 3),
                )
            }
        })
        .collect()
}

fn classify(_: &Item) -> Classification {
    Classification {
        category: Category::Other,
        confidence: 0.5,
        runner_up: None,
        regions: vec![],
    }
}

fn bench_ingest(c: &mut Criterion) {
    let mut g = c.benchmark_group("dedup_ingest");
    let n = 1000;
    // Two feeds of n items each: the second re-posts the first's stories under other
    // decorations, with templated titles that differ only by a number (the index's worst case).
    g.throughput(Throughput::Elements(2 * n as u64));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("insert_and_lookup", n), |b| {
        b.iter_with_setup(
            || {
                (
                    Store::open_temporary().unwrap(),
                    items(n, "a"),
                    items(n, "b"),
                )
            },
            |(store, a, b)| {
                let settings = DedupSettings::default();
                let now = chrono::Utc::now();
                for (feed, batch) in [("a", a), ("b", b)] {
                    let src = SourceRef {
                        feed_id: feed.into(),
                        title: feed.into(),
                        url: format!("http://{feed}/"),
                    };
                    for chunk in batch.chunks(50) {
                        dedup::ingest(
                            &store,
                            &src,
                            chunk.to_vec(),
                            &classify,
                            &settings,
                            None,
                            now,
                        )
                        .unwrap();
                    }
                }
                black_box(store.len().unwrap())
            },
        )
    });
    g.finish();
}

/// One response of `n` look-alike titles (`Story number N about markets`), into an empty store:
/// every entry shares the band buckets of all the others, so a per-entry cost that grew with the
/// document would show as a lower rate at 4,000 than at 1,000.
fn bench_one_document(c: &mut Criterion) {
    let mut g = c.benchmark_group("dedup_one_document");
    g.sample_size(10);
    for n in [1000usize, 4000] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("lookalike", n), |b| {
            b.iter_with_setup(
                || {
                    let items: Vec<Item> = (0..n)
                        .map(|i| Item {
                            link: Some(format!("http://big.example/story/{i}.html")),
                            ..Item::titled("big", &format!("Story number {i} about markets"))
                        })
                        .collect();
                    (Store::open_temporary().unwrap(), items)
                },
                |(store, items)| {
                    let src = SourceRef {
                        feed_id: "big".into(),
                        title: "big".into(),
                        url: "http://big/".into(),
                    };
                    let settings = DedupSettings::default();
                    let counts = dedup::ingest(
                        &store,
                        &src,
                        items,
                        &classify,
                        &settings,
                        None,
                        chrono::Utc::now(),
                    )
                    .unwrap();
                    black_box(counts.new)
                },
            )
        });
    }
    g.finish();
}

fn bench_titles(c: &mut Criterion) {
    let a = "【环球报资讯】成都市开展基层矛盾纠纷调解专项行动_当前独家";
    let b = "每日焦点!成都市开展基层矛盾纠纷调解专项行动|环球快资讯";
    c.bench_function("title_clean", |bch| bch.iter(|| title::clean(black_box(a))));
    c.bench_function("near_signature", |bch| {
        bch.iter(|| near::signature(black_box(a)))
    });
    c.bench_function("near_same_story", |bch| {
        bch.iter(|| near::same_story(black_box(a), black_box(b)))
    });
}

criterion_group!(benches, bench_ingest, bench_one_document, bench_titles);
criterion_main!(benches);
