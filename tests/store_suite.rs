//! One store test suite, run against both backends: sled (always) and PostgreSQL (when
//! `FEEDSIFT_TEST_POSTGRES` names a server; `.ci/run` starts one and requires it).
//!
//! Every behaviour the rest of the project relies on is here once: dedup identity and
//! near-duplicates through the real deduplicator, updates moving their index entries, copies
//! and aliases, retention with tombstones, cursors, feed state, what survives a reopen, the same
//! story raced in by two writers, and migration-style commits that keep sequence numbers.
//! PostgreSQL-only behaviour (leases between instances, schema versions) follows at the end.

mod common;

use chrono::{TimeZone, Utc};
use feedsift::dedup::{self, DedupSettings};
use feedsift::model::{AlsoAt, Category, Classification, FeedState, Item, SourceRef, StoredItem};
use feedsift::store::{Batch, Claim, Store, StoreError};
use std::ops::ControlFlow;
use std::time::Duration;

/// Opens the backend under test, and opens it again as a restarted process (sled) or another
/// instance (PostgreSQL) would.
trait Backend {
    fn open(&self) -> Store;
    /// A second, independent handle: sled allows one process, so it is the same database
    /// reopened after the first handle is dropped; PostgreSQL gets a new connection pool.
    fn reopen(&self) -> Store;
    /// Whether two handles may be open at once (several instances).
    fn shared(&self) -> bool;
}

struct Sled(tempfile::TempDir);

impl Backend for Sled {
    fn open(&self) -> Store {
        for _ in 0..200 {
            match Store::open(self.0.path(), 8 << 20) {
                Err(StoreError::Locked { .. }) => std::thread::sleep(Duration::from_millis(20)),
                other => return other.expect("open sled store"),
            }
        }
        panic!("sled store stayed locked");
    }
    fn reopen(&self) -> Store {
        self.open()
    }
    fn shared(&self) -> bool {
        false
    }
}

struct Pg(common::PgDatabase);

impl Backend for Pg {
    fn open(&self) -> Store {
        Store::connect_postgres(&self.0.url).expect("connect to the test database")
    }
    fn reopen(&self) -> Store {
        self.open()
    }
    fn shared(&self) -> bool {
        true
    }
}

fn source(feed: &str) -> SourceRef {
    SourceRef {
        feed_id: feed.into(),
        title: feed.to_uppercase(),
        url: format!("http://{feed}.example.cn/rss"),
    }
}

/// Commits the feed's edit of `got` (the stored item): a new title, labelled `cat` by the model,
/// under the same key, sequence number and link alias.
fn commit_edit(s: &Store, got: StoredItem, title: &str, cat: Category) {
    let mut edited = stored(&got.key, title, 1, cat);
    edited.seq = got.seq;
    edited.link_alias = got.link_alias.clone();
    s.commit(
        Batch {
            updated: vec![(edited, got)],
            ..Default::default()
        },
        None,
    )
    .unwrap();
}

fn stored(key: &str, title: &str, day: u32, cat: Category) -> StoredItem {
    let item = Item {
        guid: Some(key.into()),
        published: Some(Utc.with_ymd_and_hms(2024, 1, day, 0, 0, 0).unwrap()),
        ..Item::titled("f", title)
    };
    StoredItem {
        key: key.into(),
        seq: 0,
        first_seen: Utc.with_ymd_and_hms(2024, 2, day, 0, 0, 0).unwrap(),
        changed: None,
        digest: item.content_digest(),
        source: source("f"),
        clean_title: title.into(),
        core: String::new(),
        near: dedup::near::signature(title),
        item,
        class: Classification {
            category: cat,
            confidence: 0.5,
            runner_up: None,
            regions: vec![],
        },
        also_at: vec![],
        link_alias: None,
    }
}

/// Feed `g`'s decorated copy of story `a`, under its own key `key` when it has one.
fn decorated_copy_of_a(key: Option<&str>) -> AlsoAt {
    AlsoAt {
        source: source("g"),
        link: Some("http://g/1".into()),
        title: "每日焦点!巴西龟的饲养方法".into(),
        key: key.map(Into::into),
        seen: Utc.with_ymd_and_hms(2024, 2, 2, 0, 0, 0).unwrap(),
    }
}

/// Records `copy` as a copy of the stored story `story`.
fn commit_copy(s: &Store, story: &str, copy: &AlsoAt) {
    s.commit(
        Batch {
            also_at: vec![(story.into(), copy.clone())],
            ..Default::default()
        },
        None,
    )
    .unwrap();
}

/// Stores `a` (lifestyle, day 1) and `b` (finance, day 3).
fn commit_two_stories(s: &Store) {
    s.commit(
        new_batch(vec![
            stored("a", "巴西龟的饲养方法", 1, Category::Lifestyle),
            stored("b", "北向资金增持", 3, Category::Finance),
        ]),
        None,
    )
    .unwrap();
}

fn other() -> Classification {
    Classification {
        category: Category::Other,
        confidence: 0.5,
        runner_up: None,
        regions: vec![],
    }
}

fn titles(it: impl Iterator<Item = Result<StoredItem, StoreError>>) -> Vec<String> {
    it.map(|r| r.unwrap().item.title).collect()
}

fn new_batch(items: Vec<StoredItem>) -> Batch {
    Batch {
        new: items,
        ..Batch::default()
    }
}

fn commit_update_and_indexes(b: &dyn Backend) {
    let s = b.open();
    let a = stored("a", "巴西龟的饲养方法", 1, Category::Lifestyle);
    let bb = stored("b", "北向资金增持", 3, Category::Finance);
    let state = FeedState {
        etag: Some("\"1\"".into()),
        ..Default::default()
    };
    let g0 = s.generation();
    s.commit(new_batch(vec![a.clone(), bb]), Some(("f", &state)))
        .unwrap();
    assert_eq!(s.len().unwrap(), 2);
    let g1 = s.generation();
    assert_ne!(g0, g1, "items changed");
    // Just read, the generation is known without I/O, and is the same number.
    assert_eq!(s.generation_if_known(), Some(g1));
    s.commit(Batch::default(), Some(("f", &state))).unwrap();
    assert_eq!(s.generation(), g1, "a feed state alone changes no output");
    assert_eq!(s.feed_state("f").unwrap().etag.as_deref(), Some("\"1\""));
    assert_eq!(
        titles(s.newest_first()),
        ["北向资金增持", "巴西龟的饲养方法"]
    );
    assert_eq!(
        titles(s.newest_first_in(Category::Lifestyle)),
        ["巴西龟的饲养方法"]
    );
    assert_eq!(s.items_of_feed("f").unwrap(), 2);
    let a_stored = s.get("a").unwrap().unwrap();
    assert_eq!(dedup::index::candidates(&*s, &a.near).unwrap(), ["a"]);
    // What verification reads of a candidate (read twice: from the disk, then as kept).
    for _ in 0..2 {
        let t = s.title_of("a").unwrap().unwrap();
        assert_eq!(
            (t.title.as_str(), t.feed_id.as_str()),
            ("巴西龟的饲养方法", "f")
        );
    }
    assert!(s.title_of("nope").unwrap().is_none());

    // An edit that moves the date and the category: the indexes follow, none left stale.
    let mut edited = stored("a", "完全不同的另一个标题", 5, Category::Other);
    edited.seq = a_stored.seq;
    s.commit(
        Batch {
            updated: vec![(edited, a_stored)],
            ..Default::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(
        titles(s.newest_first()),
        ["完全不同的另一个标题", "北向资金增持"]
    );
    assert!(titles(s.newest_first_in(Category::Lifestyle)).is_empty());
    assert_eq!(
        titles(s.newest_first_in(Category::Other)),
        ["完全不同的另一个标题"]
    );
    assert!(dedup::index::candidates(&*s, &a.near).unwrap().is_empty());
    assert_eq!(
        s.title_of("a").unwrap().unwrap().title,
        "完全不同的另一个标题",
        "an edit's title is what verification reads next"
    );
    assert_eq!(s.len().unwrap(), 2, "an update is not a new item");
    assert_index_hygiene(&s, 2);
}

/// No index entry without its item: every index holds exactly one entry per stored item
/// (near: one per non-zero index key).
fn assert_index_hygiene(s: &Store, items: usize) {
    let sizes: std::collections::HashMap<_, _> = s.tree_sizes().into_iter().collect();
    assert_eq!(sizes["items"], items, "item records: {sizes:?}");
    let keys: usize = s
        .newest_first()
        .map(|i| i.unwrap().near.iter().filter(|h| **h != 0).count())
        .sum();
    assert_eq!(sizes["near"], keys, "near-index entries: {sizes:?}");
    for index in ["by_date", "by_seq", "by_category", "keys"] {
        if let Some(n) = sizes.get(index) {
            assert_eq!(*n, items, "{index}: {sizes:?}");
        }
    }
}

fn paging_by_date_and_category(b: &dyn Backend) {
    let s = b.open();
    let items: Vec<StoredItem> = (1..=28)
        .map(|d| {
            let cat = if d % 2 == 0 {
                Category::Finance
            } else {
                Category::Other
            };
            stored(&format!("k{d}"), &format!("第{d}号消息的标题内容"), d, cat)
        })
        .collect();
    s.commit(new_batch(items), None).unwrap();
    let all: Vec<StoredItem> = s.newest_first().map(|r| r.unwrap()).collect();
    assert_eq!(all.len(), 28);
    assert!(all.windows(2).all(|w| w[0].sort_date() >= w[1].sort_date()));
    // `before` continues exactly where a page ended.
    let tenth = feedsift::store::page_key(&all[9]);
    let rest: Vec<String> = titles(s.newest_first_before(Some(tenth)));
    assert_eq!(rest.len(), 18);
    assert_eq!(rest[0], all[10].item.title);
    let fin: Vec<StoredItem> = s
        .newest_first_in(Category::Finance)
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(fin.len(), 14);
    let k = feedsift::store::page_key(&fin[4]);
    assert_eq!(
        s.newest_first_in_before(Category::Finance, Some(k)).count(),
        9
    );
}

/// All stories newest first, whatever the categories: every category, dates shared across them
/// (ties broken by insertion order), read whole and in pages continued by their last date key.
fn newest_first_across_categories_is_date_key_order(b: &dyn Backend) {
    let s = b.open();
    let items: Vec<StoredItem> = (0..40u32)
        .map(|n| {
            let cat = Category::ALL[(n % 4) as usize];
            stored(
                &format!("k{n}"),
                &format!("第{n}号消息：各类别的标题"),
                1 + n / 3,
                cat,
            )
        })
        .collect();
    s.commit(new_batch(items), None).unwrap();
    let all: Vec<StoredItem> = s.newest_first().map(|r| r.unwrap()).collect();
    assert_eq!(all.len(), 40);
    let keys: Vec<[u8; 16]> = all.iter().map(feedsift::store::page_key).collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "not in date key order"
    );
    assert_eq!(all[0].key, "k39");
    // Pages of 7, each continued from the last one's date key, give the same stories.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page: Vec<_> = s
            .newest_first_paged(None, before, 7)
            .take(7)
            .map(|r| r.unwrap().key.clone())
            .collect();
        if page.is_empty() {
            break;
        }
        let last = s.get(page.last().unwrap()).unwrap().unwrap();
        before = Some(feedsift::store::page_key(&last));
        paged.extend(page);
    }
    let whole: Vec<String> = all.iter().map(|i| i.key.clone()).collect();
    assert_eq!(paged, whole);
}

/// A story and its copy in one batch (what `feedsift migrate` writes): the copy is read with
/// the story at once, by key, by page and newest first, and after the store is opened again.
fn a_new_story_and_its_copy_in_one_batch(b: &dyn Backend) {
    let s = b.open();
    let mut batch = new_batch(vec![stored(
        "a",
        "巴西龟的饲养方法",
        1,
        Category::Lifestyle,
    )]);
    batch
        .also_at
        .push(("a".to_string(), decorated_copy_of_a(None)));
    s.commit(batch, None).unwrap();
    let copies = |s: &Store| {
        let by_key = s.get("a").unwrap().unwrap().also_at.len();
        let paged: usize = s.after_seq(None).map(|i| i.unwrap().also_at.len()).sum();
        let newest: usize = s.newest_first().map(|i| i.unwrap().also_at.len()).sum();
        (by_key, paged, newest)
    };
    assert_eq!(copies(&s), (1, 1, 1));
    drop(s);
    assert_eq!(copies(&b.reopen()), (1, 1, 1));
}

fn also_at_and_aliases(b: &dyn Backend) {
    let s = b.open();
    s.commit(
        new_batch(vec![stored(
            "a",
            "巴西龟的饲养方法",
            1,
            Category::Lifestyle,
        )]),
        None,
    )
    .unwrap();
    let copy = decorated_copy_of_a(Some("g-key"));
    for _ in 0..2 {
        commit_copy(&s, "a", &copy);
    }
    let a = s.get("a").unwrap().unwrap();
    assert_eq!(
        a.also_at,
        vec![copy.clone()],
        "the same copy is recorded once"
    );
    assert!(s.contains("g-key").unwrap());
    assert_eq!(s.resolve("g-key").unwrap().unwrap().key, "a");
    assert!(s.resolve("nothing").unwrap().is_none());
    // Two new stories of one response sharing one link (feeds whose entries all link to their
    // home page): both stored, the alias names one of them.
    let mut x = stored("x", "首页链接相同的第一条", 3, Category::Other);
    let mut y = stored("y", "首页链接相同的第二条", 4, Category::Other);
    x.link_alias = Some("home".into());
    y.link_alias = Some("home".into());
    s.commit(new_batch(vec![x, y]), None).unwrap();
    assert!(s.get("x").unwrap().is_some() && s.get("y").unwrap().is_some());
    let via = s.resolve("home").unwrap().unwrap().key;
    assert!(via == "x" || via == "y", "{via}");
    // A copy of a story that is not stored (pruned meanwhile) is not recorded.
    commit_copy(&s, "gone", &copy);
    assert!(s.get("gone").unwrap().is_none());
    // Copies are found again after a restart (sled keeps which stories have copies in memory,
    // rebuilt at open), and stories without copies still read without any.
    s.flush().unwrap();
    drop(s);
    let t = b.reopen();
    assert_eq!(t.get("a").unwrap().unwrap().also_at, vec![copy.clone()]);
    assert!(t.get("x").unwrap().unwrap().also_at.is_empty());
    let pages: Vec<StoredItem> = t.after_seq(None).map(|r| r.unwrap()).collect();
    assert_eq!(
        pages.iter().find(|i| i.key == "a").unwrap().also_at,
        vec![copy]
    );
}

fn prune_by_age_and_count(b: &dyn Backend) {
    let s = b.open();
    let entry = |d: u32| Item {
        guid: Some(format!("p{d}")),
        ..Item::titled("f", &story_title(d as usize))
    };
    let items: Vec<StoredItem> = (1..=6)
        .map(|d| {
            let key = dedup::canonical_key(&entry(d));
            let mut i = stored(&key, &story_title(d as usize), d, Category::Other);
            i.link_alias = Some(format!("alias{d}"));
            i
        })
        .collect();
    let key1 = items[0].key.clone();
    let first = items[0].clone();
    s.commit(new_batch(items), None).unwrap();
    assert!(s.title_of(&key1).unwrap().is_some());
    let now = Utc.with_ymd_and_hms(2024, 2, 10, 0, 0, 0).unwrap();
    // Age: first seen Feb 1..6; retention 6.5 days before Feb 10 removes Feb 1..3.
    let stats = s
        .prune(now, Duration::from_secs(6 * 86_400 + 43_200), None)
        .unwrap();
    assert_eq!(stats.items, 3);
    assert_eq!(s.len().unwrap(), 3);
    assert_eq!(s.items_of_feed("f").unwrap(), 3);
    assert!(s.get(&key1).unwrap().is_none());
    assert!(
        s.title_of(&key1).unwrap().is_none(),
        "a removed story's title is not read"
    );
    assert!(!s.contains("alias1").unwrap(), "aliases go with their item");
    assert!(s.is_tombstoned(&key1).unwrap());
    assert!(dedup::index::candidates(&*s, &first.near)
        .unwrap()
        .is_empty());
    // Count: at most 2 kept, the oldest go.
    let stats = s
        .prune(now, Duration::from_secs(365 * 86_400), Some(2))
        .unwrap();
    assert_eq!(stats.items, 1);
    assert_eq!(titles(s.after_seq(None)).len(), 2);
    assert_eq!(s.len().unwrap(), 2);
    assert_index_hygiene(&s, 2);
    let sizes: std::collections::HashMap<_, _> = s.tree_sizes().into_iter().collect();
    assert_eq!((sizes["aliases"], sizes["tombstones"]), (2, 4), "{sizes:?}");
    // The ingest path refuses a tombstoned key.
    let counts = dedup::ingest(
        &s,
        &source("f"),
        vec![entry(1)],
        &|_| other(),
        &DedupSettings::default(),
        None,
        now,
    )
    .unwrap();
    assert_eq!((counts.new, counts.duplicate), (0, 1));
    // A year on, with a day's retention: the rest goes, and tombstones older than the
    // retention are forgotten.
    let later = now + chrono::Duration::days(365);
    let stats = s.prune(later, Duration::from_secs(86_400), None).unwrap();
    assert_eq!((stats.items, stats.tombstones), (2, 4));
    assert!(s.is_empty().unwrap());
    assert_index_hygiene(&s, 0);
}

fn cursors_read_each_item_once(b: &dyn Backend) {
    let s = b.open();
    let mut seen = Vec::new();
    let mut cursor = None;
    for round in 0..5 {
        let batch: Vec<StoredItem> = (0..7)
            .map(|i| {
                stored(
                    &format!("c{round}-{i}"),
                    &format!("游标测试第{round}轮第{i}条"),
                    1 + i,
                    Category::Other,
                )
            })
            .collect();
        s.commit(new_batch(batch), None).unwrap();
        for item in s.after_seq(cursor) {
            let item = item.unwrap();
            assert!(
                cursor.is_none_or(|c| item.seq > c),
                "sequence numbers only grow"
            );
            cursor = Some(item.seq);
            seen.push(item.key);
        }
    }
    assert_eq!(seen.len(), 35);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 35, "no item twice");
    let newest: Vec<String> = s.newest_inserted().map(|r| r.unwrap().key).collect();
    let mut rev = seen.clone();
    rev.reverse();
    assert_eq!(newest, rev);
    assert_eq!(s.after_seq(Some(u64::MAX)).count(), 0);
    // The cursor means the same to another handle (a restarted process, another instance).
    drop(s);
    let t = b.reopen();
    let mid: Vec<String> = t
        .after_seq(Some(t.get("c2-0").unwrap().unwrap().seq))
        .map(|r| r.unwrap().key)
        .collect();
    assert_eq!(mid, seen[15..]);
    // Lent one by one, in pages of any first size, up to any number: the same items, whole,
    // in the same order. One story has a copy and the next has none: the buffer the items are
    // decoded into carries nothing over from one to the next.
    commit_copy(&t, "c1-2", &decorated_copy_of_a(None));
    let all: Vec<StoredItem> = t.after_seq(None).map(|r| r.unwrap()).collect();
    assert_eq!(all.iter().filter(|i| !i.also_at.is_empty()).count(), 1);
    for first in [1, 2, 7, 1000] {
        for max in [1, 3, 35, 100] {
            let mut lent = Vec::new();
            t.visit_after_seq(None, first, max, |i| {
                lent.push(i.clone());
                ControlFlow::Continue(())
            })
            .unwrap();
            assert_eq!(lent, all[..max.min(35)], "first page {first}, max {max}");
        }
    }
    // Stopped by the reader: the item it stopped on is the last one lent.
    let mut lent = Vec::new();
    t.visit_after_seq(Some(all[4].seq), 2, 100, |i| {
        lent.push(i.key.clone());
        if lent.len() == 6 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(lent, seen[5..11]);
    let mut none = 0;
    t.visit_after_seq(Some(u64::MAX), 10, 10, |_| {
        none += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(none, 0);
}

fn feed_state_and_reopen(b: &dyn Backend) {
    let s = b.open();
    assert_eq!(s.feed_state("never").unwrap(), FeedState::default());
    let state = FeedState {
        etag: Some("W/\"x\"".into()),
        consecutive_failures: 3,
        last_error: Some("HTTP 503".into()),
        ..Default::default()
    };
    s.put_feed_state("f", &state).unwrap();
    s.commit(
        new_batch(vec![stored("r", "重启以后仍然在", 2, Category::Finance)]),
        None,
    )
    .unwrap();
    s.flush().unwrap();
    drop(s);
    let t = b.reopen();
    assert_eq!(t.feed_state("f").unwrap(), state);
    assert_eq!(t.len().unwrap(), 1);
    assert_eq!(t.get("r").unwrap().unwrap().item.title, "重启以后仍然在");
    let states = t.backend().all_feed_states().unwrap();
    assert_eq!(states, vec![("f".to_string(), state)]);
}

/// Several feeds' states and counts in one read, in the order asked (a repeated id answered
/// twice, an unknown one with the default).
fn feed_states_and_counts_in_one_read(b: &dyn Backend) {
    let s = b.open();
    let a = FeedState {
        etag: Some("\"a\"".into()),
        ..Default::default()
    };
    let c = FeedState {
        consecutive_failures: 2,
        last_error: Some("HTTP 500".into()),
        ..Default::default()
    };
    s.put_feed_state("a", &a).unwrap();
    s.put_feed_state("c", &c).unwrap();
    let mut x = stored("x", "批量读取订阅源状态", 1, Category::Other);
    x.source = source("a");
    let mut y = stored("y", "批量读取订阅源计数", 2, Category::Other);
    y.source = source("a");
    let z = stored("z", "另一个订阅源的条目", 3, Category::Other);
    s.commit(new_batch(vec![x, y, z]), None).unwrap();
    let ids: Vec<String> = ["a", "b", "c", "a", "f"].map(String::from).to_vec();
    assert_eq!(
        s.feed_states(&ids).unwrap(),
        vec![a.clone(), FeedState::default(), c, a, FeedState::default()]
    );
    assert_eq!(s.items_of_feeds(&ids).unwrap(), vec![2, 0, 0, 2, 1]);
    assert!(s.feed_states(&[]).unwrap().is_empty());
    assert!(s.items_of_feeds(&[]).unwrap().is_empty());
}

fn dedup_identity_and_decorated_titles(b: &dyn Backend) {
    let s = b.open();
    let settings = DedupSettings::default();
    let now = Utc::now();
    let classify = |_: &Item| other();
    let ingest = |feed: &str, entry: Item| {
        dedup::ingest(
            &s,
            &source(feed),
            vec![entry],
            &classify,
            &settings,
            None,
            now,
        )
        .unwrap()
    };
    let item = |feed: &str, guid: &str, title: &str, body: &str| Item {
        guid: Some(guid.into()),
        link: Some(format!("http://{feed}.example.cn/{guid}.html")),
        summary: Some(body.into()),
        ..Item::titled(feed, title)
    };
    let c = ingest(
        "a",
        item(
            "a",
            "1",
            "每日焦点!江苏省委常委会召开会议研究部署下半年工作",
            "正文",
        ),
    );
    assert_eq!(c.new, 1);
    // The same story under another decoration, from another feed: a copy, not a story.
    let c = ingest(
        "b",
        item(
            "b",
            "9",
            "江苏省委常委会召开会议研究部署下半年工作|环球快资讯",
            "正文",
        ),
    );
    assert_eq!((c.new, c.duplicate), (0, 1));
    assert_eq!(s.len().unwrap(), 1);
    let story = s.newest_first().next().unwrap().unwrap();
    assert_eq!(story.also_at.len(), 1);
    assert_eq!(story.also_at[0].source.feed_id, "b");
    // Re-polled unchanged: nothing; edited by its owner: an update.
    let again = ingest(
        "a",
        item(
            "a",
            "1",
            "每日焦点!江苏省委常委会召开会议研究部署下半年工作",
            "正文",
        ),
    );
    assert_eq!((again.new, again.updated, again.duplicate), (0, 0, 1));
    let edit = ingest(
        "a",
        item(
            "a",
            "1",
            "每日焦点!江苏省委常委会召开会议研究部署下半年工作",
            "更正后的正文",
        ),
    );
    assert_eq!(edit.updated, 1);
    assert_eq!(s.len().unwrap(), 1);
    // An unrelated story is new.
    let other = ingest(
        "b",
        item(
            "b",
            "10",
            "Fed holds rates steady as inflation cools",
            "body",
        ),
    );
    assert_eq!(other.new, 1);
    assert_eq!(s.len().unwrap(), 2);
}

/// Content farms post from templates: dozens of titles that differ only in a number fill the
/// near-duplicate buckets of an older story. A decorated re-post of that story must still find
/// it (and none of the look-alikes is mistaken for it).
fn a_decorated_twin_is_found_among_many_look_alikes(b: &dyn Backend) {
    let s = b.open();
    let ingest = |feed: &str, guid: String, title: String| {
        dedup::ingest(
            &s,
            &source(feed),
            vec![Item {
                guid: Some(guid),
                ..Item::titled(feed, &title)
            }],
            &|_| other(),
            &DedupSettings::default(),
            None,
            Utc::now(),
        )
        .unwrap()
    };
    // Number 15's six index buckets are each shared by 57 to 136 of the later look-alikes.
    let template =
        |n: usize| format!("重庆市渝北区召开第{n}次党政联席会议部署防汛抗旱和安全生产工作");
    for n in 15..200 {
        assert_eq!(ingest("a", n.to_string(), template(n)).new, 1, "{n}");
    }
    for (guid, title) in [
        ("b1", format!("【环球报资讯】{}", template(15))),
        ("b2", format!("{}_当前独家", template(100))),
        ("b3", format!("每日焦点!{}", template(199))),
    ] {
        let c = ingest("b", guid.into(), title.clone());
        assert_eq!((c.new, c.duplicate), (0, 1), "{title}");
    }
    assert_eq!(s.len().unwrap(), 185);
    for n in [15, 100, 199] {
        let story = s
            .after_seq(None)
            .map(|r| r.unwrap())
            .find(|i| i.item.title == template(n))
            .unwrap();
        assert_eq!(story.also_at.len(), 1, "{n}");
    }
}

/// The same stories arrive from two feeds through two writers at the same moment — two
/// threads on one handle (sled: one process) or two handles (PostgreSQL: two instances).
fn the_same_story_raced_in_is_stored_once(b: &dyn Backend) {
    let first = b.open();
    let second = if b.shared() {
        b.reopen()
    } else {
        first.clone()
    };
    const STORIES: usize = 40;
    let run = |s: Store, feed: &'static str, decorate: fn(&str) -> String| {
        std::thread::spawn(move || {
            for i in 0..STORIES {
                let title = story_title(i);
                dedup::ingest(
                    &s,
                    &source(feed),
                    vec![Item {
                        guid: Some(format!("{feed}-{i}")),
                        ..Item::titled(feed, &decorate(&title))
                    }],
                    &|_| other(),
                    &DedupSettings::default(),
                    Some(&FeedState::default()),
                    Utc::now(),
                )
                .unwrap();
            }
        })
    };
    let x = run(first.clone(), "x", |t| format!("【环球报资讯】{t}"));
    let y = run(second, "y", |t| format!("{t}_当前独家"));
    x.join().unwrap();
    y.join().unwrap();
    assert_eq!(first.len().unwrap(), STORIES);
    let stored: Vec<StoredItem> = first.after_seq(None).map(|r| r.unwrap()).collect();
    assert_eq!(stored.len(), STORIES);
    assert!(
        stored.iter().all(|s| s.also_at.len() == 1),
        "each story records the other feed's copy"
    );
}

/// A title of 16 pseudo-random CJK characters: unrelated stories share no near-duplicate bands.
fn story_title(i: usize) -> String {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..16)
        .map(|_| {
            x ^= x >> 29;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            char::from_u32(0x4E00 + (x % 0x51A5) as u32).unwrap()
        })
        .collect()
}

fn migration_batches_keep_sequence_numbers(b: &dyn Backend) {
    let s = b.open();
    let mut items: Vec<StoredItem> = (0..3)
        .map(|i| {
            stored(
                &format!("m{i}"),
                &format!("迁移过来的第{i}条"),
                1 + i,
                Category::Other,
            )
        })
        .collect();
    for (i, item) in items.iter_mut().enumerate() {
        item.seq = 1000 + 10 * i as u64;
    }
    s.commit(
        Batch {
            new: items,
            keep_seq: true,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    s.backend()
        .put_tombstones(&[("old-key".to_string(), 1_700_000_000)])
        .unwrap();
    assert!(s.is_tombstoned("old-key").unwrap());
    assert_eq!(
        s.backend().tombstones().unwrap(),
        vec![("old-key".to_string(), 1_700_000_000)]
    );
    assert_eq!(s.get("m1").unwrap().unwrap().seq, 1010);
    s.commit(
        new_batch(vec![stored(
            "after",
            "迁移之后的新条目",
            9,
            Category::Other,
        )]),
        None,
    )
    .unwrap();
    assert!(
        s.get("after").unwrap().unwrap().seq > 1020,
        "new numbers are drawn above"
    );
    let keys: Vec<String> = s.after_seq(Some(1010)).map(|r| r.unwrap().key).collect();
    assert_eq!(keys, ["m2", "after"]);
}

/// Named blobs are committed with a batch, replaced by name, read back by name or prefix, and
/// survive a reopen; a batch of blobs alone writes no item.
fn blobs_commit_and_reopen(b: &dyn Backend) {
    let s = b.open();
    assert_eq!(s.blob("x/a").unwrap(), None);
    let g = s.generation();
    let batch = Batch {
        blobs: vec![("x/a".into(), vec![1, 2, 3]), ("x/b".into(), vec![])],
        ..Batch::default()
    };
    s.commit(batch, None).unwrap();
    assert_eq!(s.generation(), g, "blobs are not items");
    let mut batch = new_batch(vec![stored("r", "重启以后仍然在", 2, Category::Finance)]);
    batch.blobs = vec![("x/a".into(), vec![9; 5000]), ("y".into(), vec![7])];
    s.commit(batch, None).unwrap();
    s.flush().unwrap();
    drop(s);
    let t = b.reopen();
    assert_eq!(t.blob("x/a").unwrap(), Some(vec![9; 5000]));
    assert_eq!(t.blob("x").unwrap(), None);
    let names: Vec<String> = t.blobs("x/").unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["x/a", "x/b"]);
    assert_eq!(t.blob("y").unwrap(), Some(vec![7]));
    assert_eq!(t.len().unwrap(), 1);
}

/// What ingest learns of a source's packaging is committed with the response and loaded by a
/// new learner after a reopen: a farm's packaging, never seen before, then decides a copy.
fn learned_packaging_is_kept_in_the_store(b: &dyn Backend) {
    use dedup::learn::{Learner, BLOB_PREFIX};
    let s = b.open();
    let learner = Learner::new();
    let stories = [
        "巴西龟的饲养方法和注意事项",
        "信用卡逾期了怎么办银行这样说",
        "女子提分手被男友掐死案宣判",
        "难分真假的杜莎夫人蜡像馆开幕",
        "成都市开展基层矛盾纠纷调解行动",
    ];
    let farm: Vec<Item> = stories
        .iter()
        .enumerate()
        .map(|(i, t)| Item {
            guid: Some(format!("f{i}")),
            ..Item::titled("farm", &format!("{t}〖7网点〗"))
        })
        .collect();
    // Counts are stored with a response once they are due (`SAVE_EVERY` after the first).
    let t0 = Utc::now();
    let later = t0 + chrono::Duration::from_std(dedup::learn::SAVE_EVERY).unwrap();
    for (half, now) in [(&farm[..3], t0), (&farm[3..], later)] {
        dedup::ingest_learning(
            &s,
            Some(&learner),
            &source("farm"),
            half.to_vec(),
            &|_| other(),
            &DedupSettings::default(),
            None,
            now,
        )
        .unwrap();
        let stored = s.blobs(BLOB_PREFIX).unwrap().len();
        assert_eq!(stored, usize::from(now == later), "stored only when due");
    }
    s.flush().unwrap();
    drop(s);
    let t = b.reopen();
    let blobs = t.blobs(BLOB_PREFIX).unwrap();
    assert_eq!(blobs.len(), 1);
    let warm = Learner::new();
    assert_eq!(warm.load_all(blobs), 1);
    // Beside a story shorter than 12 characters no shape is enough: only what was learned
    // knows the packaging.
    let (farm_title, plain) = ("巴西龟的饲养方法〖7网点〗", "巴西龟的饲养方法");
    assert!(!dedup::near::same_story(farm_title, plain));
    assert!(dedup::near::same_story_with(
        &warm,
        (farm_title, Some("farm")),
        (plain, Some("elsewhere")),
    ));
}

/// The admin's corrections: the label changes at once (record, category index, generation,
/// change notice), later updates keep it, the records list newest first, survive a reopen and
/// the item's retention, and an unknown key writes nothing.
fn corrections_relabel_at_once_and_win_over_updates(b: &dyn Backend) {
    let s = b.open();
    let mut a = stored("a", "巴西龟的饲养方法", 1, Category::Lifestyle);
    a.item.summary = Some("<p>水温 &amp; 光照</p>".into());
    a.link_alias = Some("a-link".into());
    s.commit(
        new_batch(vec![a, stored("b", "北向资金增持", 3, Category::Finance)]),
        None,
    )
    .unwrap();
    let mut changes = s.changes();
    changes.mark_unchanged();
    let g0 = s.generation();
    let at = Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap();

    assert_eq!(
        s.correct("nope", Category::Finance, "test", at).unwrap(),
        None
    );
    assert_eq!(s.generation(), g0, "nothing corrected, nothing changed");
    assert_eq!(s.generation_if_known(), Some(g0));
    assert!(!changes.has_changed().unwrap());

    // Through the alias, as a copy's key would name it: the story is corrected.
    let c = s
        .correct("a-link", Category::Finance, "test", at)
        .unwrap()
        .expect("a is stored");
    assert_eq!(
        (c.id, c.key.as_str(), c.label, c.previous),
        (1, "a", Category::Finance, Category::Lifestyle)
    );
    assert_eq!((c.at, c.by.as_str(), c.feed_id.as_str()), (at, "test", "f"));
    assert_eq!(
        (c.title.as_str(), c.summary.as_str()),
        ("巴西龟的饲养方法", "水温 & 光照")
    );
    assert_ne!(s.generation_if_known(), Some(g0), "seen without I/O too");
    assert_ne!(s.generation(), g0, "cached outputs must be re-rendered");
    assert!(changes.has_changed().unwrap(), "followers are told");
    let got = s.get("a").unwrap().unwrap();
    assert_eq!(
        (
            got.class.category,
            got.class.confidence,
            got.class.runner_up
        ),
        (Category::Finance, 1.0, Some(Category::Lifestyle))
    );
    assert_eq!(
        got.changed,
        Some(at),
        "a reader asking \"changed since?\" sees it"
    );
    assert!(titles(s.newest_first_in(Category::Lifestyle)).is_empty());
    assert_eq!(
        titles(s.newest_first_in(Category::Finance)),
        ["北向资金增持", "巴西龟的饲养方法"]
    );

    // The feed edits the item and the model labels it `other`: the correction wins.
    commit_edit(&s, got, "巴西龟的饲养方法（更新）", Category::Other);
    let got = s.get("a").unwrap().unwrap();
    assert_eq!(
        got.item.title, "巴西龟的饲养方法（更新）",
        "the edit itself is kept"
    );
    assert_eq!(got.class.category, Category::Finance);
    assert!(titles(s.newest_first_in(Category::Other)).is_empty());
    assert_index_hygiene(&s, 2);

    // A second correction: numbered after the first, its previous label the corrected one.
    let later = at + chrono::Duration::minutes(5);
    let c2 = s
        .correct("a", Category::Other, "cli", later)
        .unwrap()
        .unwrap();
    assert_eq!(
        (c2.id, c2.previous, c2.label),
        (2, Category::Finance, Category::Other)
    );
    let ids = |v: Vec<feedsift::store::Correction>| v.iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(ids(s.corrections(None, 10).unwrap()), [2, 1]);
    assert_eq!(ids(s.corrections(None, 1).unwrap()), [2]);
    assert_eq!(ids(s.corrections(Some(2), 10).unwrap()), [1]);
    assert_eq!(s.all_corrections().count(), 2);
    s.flush().unwrap();
    drop(s);

    // Reopened (another instance): the records and the kept label are still there.
    let t = b.reopen();
    assert_eq!(t.corrections(None, 10).unwrap()[0], c2);
    let got = t.get("a").unwrap().unwrap();
    commit_edit(&t, got, "巴西龟的饲养方法（再次更新）", Category::Lifestyle);
    assert_eq!(t.get("a").unwrap().unwrap().class.category, Category::Other);

    // Retention removes the item, not its corrections (they are training data).
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    t.prune(now, Duration::from_secs(86_400), None).unwrap();
    assert!(t.get("a").unwrap().is_none());
    let kept = t.corrections(None, 10).unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1].title, "巴西龟的饲养方法");
}

/// Items read newest first are shared (`Arc`): the embedded store hands out the same one while
/// the item is unchanged, which is what lets the generator reuse its rendering. Every change
/// (an edit, a new copy, a correction, a removal) is seen at the next read, whether or not the
/// item was read (and kept) before.
fn shared_reads_are_never_stale(b: &dyn Backend) {
    let s = b.open();
    commit_two_stories(&s);
    let read = |s: &Store| -> Vec<std::sync::Arc<StoredItem>> {
        s.newest_first_paged(None, None, 10)
            .map(|r| r.unwrap())
            .collect()
    };
    let first = read(&s);
    let again = read(&s);
    assert_eq!(first, again);
    if !b.shared() {
        assert!(
            first
                .iter()
                .zip(&again)
                .all(|(x, y)| std::sync::Arc::ptr_eq(x, y)),
            "unchanged items are the same Arc"
        );
    }
    let a = |items: &[std::sync::Arc<StoredItem>]| {
        items.iter().find(|i| i.key == "a").cloned().unwrap()
    };

    // An edit.
    commit_edit(
        &s,
        (*a(&first)).clone(),
        "巴西龟的饲养方法（更新）",
        Category::Lifestyle,
    );
    let edited = read(&s);
    assert_eq!(a(&edited).item.title, "巴西龟的饲养方法（更新）");
    if !b.shared() {
        let b_of = |items: &[std::sync::Arc<StoredItem>]| {
            items.iter().find(|i| i.key == "b").cloned().unwrap()
        };
        assert!(
            std::sync::Arc::ptr_eq(&b_of(&first), &b_of(&edited)),
            "an item the edit did not touch is still shared"
        );
    }

    // A copy: written to another tree, the item's own record unchanged.
    let copy = decorated_copy_of_a(None);
    commit_copy(&s, "a", &copy);
    assert_eq!(a(&read(&s)).also_at, vec![copy]);

    // A correction.
    let at = Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap();
    s.correct("a", Category::Finance, "test", at)
        .unwrap()
        .unwrap();
    assert_eq!(a(&read(&s)).class.category, Category::Finance);

    // A removal by retention.
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    s.prune(now, Duration::from_secs(86_400), None).unwrap();
    assert!(read(&s).is_empty());
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sled_backend {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::Sled(tempfile::tempdir().unwrap()));
                }
            )*
        }
        mod postgres_backend {
            $(
                #[test]
                #[cfg_attr(not(feedsift_postgres), ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)")]
                fn $name() {
                    let db = super::common::PgDatabase::create(stringify!($name));
                    super::$name(&super::Pg(db));
                }
            )*
        }
    };
}

suite!(
    commit_update_and_indexes,
    paging_by_date_and_category,
    newest_first_across_categories_is_date_key_order,
    a_new_story_and_its_copy_in_one_batch,
    also_at_and_aliases,
    prune_by_age_and_count,
    cursors_read_each_item_once,
    feed_state_and_reopen,
    feed_states_and_counts_in_one_read,
    dedup_identity_and_decorated_titles,
    the_same_story_raced_in_is_stored_once,
    a_decorated_twin_is_found_among_many_look_alikes,
    migration_batches_keep_sequence_numbers,
    blobs_commit_and_reopen,
    learned_packaging_is_kept_in_the_store,
    corrections_relabel_at_once_and_win_over_updates,
    shared_reads_are_never_stale,
);

// ---- PostgreSQL only: what several instances need of each other ----

fn pg(test: &str) -> (common::PgDatabase, Store) {
    let db = common::PgDatabase::create(test);
    let s = Store::connect_postgres(&db.url).expect("connect");
    (db, s)
}

#[test]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
fn leases_one_instance_per_slot_and_takeover_after_expiry() {
    let (db, a) = pg("leases");
    let b = Store::connect_postgres(&db.url).unwrap();
    let slot1 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let slot2 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 5, 0).unwrap();
    let lease = Duration::from_secs(60);
    // Time is given to every lease call: the test moves it on instead of sleeping.
    let mut now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 1).unwrap();
    let ms = chrono::Duration::milliseconds;
    assert_eq!(a.claim("f", slot1, "A", lease, now).unwrap(), Claim::Mine);
    assert!(matches!(
        b.claim("f", slot1, "B", lease, now).unwrap(),
        Claim::Held(_)
    ));
    // A later slot cannot be taken while A's poll runs either: one poll per feed at a time.
    assert!(matches!(
        b.claim("f", slot2, "B", lease, now).unwrap(),
        Claim::Held(_)
    ));
    a.finish("f", slot1, "A", now).unwrap();
    assert_eq!(
        b.claim("f", slot1, "B", lease, now).unwrap(),
        Claim::Done,
        "polled once per slot"
    );
    assert_eq!(b.claim("f", slot2, "B", lease, now).unwrap(), Claim::Mine);
    b.finish("f", slot2, "B", now).unwrap();
    assert_eq!(
        a.claim("f", slot1, "A", lease, now).unwrap(),
        Claim::Done,
        "an older slot stays done"
    );

    // A holder that dies: its lease runs out and the same slot is taken over.
    let slot3 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 10, 0).unwrap();
    assert_eq!(
        a.claim("g", slot3, "A", Duration::from_millis(300), now)
            .unwrap(),
        Claim::Mine
    );
    match b.claim("g", slot3, "B", lease, now).unwrap() {
        Claim::Held(until) => assert!(until <= now + chrono::Duration::seconds(1)),
        other => panic!("expected Held, got {other:?}"),
    }
    now += ms(500);
    assert_eq!(
        b.claim("g", slot3, "B", lease, now).unwrap(),
        Claim::Mine,
        "taken over"
    );
    // A renewed lease is not taken over; only its holder can renew it.
    let slot5 = slot3 + chrono::Duration::minutes(30);
    assert_eq!(
        a.claim("h", slot5, "A", Duration::from_millis(400), now)
            .unwrap(),
        Claim::Mine
    );
    now += ms(250);
    assert!(a.renew("h", "A", Duration::from_secs(60), now).unwrap());
    assert!(
        !b.renew("h", "B", Duration::from_secs(60), now).unwrap(),
        "not B's lease"
    );
    now += ms(300);
    assert!(
        matches!(
            b.claim("h", slot5, "B", lease, now).unwrap(),
            Claim::Held(_)
        ),
        "renewed past its first expiry"
    );
    // The dead holder's late finish does not release B's lease.
    a.finish("g", slot3, "A", now).unwrap();
    let slot4 = slot3 + chrono::Duration::minutes(5);
    assert!(matches!(
        a.claim("g", slot4, "A", lease, now).unwrap(),
        Claim::Held(_)
    ));
}

#[test]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
fn concurrent_claims_have_one_winner() {
    let (db, _s) = pg("claims");
    let slot = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                let s = Store::connect_postgres(&url).unwrap();
                (0..50)
                    .filter(|f| {
                        s.claim(
                            &format!("feed{f}"),
                            slot,
                            &format!("i{i}"),
                            Duration::from_secs(60),
                            Utc::now(),
                        )
                        .unwrap()
                            == Claim::Mine
                    })
                    .count()
            })
        })
        .collect();
    let won: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(won, 50, "each feed claimed by exactly one instance");
}

#[test]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
fn a_newer_schema_is_refused_and_bad_urls_are_named() {
    let (db, s) = pg("schema");
    drop(s);
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    c.execute("UPDATE feedsift_meta SET v = 99 WHERE k = 'schema'", &[])
        .unwrap();
    drop(c);
    let e = Store::connect_postgres(&db.url).unwrap_err().to_string();
    assert!(
        e.contains("schema version 99") && e.contains("newer feedsift"),
        "{e}"
    );

    // A wrong password or database: the server's message, the URL without its password.
    let mut bad = url::Url::parse(&db.url).unwrap();
    bad.set_path("/feedsift_no_such_database");
    let _ = bad.set_password(Some("s3cret"));
    let e = Store::connect_postgres(bad.as_str())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("connect to") && e.contains("feedsift_no_such_database"),
        "{e}"
    );
    assert!(!e.contains("s3cret"), "the password is not printed: {e}");
}

/// A database written before the exact-core key (schema 1) gains it on connect: in every
/// record (so removal finds it) and in the index, so a decorated copy of an old story crowded
/// out of its band buckets is still recognised.
#[test]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
fn migration_2_adds_the_exact_core_key_to_stored_items() {
    let (db, s) = pg("core_keys");
    let template =
        |n: usize| format!("重庆市渝北区召开第{n}次党政联席会议部署防汛抗旱和安全生产工作");
    let items: Vec<StoredItem> = (15..200)
        .map(|n| stored(&format!("k{n}"), &template(n), 1, Category::Other))
        .collect();
    s.backend().commit(new_batch(items), None).unwrap();
    drop(s);
    // Rewind to schema 1: records and index without the exact-core key.
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    for row in c
        .query("SELECT key, record FROM feedsift_items", &[])
        .unwrap()
    {
        let key: String = row.get(0);
        let mut item = feedsift::store::record::decode_item(
            &key,
            row.get(1),
            &feedsift::store::sources::Sources::default(),
        )
        .unwrap();
        assert_eq!(item.near.len(), dedup::near::INDEX_KEYS);
        item.near.truncate(dedup::near::BANDS);
        // Schema 1 wrote JSON records; they are still read.
        c.execute(
            "UPDATE feedsift_items SET record = $2 WHERE key = $1",
            &[&key, &serde_json::to_vec(&item).unwrap()],
        )
        .unwrap();
    }
    c.execute(
        "DELETE FROM feedsift_near WHERE band = $1",
        &[&(dedup::near::CORE_KEY as i16)],
    )
    .unwrap();
    c.execute("UPDATE feedsift_meta SET v = 1 WHERE k = 'schema'", &[])
        .unwrap();
    let s = Store::connect_postgres(&db.url).unwrap();
    let mut count = |sql: &str| c.query_one(sql, &[]).unwrap().get::<_, i64>(0);
    assert_eq!(
        count("SELECT v FROM feedsift_meta WHERE k = 'schema'"),
        feedsift::store::pg::PG_SCHEMA_VERSION as i64
    );
    // Migration 3: near rows are removed by their primary key; no index on `seq` alone.
    assert_eq!(
        count("SELECT count(*) FROM pg_indexes WHERE indexname = 'feedsift_near_by_seq'"),
        0
    );
    let keys = dedup::near::signature(&template(15))
        .iter()
        .filter(|h| **h != 0)
        .count();
    assert_eq!(
        count("SELECT count(*) FROM feedsift_near") as usize,
        185 * keys
    );
    let first = s.get("k15").unwrap().unwrap();
    assert_eq!(first.near, dedup::near::signature(&template(15)));
    let c = dedup::ingest(
        &s,
        &source("b"),
        vec![Item {
            guid: Some("b1".into()),
            ..Item::titled("b", &format!("【环球报资讯】{}", template(15)))
        }],
        &|_| other(),
        &DedupSettings::default(),
        None,
        Utc::now(),
    )
    .unwrap();
    assert_eq!((c.new, c.duplicate), (0, 1));
    assert_index_hygiene(&s, 185);
}

/// The session holding the ingest lock dies (a network cut, a server restart) while an ingest
/// is under way: the lock went with it, so nothing more may be decided or written under it —
/// the commit fails (the feed is fetched again) instead of racing another instance.
#[test]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
fn a_lost_ingest_lock_fails_the_commit_instead_of_racing() {
    let (db, s) = pg("lost_lock");
    let guard = s.backend().lock_ingest().unwrap();
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let killed: i64 = admin
        .query_one(
            "SELECT count(*) FROM (
                 SELECT pg_terminate_backend(pid) FROM pg_locks
                 WHERE locktype = 'advisory' AND granted
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
             ) t",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(killed, 1, "one session holds the ingest lock");
    // The next call fails (with the server's goodbye, "connection closed", or — when the
    // client already noticed and connected anew — the lost lock); a caller that went on
    // regardless (the connection is replaced behind it) must not write without the lock.
    assert!(s.get("x").is_err());
    // Until the client has noticed the closed connection a call may still fail on the dead
    // one; once it has connected anew, the call must fail for the lost lock. Never written.
    let mut failures = Vec::new();
    for _ in 0..5 {
        let e = s
            .backend()
            .commit(
                new_batch(vec![stored("x", "锁丢了以后不能写入", 1, Category::Other)]),
                None,
            )
            .unwrap_err()
            .to_string();
        failures.push(e);
        if failures.last().unwrap().contains("ingest lock was lost") {
            break;
        }
    }
    assert!(
        failures.last().unwrap().contains("ingest lock was lost"),
        "{failures:?}"
    );
    drop(guard);
    assert_eq!(s.len().unwrap(), 0);
    // The next ingest takes the lock on the new connection and commits.
    let guard = s.backend().lock_ingest().unwrap();
    s.backend()
        .commit(
            new_batch(vec![stored("x", "锁丢了以后不能写入", 1, Category::Other)]),
            None,
        )
        .unwrap();
    drop(guard);
    assert_eq!(s.len().unwrap(), 1);
}

#[test]
fn store_specs_are_validated() {
    use feedsift::config::StoreSpec;
    assert_eq!(StoreSpec::parse("sled").unwrap(), StoreSpec::Sled);
    assert!(matches!(
        StoreSpec::parse("postgres://u:p@127.0.0.1/db").unwrap(),
        StoreSpec::Postgres(_)
    ));
    let e = StoreSpec::parse("mysql://u:hunter2@h/db")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown store") && !e.contains("hunter2"), "{e}");
    let e = StoreSpec::parse("postgres://u:p@h:notaport/db")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a usable PostgreSQL URL"), "{e}");
}

/// `feedsift migrate` carries the corrections both ways: the records, numbers kept, and the
/// label a corrected item keeps on its next update in the new store.
#[test]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
fn migrate_carries_corrections_both_ways() {
    use feedsift::migrate::{migrate, Endpoint};
    let dir = tempfile::tempdir().unwrap();
    let at = Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap();
    {
        let s = Store::open(&dir.path().join("a"), 8 << 20).unwrap();
        commit_two_stories(&s);
        s.correct("a", Category::Finance, "test", at)
            .unwrap()
            .unwrap();
        s.correct("a", Category::Other, "test", at)
            .unwrap()
            .unwrap();
        s.correct("b", Category::Lifestyle, "test", at)
            .unwrap()
            .unwrap();
        s.flush().unwrap();
    }
    let db = common::PgDatabase::create("migrate_corrections");
    let (sled_a, pg, sled_b) = (
        Endpoint::Sled(dir.path().join("a")),
        Endpoint::Postgres(db.url.clone()),
        Endpoint::Sled(dir.path().join("b")),
    );
    let there = migrate(&sled_a, &pg, &|_, _| {}).unwrap();
    assert_eq!((there.counts.items, there.counts.corrections), (2, 3));
    let back = migrate(&pg, &sled_b, &|_, _| {}).unwrap();
    assert_eq!(back.counts.corrections, 3);
    for target in [&pg, &sled_b] {
        let t = match target {
            Endpoint::Postgres(url) => Store::connect_postgres(url).unwrap(),
            Endpoint::Sled(d) => Store::open(d, 8 << 20).unwrap(),
        };
        let list = t.corrections(None, 10).unwrap();
        let summary: Vec<(u64, &str, Category)> = list
            .iter()
            .map(|c| (c.id, c.key.as_str(), c.label))
            .collect();
        assert_eq!(
            summary,
            [
                (3, "b", Category::Lifestyle),
                (2, "a", Category::Other),
                (1, "a", Category::Finance)
            ]
        );
        let got = t.get("a").unwrap().unwrap();
        assert_eq!(got.class.category, Category::Other);
        commit_edit(&t, got, "巴西龟的饲养方法（更新）", Category::Lifestyle);
        assert_eq!(t.get("a").unwrap().unwrap().class.category, Category::Other);
        // The next correction is numbered after the migrated ones.
        let c = t
            .correct("b", Category::Finance, "test", at)
            .unwrap()
            .unwrap();
        assert_eq!(c.id, 4);
    }
}
