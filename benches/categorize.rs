//! Categorizer throughput: the shipped model classifying titles (with region tagging), per core.
//!
//! `cargo bench --bench categorize`. Numbers go to `docs/PERFORMANCE.md`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use feedsift::categorize::{Categorizer, ModelCategorizer};
use feedsift::model::Item;
use std::hint::black_box;

const TITLES: &[&str] = &[
    "川渝党政联席会议第八次会议在重庆召开",
    "北向资金增持3.54万股 某科技股份公告",
    "巴西龟的饲养方法",
    "信用卡逾期了怎么办？银行这样说",
    "成都市开展基层矛盾纠纷调解专项行动",
    "气象台发布暴雨蓝色预警",
    "Central bank holds interest rate as stocks rally",
    "Chipmaker earnings beat forecasts; shares jump",
];

fn bench(c: &mut Criterion) {
    let cat = ModelCategorizer::embedded().unwrap();
    let items: Vec<Item> = TITLES.iter().map(|t| Item::titled("f", t)).collect();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(items.len() as u64));
    g.bench_function("titles", |b| {
        b.iter(|| {
            for it in &items {
                black_box(cat.classify(black_box(it)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
