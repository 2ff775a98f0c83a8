#!/usr/bin/env python3.11
"""Write a content farm of ten feeds for an end-to-end deduplication test: tests/fixtures/farm-unseen/.

Usage:
    pip install opencc==1.4.2          # simplified -> traditional for the Big5 feeds
    python3.11 scripts/dedup-farm-unseen.py [--out DIR]

Seed FARM_SEED; vocabulary: the HELD half (half 1) of scripts/dedup-probe-unseen.py (packaging words,
mastheads, separators, brackets, typography variants, story cores), so the farm measures packaging the
dev probe never shows. The deduplicator's engineer does not read these files.

Files:
  feed-00.xml ... feed-09.{xml,json}   RSS 2.0, Atom 1.0 and JSON Feed 1.1; UTF-8, GBK, GB18030 and Big5, the
                                       XML encoding declared; characters a legacy encoding lacks are written as
                                       numeric character references. The Big5 feeds carry traditional
                                       characters (OpenCC s2t) and only stories whose conversion round-trips.
  truth.json                           {item link: story id} for every item
  stories.json                         {story id: {"core", "lang", "role", "twin"?, "feeds"}}: role is
                                       `single`, `reposted` (the story in 3-4 feeds, each under its own
                                       packaging), or a hard negative (`template`, `other-number`,
                                       `other-place`, `look-alike`) whose `twin` is another story in
                                       another feed.

About 660 distinct stories; 60 of them are re-posted by 2-3 other feeds. A story re-posted into a Big5
feed has a core that is the same in simplified and traditional script, so script conversion never
decides a duplicate. Every item has its own link and GUID.
Score: every pair of items with one story id is a duplicate; every other pair is not.
"""
import argparse
import collections
import datetime
import importlib.util
import json
import random
import sys
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("probe", HERE / "dedup-probe-unseen.py")
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)

FARM_SEED = 660_017
OUT = HERE.parent / "tests" / "fixtures" / "farm-unseen"
# (format, encoding, languages)
FEEDS = [
    ("rss", "UTF-8", "zh"), ("rss", "GBK", "zh"), ("rss", "GB18030", "zh+en"), ("atom", "UTF-8", "zh+en"),
    ("atom", "GBK", "zh"), ("json", "UTF-8", "zh"), ("json", "UTF-8", "en+zh"), ("rss", "Big5", "trad"),
    ("atom", "Big5", "trad"), ("rss", "UTF-8", "en"),
]
N_STORIES, N_REPOSTED, N_NEG_PAIRS = 660, 60, {"template": 15, "other-number": 15, "other-place": 15, "look-alike": 10}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    import opencc
    s2t, t2s = opencc.OpenCC("s2t"), opencc.OpenCC("t2s")

    zh, en = probe.load_corpus()
    places = probe.load_places()
    v = probe.Vocab(1, zh, en, places)  # the held half
    rng = random.Random(FARM_SEED)
    farms = [probe.Farm(v, rng, i) for i in range(len(FEEDS))]
    cores = {"zh": [t for t in v.zh_cores if "开除党籍" not in t], "en": list(v.en_cores)}
    for k in cores:
        rng.shuffle(cores[k])
    used = set()

    def take(lang, pred=lambda t: True):
        for t in cores[lang]:
            if t not in used and pred(t):
                used.add(t)
                return t
        raise SystemExit("ran out of cores")

    def trad_ok(t):
        tt = s2t.convert(t)
        try:
            tt.encode("big5")
        except UnicodeEncodeError:
            return False
        return t2s.convert(tt) == t

    def invariant(t):
        return s2t.convert(t) == t and trad_ok(t)

    def feeds_for(lang, trad_ok_flag):
        out = []
        for i, (_, enc, langs) in enumerate(FEEDS):
            if langs == "trad":
                if lang == "zh" and trad_ok_flag:
                    out.append(i)
            elif lang in langs:
                out.append(i)
        return out

    stories = {}  # id -> dict
    placements = []  # (story id, feed index)

    def new_story(core, lang, role, feeds, twin=None):
        sid = f"s{len(stories):04d}"
        stories[sid] = {"core": core, "lang": lang, "role": role, "feeds": feeds}
        if twin:
            stories[sid]["twin"] = twin
            stories[twin]["twin"] = sid
        for f in feeds:
            placements.append((sid, f))
        return sid

    # re-posted stories: 15 through a Big5 feed (script-invariant cores), 12 English, the rest Chinese
    for k in range(N_REPOSTED):
        lang = "en" if k % 5 == 4 else "zh"
        if lang == "zh" and k % 4 == 0:
            core = take("zh", invariant)
            pool = feeds_for("zh", True)
            big5 = [i for i in pool if FEEDS[i][2] == "trad"]
            first = rng.choice(big5)
        else:
            core = take(lang)
            pool = feeds_for(lang, False)
            first = rng.choice(pool)
        others = rng.sample([i for i in pool if i != first], rng.choice([2, 2, 3]))
        new_story(core, lang, "reposted", [first] + others)

    # hard negatives: twins in two different non-Big5 feeds
    def twin_feeds(lang):
        pool = feeds_for(lang, False)
        return rng.sample(pool, 2)

    for kind, n in N_NEG_PAIRS.items():
        made = 0
        while made < n:
            lang = "en" if (kind in ("other-number", "template", "look-alike") and made % 5 == 4) else "zh"
            pair = None
            if kind == "other-number":
                t = take(lang)
                o = probe.other_number(t, rng)
                pair = (t, o) if o and probe.norm_key(o) != probe.norm_key(t) else None
            elif kind == "other-place":
                by_suffix = collections.defaultdict(list)
                for p in v.places:
                    by_suffix[(p[2], p[3])].append(p)
                short_index = {"full": [p for p in places if len(p[0]) >= 3],
                               "short": [p for p in places if p[3] in ("prov", "pref") and len(p[1]) >= 2
                                         and "族" not in p[0] and "自治" not in p[0]]}
                t = take("zh")
                o = probe.other_place(t, v, rng, by_suffix, short_index)
                pair = (t, o) if o and o != t else None
            elif kind == "template":
                pair = probe.template_en(cores["en"], v, rng) if lang == "en" else probe.template_zh(cores["zh"], v, rng)
                if pair and (pair[0] in used or pair[1] in used or probe.norm_key(pair[0]) == probe.norm_key(pair[1])):
                    pair = None
            if kind == "look-alike":
                if not hasattr(main, "_la"):
                    main._la = {l: probe.mine_lookalikes([t for t in cores[l] if t not in used], l, rng, 40, 0.35, 0.8)
                                for l in ("zh", "en")}
                while main._la[lang]:
                    a, b = main._la[lang].pop()
                    if a not in used and b not in used:
                        pair = (a, b)
                        break
            if not pair:
                continue
            used.update(pair)
            fa, fb = twin_feeds(lang)
            a = new_story(pair[0], lang, kind, [fa])
            new_story(pair[1], lang, kind, [fb], twin=a)
            made += 1

    # singletons up to N_STORIES, spread so that every feed gets about the same number of items
    load = collections.Counter(f for _, f in placements)
    while len(stories) < N_STORIES:
        f = min(range(len(FEEDS)), key=lambda i: (load[i], rng.random()))
        langs = FEEDS[f][2]
        if langs == "trad":
            lang, core = "zh", take("zh", trad_ok)
        else:
            p_en = 1.0 if langs == "en" else 0.7 if langs.startswith("en") else 0.3 if "en" in langs else 0.0
            lang = "en" if rng.random() < p_en else "zh"
            core = take(lang)
        new_story(core, lang, "single", [f])
        load[f] += 1

    # items
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("feed-*"):
        old.unlink()
    per_feed = collections.defaultdict(list)
    truth = {}
    base = datetime.datetime(2024, 3, 4, 6, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    for sid, f in placements:
        st = stories[sid]
        farm = farms[f]
        title = farm.package(probe.typo_noise(st["core"], rng, v), rng, st["lang"])
        if FEEDS[f][2] == "trad":
            title = s2t.convert(title)
        item = farm.item(title, rng)
        guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        when = base + datetime.timedelta(minutes=rng.randint(0, 60 * 24 * 3))
        per_feed[f].append({"title": title, "link": item["link"], "guid": guid, "when": when})
        assert item["link"] not in truth
        truth[item["link"]] = sid

    for f, (fmt, enc, langs) in enumerate(FEEDS):
        farm = farms[f]
        items = sorted(per_feed[f], key=lambda it: it["when"], reverse=True)
        name = s2t.convert(farm.segs["zh"][0]) if langs == "trad" else (farm.segs["en"][0] if langs == "en" else farm.segs["zh"][0])
        home = f"https://{farm.domain}/"
        if fmt == "json":
            doc = {"version": "https://jsonfeed.org/version/1.1", "title": name, "home_page_url": home,
                   "feed_url": home + "feed.json", "language": "en" if langs.startswith("en") else "zh-CN",
                   "items": [{"id": it["guid"], "url": it["link"], "title": it["title"], "content_text": "",
                              "date_published": it["when"].isoformat()} for it in items]}
            (args.out / f"feed-{f:02d}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            continue
        lines = [f'<?xml version="1.0" encoding="{enc}"?>']
        if fmt == "rss":
            lines.append('<rss version="2.0"><channel>')
            lines.append(f"<title>{escape(name)}</title><link>{home}</link><description>{escape(name)}</description>")
            for it in items:
                lines.append(f"<item><title>{escape(it['title'])}</title><link>{escape(it['link'])}</link>"
                             f"<guid isPermaLink=\"false\">{it['guid']}</guid>"
                             f"<pubDate>{it['when'].strftime('%a, %d %b %Y %H:%M:%S %z')}</pubDate></item>")
            lines.append("</channel></rss>")
        else:
            lines.append('<feed xmlns="http://www.w3.org/2005/Atom">')
            lines.append(f"<title>{escape(name)}</title><id>{home}</id><link href=\"{home}\"/>"
                         f"<updated>{items[0]['when'].isoformat()}</updated>")
            for it in items:
                lines.append(f"<entry><title>{escape(it['title'])}</title><link href=\"{escape(it['link'])}\"/>"
                             f"<id>urn:uuid:{it['guid']}</id><updated>{it['when'].isoformat()}</updated></entry>")
            lines.append("</feed>")
        data = ("\n".join(lines) + "\n").encode(enc.lower(), errors="xmlcharrefreplace")
        (args.out / f"feed-{f:02d}.xml").write_bytes(data)

    (args.out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    (args.out / "stories.json").write_text(json.dumps(stories, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    roles = collections.Counter(s["role"] for s in stories.values())
    langs = collections.Counter(s["lang"] for s in stories.values())
    print(f"{args.out}: {len(stories)} stories, {len(truth)} items; roles {dict(roles)}; langs {dict(langs)}", file=sys.stderr)
    for f, (fmt, enc, lg) in enumerate(FEEDS):
        print(f"  feed-{f:02d} {fmt:4s} {enc:7s} {lg:6s} {len(per_feed[f])} items", file=sys.stderr)


if __name__ == "__main__":
    main()
