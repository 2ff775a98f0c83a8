//! Publisher throughput: rendering one output page of 100 stored items in each format (what a
//! render-cache miss costs), per core: with every item's text kept from an earlier page (`warm`:
//! an ad-hoc query over items shown before), with items never rendered (`first`: each item's
//! text made and kept), and with items nobody else holds (`unshared`, as PostgreSQL reads them:
//! the page rendered in one piece).
//!
//! `cargo bench --bench publish`. Numbers go to `docs/PERFORMANCE.md`.

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use feedsift::dedup::{self, DedupSettings};
use feedsift::model::{Category, Classification, Item, SourceRef};
use feedsift::publish::{render_page, Format, PageLinks};
use feedsift::store::Store;
use std::hint::black_box;
use url::Url;

fn bench(c: &mut Criterion) {
    let store = Store::open_temporary().unwrap();
    let source = SourceRef {
        feed_id: "f".into(),
        title: "Farm".into(),
        url: "http://e.com/rss".into(),
    };
    let items: Vec<Item> = (0..100)
        .map(|i| Item {
            link: Some(format!("http://e.com/{i}")),
            summary: Some(format!(
                "<p>成都市开展基层矛盾纠纷调解专项行动，第{i}期。</p><p><a href=\"http://e.com/{i}\">more</a></p>"
            )),
            published: Some(Utc::now()),
            ..Item::titled("f", &format!("成都市开展基层矛盾纠纷调解专项行动（第{i}期）"))
        })
        .collect();
    let class = |_: &Item| Classification {
        category: Category::RegionalPolitics,
        confidence: 0.9,
        runner_up: None,
        regions: vec![510_000_000_000, 510_100_000_000],
    };
    dedup::ingest(
        &store,
        &source,
        items,
        &class,
        &DedupSettings::default(),
        None,
        Utc::now(),
    )
    .unwrap();
    let page: Vec<_> = store
        .newest_first_paged(None, None, 100)
        .map(Result::unwrap)
        .collect();
    assert_eq!(page.len(), 100);
    let config = feedsift::config::parse(
        "[[feed]]\nid = \"f\"\nurl = \"http://e.com/rss\"\n",
        std::path::Path::new("feeds.toml"),
    )
    .unwrap();
    let output = config.output("merged").unwrap();
    let public = Url::parse("http://feeds.example/").unwrap();
    let mut g = c.benchmark_group("render_100_items");
    g.throughput(Throughput::Elements(100));
    for (name, format) in [
        ("rss", Format::Rss),
        ("atom", Format::Atom),
        ("json", Format::Json),
    ] {
        let render = |page: &[std::sync::Arc<feedsift::model::StoredItem>]| {
            render_page(
                format,
                &output,
                black_box(page),
                &public,
                true,
                &PageLinks::default(),
            )
        };
        g.bench_function(format!("{name}/warm"), |b| b.iter(|| render(&page)));
        // New `Arc`s of the same items, held by nobody else (as PostgreSQL reads them): the page
        // is rendered in one piece, nothing is kept.
        g.bench_function(format!("{name}/unshared"), |b| {
            b.iter_batched(
                || {
                    page.iter()
                        .map(|i| std::sync::Arc::new((**i).clone()))
                        .collect::<Vec<_>>()
                },
                |fresh| render(&fresh),
                criterion::BatchSize::SmallInput,
            )
        });
        // New `Arc`s also held elsewhere (as the embedded store's cache holds what it decoded),
        // never rendered before: every item's text is made on its own and kept.
        g.bench_function(format!("{name}/first"), |b| {
            b.iter_batched(
                || {
                    let fresh: Vec<_> = page
                        .iter()
                        .map(|i| std::sync::Arc::new((**i).clone()))
                        .collect();
                    (fresh.clone(), fresh)
                },
                |(fresh, _held)| render(&fresh),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
