//! Chinese feeds in every charset they are served in, through the real pipeline.

mod common;

use common::{fixture, Publisher};
use feedsift::app::{self, Service};
use feedsift::ingest::PollStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gbk_gb2312_gb18030_big5_and_misdeclared_feeds() {
    let p = Publisher::start().await;
    // (path, Content-Type as served, fixture)
    let served = [
        ("/gb2312.xml", "text/xml", "zh-news-gb2312.xml"), // charset in the XML declaration only
        ("/gbk.xml", "application/rss+xml", "zh-gbk.xml"), // declared GBK
        ("/gb18030.xml", "application/xml", "zh-gb18030.xml"), // 4-byte GB18030 characters
        (
            "/big5.xml",
            "application/rss+xml; charset=big5",
            "zh-big5.xml",
        ), // charset in the header only
        (
            "/lying.xml",
            "text/xml; charset=utf-8",
            "zh-misdeclared.xml",
        ), // says UTF-8, is GBK
        ("/garbage.xml", "text/xml", "zh-undecodable.xml"), // not text in any charset
    ];
    let mut text = String::from("[service]\ndata_dir = \"store\"\ntimezone = \"Asia/Shanghai\"\n");
    for (path, ct, file) in served {
        p.put(path, ct, fixture(file), false);
        let id = path.trim_start_matches('/').trim_end_matches(".xml");
        text.push_str(&format!(
            "[[feed]]\nid = \"{id}\"\nurl = \"{}\"\n",
            p.url(path)
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("feeds.toml"), text).unwrap();
    let s = Service::open(app::load_config(&dir.path().join("feeds.toml"), None).unwrap()).unwrap();
    let reports = feedsift::scheduler::poll_all(s.pipeline.clone(), &s.config.feeds, |_| {}).await;
    for r in &reports[..5] {
        assert_eq!(r.status, PollStatus::Ok, "{}: {:?}", r.feed_id, r.status);
    }
    match &reports[5].status {
        PollStatus::Failed(m) => assert!(m.starts_with("decode: the body is not valid"), "{m}"),
        other => panic!("undecodable feed: {other:?}"),
    }

    let items: Vec<_> = s.store.newest_first().map(|r| r.unwrap()).collect();
    let title = |t: &str| {
        items.iter().find(|i| i.item.title == t).unwrap_or_else(|| {
            panic!(
                "no item {t:?} in {:?}",
                items.iter().map(|i| &i.item.title).collect::<Vec<_>>()
            )
        })
    };
    title("【环球报资讯】川渝党政联席会议第八次会议在重庆召开");
    title("生僻字𠀀与欧元€的标题");
    title("臺北市政府宣布新措施");
    title("重庆市委书记调研基层治理");
    assert_eq!(
        s.store.feed_state("gbk").unwrap().title.as_deref(),
        Some("四川新闻网")
    );

    // Dates Chinese CMSs write, read in the configured zone (UTC+8).
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    assert_eq!(
        title("四川省委召开常委会会议").item.published,
        Some(at("2023-06-26T02:30:00Z"))
    );
    assert_eq!(
        title("成都大运会志愿者招募启动").item.published,
        Some(at("2023-06-25T16:00:00Z"))
    );
    assert_eq!(
        title("生僻字𠀀与欧元€的标题").item.published,
        Some(at("2018-09-18T06:38:10Z"))
    );
    // No date at all: ordered and published by first-seen time.
    let undated = title("锂电池板块午后拉升");
    assert_eq!(undated.item.published, None);
    assert_eq!(undated.sort_date(), undated.first_seen);
}
