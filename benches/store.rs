//! The sled backend's two hot paths after issue 18: the in-memory near-duplicate index at a
//! million stories, and the writer.
//!
//! - `near_index`: a [`NearIndex`] of 1,000,000 stories, keyed by the [`near::signature`]s of
//!   generated titles — Chinese and English, one in four decorated as content farms decorate,
//!   mostly distinct (a few words drawn from a vocabulary), and one in ten a templated
//!   look-alike (`Story number N about markets`, `北向资金增持N万股`) so that some buckets are
//!   crowded. Built once, untimed by criterion; its build time (titles and signatures, then the
//!   inserts alone), item and entry counts and the resident memory it added (`VmRSS` before and
//!   after, so it includes the allocator's slack) are printed to stderr. Then `hits(keys, 8)`
//!   (the deduplicator's [`PER_KEY`]) is measured for 1,000 titles per iteration that are
//!   (a) stored, (b) new and distinct, (c) new look-alikes of the crowded templates; throughput
//!   is lookups. The average number of hits a lookup returns is printed for each set.
//! - `writer`: new stories committed to a sled store (`Store::open` on a temporary directory,
//!   the default 64 MB cache), 1, 16, 256 or 1,024 per `commit` (more than 256 are written in
//!   several transactions, as the store always does); throughput is stories. The stories are
//!   made by the deduplicator itself (`dedup::ingest` of generated entries, each with a link
//!   and a summary of a few hundred bytes, into a scratch store, then read back): a pool of
//!   16,384, committed round and round under fresh keys, so records and index keys are what
//!   the pipeline writes. Each batch size writes into a store of its own, which grows as the
//!   bench runs; its final size is printed.
//!
//! `cargo bench --bench store` (one group: `cargo bench --bench store -- near_index`). Every one
//! of the million titles gets its own signature; the untimed setup takes about 15 s in release
//! (11 s of it the index), the whole run about two minutes. Numbers go to
//! `docs/PERFORMANCE.md`.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use feedsift::dedup::index::PER_KEY;
use feedsift::dedup::{self, near, DedupSettings};
use feedsift::model::{Category, Classification, Item, SourceRef, StoredItem};
use feedsift::store::near_mem::NearIndex;
use feedsift::store::{Batch, Store};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Stories in the index.
const STORIES: u64 = 1_000_000;
/// Titles looked up per measured iteration.
const LOOKUPS: u64 = 1_000;
/// Distinct stories the writer commits round and round.
const POOL: usize = 16_384;

const PLACES: &str =
    "北京市 上海市 重庆市 成都市 广州市 深圳市 杭州市 武汉市 西安市 南京市 天津市 \
                      长沙市 郑州市 济南市 青岛市 苏州市 昆明市 贵阳市 南宁市 福州市 厦门市 合肥市 \
                      沈阳市 大连市 哈尔滨市 石家庄市 太原市 兰州市 银川市 乌鲁木齐市";
const ZH: &str = "召开 专题会议 部署 安全生产 工作 发布 暴雨 蓝色预警 基层 矛盾纠纷 调解 \
                  专项行动 推进 乡村振兴 高质量发展 营商环境 优化 银行 信用卡 逾期 利率 下调 \
                  房地产 市场 成交量 回升 新能源汽车 销量 增长 出口 数据 公布 一季度 经济 运行 \
                  平稳 开局 教育 改革 试点 医保 政策 调整 养老金 上调 巴西龟 饲养方法 注意事项 \
                  旅游 景区 门票 免费 开放 地铁 新线 开通 运营 高考 报名 人数 创新高 科技 创新 \
                  大会 开幕 文化 遗产 保护 食品 安全 检查 环境 治理 成效 明显 人才 引进 计划";
const EN: &str = "central bank holds interest rates steady council approves new budget for \
                  schools river flooding closes roads storm warning issued across the region \
                  election results delayed railway strike ends after talks harvest falls short \
                  exports rise in march factory output slows housing market cools tech firm \
                  reports record profit shares tumble on weak outlook minister resigns over \
                  scandal court rules in favour of workers city unveils climate plan hospital \
                  waiting lists grow airline cancels flights union calls";
/// Content-farm decorations, (before, after).
const DECOR: &[(&str, &str)] = &[
    ("每日焦点!", ""),
    ("", "|环球快资讯"),
    ("【环球报资讯】", "_当前独家"),
    ("", " - 天天要闻"),
];
/// The subjects of the Chinese look-alike template.
const HOLDERS: &[&str] = &["北向资金", "社保基金", "控股股东", "高管"];

/// SplitMix64: the generator's deterministic randomness.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Story `i`'s key: 32 lower-case hex digits, as the deduplicator's keys are.
fn key_of(i: u64) -> String {
    format!("{:016x}{:016x}", mix(i), mix(!i))
}

/// Generated titles: story `i`'s title is the same on every call.
struct Titles {
    places: Vec<&'static str>,
    zh: Vec<&'static str>,
    en: Vec<&'static str>,
}

impl Titles {
    fn new() -> Titles {
        let words = |s: &'static str| s.split_whitespace().collect();
        Titles {
            places: words(PLACES),
            zh: words(ZH),
            en: words(EN),
        }
    }

    /// Whether story `i` is a templated look-alike (one in ten).
    fn lookalike(i: u64) -> bool {
        i % 20 < 2
    }

    /// Story `i`'s title: by `i % 20`, 0 an English look-alike, 1 a Chinese one, 2 to 13 a
    /// Chinese title (a place and three to five words), 14 to 19 an English one (six to eight
    /// words); one distinct title in four decorated.
    fn title(&self, i: u64) -> String {
        let mut r = mix(i);
        let mut pick = |from: &[&'static str]| {
            r = mix(r);
            from[(r % from.len() as u64) as usize]
        };
        let n = i / 20;
        let plain = match i % 20 {
            0 => return format!("Story number {n} about markets"),
            1 => return format!("{}增持{}.{:02}万股", pick(HOLDERS), n / 100, n % 100),
            2..=13 => {
                let mut t = pick(&self.places).to_string();
                for _ in 0..3 + mix(i ^ 1) % 3 {
                    t.push_str(pick(&self.zh));
                }
                t
            }
            _ => {
                let words: Vec<&str> = (0..6 + mix(i ^ 1) % 3).map(|_| pick(&self.en)).collect();
                let t = words.join(" ");
                let mut c = t.chars();
                c.next()
                    .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
            }
        };
        match mix(i ^ 2) % 8 {
            d @ 0..=1 => {
                let (pre, post) = DECOR[(d * 2 + (mix(i ^ 3) % 2)) as usize];
                format!("{pre}{plain}{post}")
            }
            _ => plain,
        }
    }

    /// A summary of a few hundred bytes for story `i`.
    fn summary(&self, i: u64, title: &str) -> String {
        let mut s = format!("<p>{title}。");
        let mut k = 0;
        while s.len() < 280 + (mix(i ^ 4) % 200) as usize {
            k += 1;
            s.push_str(self.zh[(mix(i ^ (k << 8)) % self.zh.len() as u64) as usize]);
            if k % 6 == 0 {
                s.push('，');
            }
        }
        s.push_str("。</p>");
        s
    }
}

/// This process's resident memory in bytes (`VmRSS` of `/proc/self/status`), if known.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn bench_near_index(c: &mut Criterion) {
    let titles = Titles::new();
    let rss_before = resident_bytes();
    let (mut signing, mut inserting) = (Duration::ZERO, Duration::ZERO);
    let mut index = NearIndex::default();
    let chunk = 10_000;
    for from in (0..STORIES).step_by(chunk) {
        let started = Instant::now();
        let stories: Vec<(String, Vec<u64>)> = (from..(from + chunk as u64).min(STORIES))
            .map(|i| (key_of(i), near::signature(&titles.title(i))))
            .collect();
        signing += started.elapsed();
        let started = Instant::now();
        for (i, (key, sig)) in (from..).zip(&stories) {
            index.insert(i + 1, key, sig);
        }
        inserting += started.elapsed();
    }
    let rss_after = resident_bytes();
    eprintln!(
        "near_index: {} stories: titles, keys and signatures {:.2} s, inserts {:.2} s; {} items, {} entries ({:.2} per item)",
        STORIES,
        signing.as_secs_f64(),
        inserting.as_secs_f64(),
        index.items(),
        index.entries(),
        index.entries() as f64 / index.items().max(1) as f64,
    );
    match (rss_before, rss_after) {
        (Some(before), Some(after)) => {
            let added = after.saturating_sub(before);
            eprintln!(
                "near_index: resident memory {:.1} MB before, {:.1} MB after: {:.1} MB for the index, {:.0} bytes per story",
                before as f64 / 1e6,
                after as f64 / 1e6,
                added as f64 / 1e6,
                added as f64 / STORIES as f64,
            );
        }
        _ => eprintln!("near_index: resident memory not measured (no /proc/self/status)"),
    }

    // Lookup sets, LOOKUPS titles each: stored ones picked at random; new ones after the
    // stored, distinct or look-alike.
    let stored: Vec<u64> = (0..LOOKUPS).map(|k| mix(k ^ 0x5eed) % STORIES).collect();
    let fresh = |crowded: bool| -> Vec<u64> {
        (STORIES..)
            .filter(|i| Titles::lookalike(*i) == crowded)
            .take(LOOKUPS as usize)
            .collect()
    };
    let sets = [
        ("stored", stored),
        ("new", fresh(false)),
        ("crowded", fresh(true)),
    ];
    let mut g = c.benchmark_group("near_index");
    g.throughput(Throughput::Elements(LOOKUPS));
    for (name, ids) in sets {
        let sigs: Vec<Vec<u64>> = ids
            .iter()
            .map(|i| near::signature(&titles.title(*i)))
            .collect();
        let hits: usize = sigs.iter().map(|s| index.hits(s, PER_KEY).len()).sum();
        eprintln!(
            "near_index/hits/{name}: {:.1} hits per lookup",
            hits as f64 / sigs.len() as f64
        );
        g.bench_function(BenchmarkId::new("hits", name), |b| {
            b.iter(|| {
                sigs.iter()
                    .map(|s| index.hits(black_box(s), PER_KEY).len())
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

/// [`POOL`] stories as the deduplicator makes them: generated entries ingested 50 per
/// response from 64 feeds into a scratch store, read back.
fn pool(titles: &Titles) -> Vec<StoredItem> {
    let scratch = Store::open_temporary().unwrap();
    let settings = DedupSettings::default();
    let now = chrono::Utc::now();
    let classify = |item: &Item| Classification {
        category: Category::ALL[item.title.len() % Category::ALL.len()],
        confidence: 0.7,
        runner_up: None,
        regions: vec![],
    };
    let ids: Vec<u64> = (0..POOL as u64).collect();
    for (response, chunk) in ids.chunks(50).enumerate() {
        let feed = format!("f{}", response % 64);
        let src = SourceRef {
            feed_id: feed.clone(),
            title: feed.to_uppercase(),
            url: format!("http://{feed}.example.cn/rss"),
        };
        let items = chunk
            .iter()
            .map(|&i| {
                let title = titles.title(i);
                Item {
                    link: Some(format!("http://{feed}.example.cn/a/{i}.html")),
                    summary: Some(titles.summary(i, &title)),
                    published: Some(now - chrono::Duration::minutes(i as i64)),
                    ..Item::titled(&feed, &title)
                }
            })
            .collect();
        dedup::ingest(&scratch, &src, items, &classify, &settings, None, now).unwrap();
    }
    let stories: Vec<StoredItem> = scratch.newest_first().map(Result::unwrap).collect();
    assert!(stories.iter().all(|s| !s.near.is_empty()));
    stories
}

fn bench_writer(c: &mut Criterion) {
    let titles = Titles::new();
    let started = Instant::now();
    let pool = pool(&titles);
    let bytes: usize = pool
        .iter()
        .map(|s| s.item.title.len() + s.item.summary.as_ref().map_or(0, String::len))
        .sum();
    eprintln!(
        "writer: a pool of {} stories ({} entries ingested) in {:.1} s, title and summary {:.0} bytes on average",
        pool.len(),
        POOL,
        started.elapsed().as_secs_f64(),
        bytes as f64 / pool.len() as f64,
    );
    let mut g = c.benchmark_group("writer");
    g.sample_size(10);
    for per_commit in [1usize, 16, 256, 1024] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 64 << 20).unwrap();
        // Each commit's stories: the pool's next, under fresh keys (untimed).
        let mut next = 0u64;
        let mut batch = || {
            let new = (0..per_commit)
                .map(|_| {
                    let mut story = pool[next as usize % pool.len()].clone();
                    story.key = key_of(next);
                    story.seq = 0;
                    next += 1;
                    story
                })
                .collect();
            Batch {
                new,
                ..Default::default()
            }
        };
        g.throughput(Throughput::Elements(per_commit as u64));
        let id = BenchmarkId::new("new_stories_per_commit", per_commit);
        g.bench_function(id, |b| {
            let commit = |batch| store.commit(batch, None).unwrap();
            b.iter_batched(&mut batch, commit, BatchSize::SmallInput)
        });
        eprintln!(
            "writer/{per_commit}: the store holds {} stories",
            store.len().unwrap()
        );
    }
    g.finish();
}

criterion_group!(benches, bench_near_index, bench_writer);
criterion_main!(benches);
