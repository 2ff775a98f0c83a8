//! The pages for people, through HTTP (the router, no browser): `/`, `/outputs/{name}`,
//! `/sources`, and the admin's sign-in, sign-out and poll-now forms with their cookies and
//! CSRF tokens. The store is the standard fixtures polled once (12 items, two failing feeds,
//! one disabled).

mod common;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use common::{serve_standard_fixtures, Publisher};
use feedsift::app::{self, Service};
use feedsift::server;
use tokio::sync::mpsc::UnboundedReceiver;
use tower::ServiceExt;

const ADMIN_TOKEN: &str = "correct horse battery staple";

/// The standard fixtures polled once, times in New York, with or without an admin token.
struct Site {
    app: Router,
    polls: UnboundedReceiver<String>,
    missing_url: String,
    _p: Publisher,
    _dir: tempfile::TempDir,
}

async fn site(admin: bool) -> Site {
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_config(dir.path(), &p, "");
    let text = std::fs::read_to_string(&path).unwrap();
    let service_extra = format!(
        "timezone = \"America/New_York\"\n{}",
        if admin {
            format!("admin_token = \"{ADMIN_TOKEN}\"\n")
        } else {
            String::new()
        }
    );
    let text = text.replacen(
        "public_url = \"http://feeds.test/\"\n",
        &format!("public_url = \"http://feeds.test/\"\n{service_extra}"),
        1,
    );
    std::fs::write(&path, text).unwrap();
    let service = Service::open(app::load_config(&path, None).unwrap()).unwrap();
    app::poll_once(&service, false).await.unwrap();
    let (poll_now, polls) = tokio::sync::mpsc::unbounded_channel();
    let state = service.app_state(poll_now);
    Site {
        app: server::router(state),
        polls,
        missing_url: p.url("/missing.xml"),
        _p: p,
        _dir: dir,
    }
}

/// Status, headers and body of a request.
async fn send(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(app: &Router, path: &str, cookie: Option<&str>) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

async fn post(
    app: &Router,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect();
    let mut req =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(app, req.body(Body::from(body.join("&"))).unwrap()).await
}

/// The `Set-Cookie` header for cookie `name`.
fn set_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// `name=value` of a `Set-Cookie` header, to send back.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// The first hidden CSRF field's value in a page.
fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF field in {page}"))
        .to_string()
}

/// The titles of a river's items, in order.
fn titles(page: &str) -> Vec<String> {
    page.split("<article class=\"item\"")
        .skip(1)
        .map(|a| {
            let h3 = a
                .split("<h3")
                .nth(1)
                .unwrap()
                .split("</h3>")
                .next()
                .unwrap();
            let inner = h3.rsplit("\">").next().unwrap();
            inner.trim_end_matches("</a>").to_string()
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&").replace("&#38;", "&")
}

/// The `href` of the first link with class `class`.
fn href_of(page: &str, class: &str) -> Option<String> {
    let at = page.find(&format!("class=\"{class}\" href=\""))?;
    let rest = &page[at..];
    let href = rest.split("href=\"").nth(1)?.split('"').next()?;
    Some(unescape(href))
}

/// Signs in; gives the session cookie to send back.
async fn sign_in(app: &Router) -> String {
    let (status, headers, form) = get(app, "/signin", None).await;
    assert_eq!(status, 200, "{form}");
    let pre = cookie_pair(set_cookie(&headers, "feedsift_signin").unwrap());
    let (status, headers, body) = post(
        app,
        "/signin",
        Some(&pre),
        &[("csrf", &csrf_of(&form)), ("token", ADMIN_TOKEN)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    cookie_pair(set_cookie(&headers, "feedsift_session").unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_shows_each_outputs_newest_items_feed_urls_counts_and_sources() {
    let s = site(false).await;
    let (status, headers, page) = get(&s.app, "/", None).await;
    assert_eq!(status, 200);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    // Every output, with what to paste into a reader and a link to its river.
    for (name, title) in [
        ("merged", "feedsift: all items"),
        ("finance", "Finance"),
        ("zh-life", "Chinese lifestyle"),
    ] {
        assert!(
            page.contains(&format!("<a href=\"/outputs/{name}\">{title}</a>")),
            "{page}"
        );
        for ext in ["rss", "atom", "json"] {
            assert!(
                page.contains(&format!("http://feeds.test/feeds/{name}.{ext}")),
                "{page}"
            );
        }
    }
    // Items, by their cleaned titles, linking to the originals.
    assert!(
        page.contains("川渝党政联席会议第八次会议在重庆召开</a>"),
        "{page}"
    );
    assert!(page.contains("href=\"https://world.example.com/"), "{page}");
    assert_eq!(
        page.matches("<ol class=\"newest\">").count(),
        3,
        "each output lists its newest items: {page}"
    );
    // The last 24 hours by category, and the sources: counts, and what fails, without the URL.
    let fin_24h = page
        .split("finance: <b>")
        .nth(1)
        .and_then(|r| r.split("</b>").next())
        .unwrap();
    assert!(fin_24h.parse::<usize>().unwrap() >= 4, "{page}");
    assert!(
        page.contains("12 items stored from 7 sources: 4 ok, 2 failing"),
        "{page}"
    );
    assert!(
        page.contains("<b>missing</b>: <span class=\"err\">fetch: HTTP 404</span>"),
        "{page}"
    );
    assert!(!page.contains(&s.missing_url), "{page}");
    // The stylesheet names CJK fonts.
    let (status, headers, css) = get(&s.app, "/assets/site.css", None).await;
    assert_eq!(status, 200);
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(css.contains("\"PingFang SC\", \"Hiragino Sans GB\", \"Noto Sans CJK SC\""));
    assert!(css.contains("\"Microsoft YaHei\", sans-serif"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_river_lists_items_newest_first_in_the_configured_zone_with_chips() {
    let s = site(false).await;
    let (status, _, page) = get(&s.app, "/outputs/merged", None).await;
    assert_eq!(status, 200);
    let all = titles(&page);
    assert_eq!(all.len(), 12, "{page}");
    let times: Vec<&str> = page
        .split("<time datetime=\"")
        .skip(1)
        .map(|t| t.split('"').next().unwrap())
        .collect();
    assert_eq!(times.len(), 12);
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    // 2024-03-01T10:00:00Z in New York.
    assert!(
        page.contains("<time datetime=\"2024-03-01T10:00:00Z\" title=\"2024-03-01 05:00:00 EST\">2024-03-01 05:00</time>"),
        "{page}"
    );
    // Source, "also at", the label with its confidence, regions; each chip narrows the river.
    assert!(
        page.contains("href=\"/outputs/merged?source=world\""),
        "{page}"
    );
    assert!(page.contains("also at <a href=\"http"), "{page}");
    assert!(
        page.contains("href=\"/outputs/merged?category=finance\""),
        "{page}"
    );
    assert!(page.contains("<span class=\"conf\">"), "{page}");
    assert!(
        page.contains("class=\"chip region\" href=\"/outputs/merged?region=%E6%88%90%E9%83%BD\""),
        "{page}"
    );
    // No admin token configured: no admin link, no form posting anywhere.
    assert!(
        !page.contains("/signin") && !page.contains("method=\"post\""),
        "{page}"
    );
    let (status, _, body) = get(&s.app, "/outputs/nope", None).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rivers_filters_narrow_it() {
    let s = site(false).await;
    let all = titles(&get(&s.app, "/outputs/merged", None).await.2);
    let (_, _, fin) = get(&s.app, "/outputs/merged?category=finance", None).await;
    let fin_titles = titles(&fin);
    assert!(
        !fin_titles.is_empty() && fin_titles.len() < all.len(),
        "{fin}"
    );
    assert_eq!(
        fin.matches("class=\"chip cat cat-finance\"").count(),
        fin_titles.len(),
        "only finance items: {fin}"
    );
    assert!(
        fin.contains("category: finance ×"),
        "the filter is shown, removable: {fin}"
    );
    let (_, _, region) = get(&s.app, "/outputs/merged?region=%E6%88%90%E9%83%BD", None).await;
    let in_chengdu = titles(&region);
    assert!(
        in_chengdu.contains(&"成都市开展基层矛盾纠纷调解专项行动".to_string()),
        "{region}"
    );
    assert!(in_chengdu.len() < all.len() && in_chengdu.iter().all(|t| all.contains(t)));
    let (_, _, q) = get(&s.app, "/outputs/merged?q=cup", None).await;
    assert_eq!(titles(&q), ["Local team wins the cup final"], "{q}");
    assert!(q.contains("name=\"q\" value=\"cup\""), "{q}");
    // An output's own filter still holds: zh-life is zh-news lifestyle only.
    let (_, _, life) = get(&s.app, "/outputs/zh-life", None).await;
    assert_eq!(titles(&life), ["巴西龟的饲养方法"], "{life}");
    // Malformed filters are refused as the feeds refuse them.
    for bad in [
        "category=nope",
        "region=%E7%81%AB%E6%98%9F",
        "bogus=1",
        "before=nonsense",
    ] {
        let (status, _, body) = get(&s.app, &format!("/outputs/merged?{bad}"), None).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_river_pages_by_cursor() {
    let s = site(false).await;
    let all = titles(&get(&s.app, "/outputs/merged", None).await.2);
    let mut seen = Vec::new();
    let mut path = "/outputs/merged?limit=5".to_string();
    for page_no in 0.. {
        let (status, _, page) = get(&s.app, &path, None).await;
        assert_eq!(status, 200, "{path}: {page}");
        let t = titles(&page);
        assert!(t.len() <= 5);
        seen.extend(t);
        if page_no > 0 {
            assert!(
                page.contains("\">← Newest</a>"),
                "an older page links to the newest: {page}"
            );
        }
        match href_of(&page, "older") {
            Some(next) => {
                assert!(
                    next.starts_with("/outputs/merged?limit=5&before=b"),
                    "{next}"
                );
                path = next;
            }
            None => break,
        }
        assert!(page_no < 5, "paging does not end");
    }
    assert_eq!(
        seen, all,
        "the pages together are the river, in order, once each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_show_health_failing_first_without_repeating_the_url() {
    let s = site(false).await;
    let (status, _, page) = get(&s.app, "/sources", None).await;
    assert_eq!(status, 200);
    let cards: Vec<&str> = page.split("<section class=\"card source").skip(1).collect();
    assert_eq!(cards.len(), 7, "{page}");
    let id = |c: &str| {
        c.split("id=\"feed-")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let order: Vec<String> = cards.iter().map(|c| id(c)).collect();
    assert_eq!(
        order[..2],
        ["broken", "missing"],
        "failing first: {order:?}"
    );
    assert_eq!(order[6], "off", "disabled last: {order:?}");
    let missing = cards[1];
    assert!(missing.contains("status-failing"), "{missing}");
    assert!(
        missing.contains("<p class=\"err\">fetch: HTTP 404</p>"),
        "{missing}"
    );
    assert_eq!(
        missing.matches(&s.missing_url).count(),
        1,
        "the URL once: {missing}"
    );
    assert!(
        missing.contains("<dd>1 min after 1 failure</dd>"),
        "backoff: {missing}"
    );
    assert!(missing.contains("HTTP 404"), "{missing}");
    let zh = cards.iter().find(|c| id(c) == "zh-news").unwrap();
    let api: serde_json::Value =
        serde_json::from_str(&get(&s.app, "/api/sources", None).await.2).unwrap();
    let n = api
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "zh-news")
        .unwrap()["items"]
        .as_u64()
        .unwrap();
    assert!(
        n > 0 && zh.contains(&format!("<dt>Items</dt><dd>{n}</dd>")),
        "{zh}"
    );
    assert!(zh.contains("<span class=\"status\">ok</span>"), "{zh}");
    assert!(zh.contains("<dt>Next poll</dt>"), "{zh}");
    assert!(!page.contains("Poll now"), "no admin, no poll form: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_no_admin_form_is_offered_or_taken() {
    let mut s = site(false).await;
    for path in ["/", "/sources", "/outputs/merged"] {
        let (_, _, page) = get(&s.app, path, None).await;
        assert!(
            !page.contains("/signin") && !page.contains("<form method=\"post\""),
            "{path}: {page}"
        );
    }
    let (status, _, _) = get(&s.app, "/signin", None).await;
    assert_eq!(status, 403);
    let (status, _, _) = post(&s.app, "/signin", None, &[("csrf", "x"), ("token", "")]).await;
    assert_eq!(status, 403);
    let (status, _, _) = post(&s.app, "/sources/money/poll", None, &[("csrf", "x")]).await;
    assert_eq!(status, 403);
    assert!(s.polls.try_recv().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_strict_http_only_session_cookie_and_refuses_a_wrong_token() {
    let s = site(true).await;
    let (_, _, page) = get(&s.app, "/", None).await;
    assert!(
        page.contains("<a href=\"/signin\""),
        "sign-in is offered: {page}"
    );
    let (status, headers, form) = get(&s.app, "/signin", None).await;
    assert_eq!(status, 200);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let pre_set = set_cookie(&headers, "feedsift_signin").unwrap();
    assert!(
        pre_set.contains("HttpOnly") && pre_set.contains("SameSite=Strict"),
        "{pre_set}"
    );
    let pre = cookie_pair(pre_set);
    let csrf = csrf_of(&form);
    // Without the form's CSRF token, with another one, or without its cookie: 403.
    for (cookie, token) in [
        (Some(pre.as_str()), ""),
        (Some(pre.as_str()), "0000"),
        (None, csrf.as_str()),
    ] {
        let (status, headers, _) = post(
            &s.app,
            "/signin",
            cookie,
            &[("csrf", token), ("token", ADMIN_TOKEN)],
        )
        .await;
        assert_eq!(status, 403, "{cookie:?} {token}");
        assert!(set_cookie(&headers, "feedsift_session").is_none());
    }
    // A wrong admin token: 401, the form again, no session.
    let (status, headers, body) = post(
        &s.app,
        "/signin",
        Some(&pre),
        &[("csrf", &csrf), ("token", "wrong")],
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("That is not the admin token."), "{body}");
    assert!(set_cookie(&headers, "feedsift_session").is_none());
    // The right one: a session cookie that is HttpOnly, SameSite=Strict, and not the token.
    let (status, headers, _) = post(
        &s.app,
        "/signin",
        Some(&pre),
        &[("csrf", &csrf), ("token", ADMIN_TOKEN)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/sources");
    let session = set_cookie(&headers, "feedsift_session").unwrap();
    assert!(
        session.contains("; HttpOnly") && session.contains("; SameSite=Strict"),
        "{session}"
    );
    assert!(session.contains("; Path=/"), "{session}");
    let value = cookie_pair(session)["feedsift_session=".len()..].to_string();
    assert_eq!(value.len(), 64, "a random id: {session}");
    assert!(!session.contains("horse") && !value.contains(&hex(ADMIN_TOKEN)));
    // Signed in: the pages say so and offer sign-out, with the session's CSRF token.
    let cookie = cookie_pair(session);
    let (_, _, page) = get(&s.app, "/sources", Some(&cookie)).await;
    assert!(page.contains("action=\"/signout\""), "{page}");
    assert_ne!(csrf_of(&page), csrf, "a new token for the new session");
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_now_from_sources_needs_the_session_and_its_csrf_token() {
    let mut s = site(true).await;
    let cookie = sign_in(&s.app).await;
    let (_, _, page) = get(&s.app, "/sources", Some(&cookie)).await;
    assert!(page.contains("action=\"/sources/money/poll\""), "{page}");
    assert!(
        !page.contains("action=\"/sources/off/poll\""),
        "disabled feeds have no button"
    );
    let csrf = csrf_of(&page);
    // Refused: no token, a wrong one, another session's, no session cookie.
    let other = sign_in(&s.app).await;
    let (_, _, other_page) = get(&s.app, "/sources", Some(&other)).await;
    let other_csrf = csrf_of(&other_page);
    for (cookie, token) in [
        (Some(cookie.as_str()), ""),
        (Some(cookie.as_str()), "deadbeef"),
        (Some(cookie.as_str()), other_csrf.as_str()),
        (None, csrf.as_str()),
    ] {
        let (status, _, body) =
            post(&s.app, "/sources/money/poll", cookie, &[("csrf", token)]).await;
        assert_eq!(status, 403, "{cookie:?} {token}: {body}");
    }
    let (status, _, _) = post(&s.app, "/sources/money/poll", Some(&cookie), &[]).await;
    assert_eq!(status, 403, "a form without the field");
    assert!(s.polls.try_recv().is_err(), "nothing was queued");
    // With both: the scheduler is asked to poll, and the page says so.
    let (status, headers, _) = post(
        &s.app,
        "/sources/money/poll",
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/sources?polled=money");
    assert_eq!(s.polls.try_recv().unwrap(), "money");
    let (_, _, page) = get(&s.app, "/sources?polled=money", Some(&cookie)).await;
    assert!(page.contains("A poll of <b>money</b> was queued"), "{page}");
    // Unknown and disabled feeds are refused as the API refuses them.
    let (status, _, _) = post(
        &s.app,
        "/sources/nope/poll",
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = post(
        &s.app,
        "/sources/off/poll",
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 409);
    // Sign out (CSRF-checked too); the old cookie then polls nothing.
    let (status, _, _) = post(&s.app, "/signout", Some(&cookie), &[("csrf", "")]).await;
    assert_eq!(status, 403);
    let (status, headers, _) = post(&s.app, "/signout", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(set_cookie(&headers, "feedsift_session")
        .unwrap()
        .contains("Max-Age=0"));
    let (status, _, _) = post(
        &s.app,
        "/sources/money/poll",
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 403);
    assert!(s.polls.try_recv().is_err());
    let (_, _, page) = get(&s.app, "/sources", Some(&cookie)).await;
    assert!(!page.contains("Poll now"), "{page}");
}

/// The first relabel form's action (`/api/items/ID/label`) and its hidden `back` field.
fn relabel_form(page: &str) -> (String, String) {
    let form = page
        .split("<form class=\"relabel\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no relabel form in {page}"));
    let action = form.split("action=\"").nth(1).unwrap().split('"').next();
    let back = form
        .split("name=\"back\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next();
    (action.unwrap().to_string(), unescape(back.unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabel_in_place_needs_the_session_and_moves_the_item_at_once() {
    let s = site(true).await;
    let (_, _, page) = get(&s.app, "/outputs/finance", None).await;
    assert!(!page.contains("class=\"relabel\""), "signed out: no form");
    let cookie = sign_in(&s.app).await;
    let (_, _, page) = get(
        &s.app,
        "/outputs/finance?q=%E6%8C%87%E6%95%B0",
        Some(&cookie),
    )
    .await;
    let before = titles(&page);
    assert_eq!(before, ["A股三大指数集体收涨 券商板块领涨"], "{page}");
    // A select of the four labels, the item's own chosen.
    assert!(
        page.contains("<option value=\"finance\" selected>finance</option>"),
        "{page}"
    );
    for l in ["regional_politics", "lifestyle", "other"] {
        assert!(page.contains(&format!("<option value=\"{l}\">")), "{page}");
    }
    let (action, back) = relabel_form(&page);
    assert_eq!(back, "/outputs/finance?q=%E6%8C%87%E6%95%B0");
    let key = action
        .strip_prefix("/api/items/")
        .and_then(|a| a.strip_suffix("/label"))
        .unwrap()
        .to_string();
    let csrf = csrf_of(&page);
    let (_, _, feed_before) = get(&s.app, "/feeds/finance.rss", None).await;
    assert!(feed_before.contains("A股三大指数"));
    // Refused: no session, a wrong CSRF token, an unknown label; nothing changes.
    for (cookie, token, label, status) in [
        (None, csrf.as_str(), "lifestyle", 403),
        (Some(cookie.as_str()), "deadbeef", "lifestyle", 403),
        (Some(cookie.as_str()), csrf.as_str(), "sports", 400),
    ] {
        let (got, _, body) = post(
            &s.app,
            &action,
            cookie,
            &[("csrf", token), ("label", label), ("back", &back)],
        )
        .await;
        assert_eq!(got, status, "{body}");
    }
    assert_eq!(titles(&get(&s.app, &back, Some(&cookie)).await.2), before);
    // Accepted: back to the page, at the item; it has left the finance river and feed.
    let (status, headers, _) = post(
        &s.app,
        &action,
        Some(&cookie),
        &[("csrf", &csrf), ("label", "lifestyle"), ("back", &back)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], format!("{back}#story-{key}"));
    assert!(titles(&get(&s.app, &back, Some(&cookie)).await.2).is_empty());
    let (_, _, feed_after) = get(&s.app, "/feeds/finance.rss", None).await;
    assert!(!feed_after.contains("A股三大指数"), "{feed_after}");
    let (_, _, life) = get(
        &s.app,
        "/outputs/merged?category=lifestyle&q=%E6%8C%87%E6%95%B0",
        Some(&cookie),
    )
    .await;
    assert_eq!(titles(&life), before);
    assert!(life.contains("<span class=\"conf\">100%</span>"), "{life}");
    // A `back` that leaves the site is not followed.
    let (status, headers, _) = post(
        &s.app,
        &action,
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("label", "other"),
            ("back", "//evil.example/"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], format!("/#story-{key}"));
}
