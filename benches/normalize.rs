//! Normaliser throughput: decode + parse + sanitise + URL resolution of whole feed documents,
//! the repair pass on an ill-formed one, and title cleaning, per core.
//!
//! `cargo bench --bench normalize`. Numbers go to `docs/PERFORMANCE.md`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use feedsift::dedup::title;
use feedsift::normalize::{parse_feed, repair};
use std::hint::black_box;
use url::Url;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let base = Url::parse("http://news.example.cn/rss.xml").unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    let mut g = c.benchmark_group("normalize");
    for (name, ct) in [
        ("zh-news-gb2312.xml", Some("text/xml")),
        ("world.atom", Some("application/atom+xml")),
        ("money.rss", Some("application/rss+xml; charset=utf-8")),
    ] {
        let body = fixture(name);
        let n = parse_feed(&body, ct, &base, "f", tz).unwrap().items.len();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(name, |b| {
            b.iter(|| parse_feed(black_box(&body), ct, &base, "f", tz).unwrap())
        });
    }
    // An ill-formed document: feed-rs rejects it, the repair pass fixes it, feed-rs parses it.
    let mut broken = String::from("<rss><channel><title>t</title>");
    for i in 0..20 {
        broken.push_str(&format!(
            "<item><title>AT&T story {i} &nbsp;&mdash; news</title><link>http://e.com/{i}?a=1&b=2</link><description>x &eacute; y</description></item>"
        ));
    }
    broken.push_str("</channel></rss>");
    g.throughput(Throughput::Elements(20));
    g.bench_function("ill-formed, repaired", |b| {
        b.iter(|| parse_feed(black_box(broken.as_bytes()), None, &base, "f", tz).unwrap())
    });
    g.throughput(Throughput::Bytes(broken.len() as u64));
    g.bench_function("repair pass alone", |b| {
        b.iter(|| repair::repair(black_box(&broken)))
    });
    g.finish();

    let titles = [
        "每日焦点!川渝党政联席会议在重庆召开|环球快资讯",
        "【环球报资讯】巴西龟的饲养方法_当前独家",
        "Central bank holds interest rates steady - Daily Briefing",
    ];
    let mut g = c.benchmark_group("title");
    g.throughput(Throughput::Elements(titles.len() as u64));
    g.bench_function("clean", |b| {
        b.iter(|| {
            for t in &titles {
                black_box(title::clean(black_box(t)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
