#!/usr/bin/env python3
"""Writes the dedup probes of docs/DEDUP.md (A, B, C, D) into DIR, from the shared data.

    scripts/dedup-probes.py /tmp/probes && for p in a b c d; do
        feedsift eval dedup /tmp/probes/$p.jsonl | tail -1; done

Each probe re-posts real titles (the categorizer data) under two decorations drawn from a
vocabulary that appears nowhere in ../shared/data/dedup/pairs.jsonl, and adds negatives: the
shared hard negatives re-decorated (A, B), or templates with different subjects (C, D).
Seeded: the same files every run. D was written after every rule and is never tuned on.
"""
import json
import random
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def titles(name):
    out = []
    for line in open(SHARED / "categorizer" / name, encoding="utf-8"):
        d = json.loads(line)
        out.append((d["title"], d["lang"]))
    return out


def cjk(t):
    return any("\u4e00" <= c <= "\u9fff" for c in t)


def shared_negatives():
    for line in open(SHARED / "dedup" / "pairs.jsonl", encoding="utf-8"):
        d = json.loads(line)
        if not d["duplicate"] and d["kind"] != "random":
            yield d


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for d in rows:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")


def probe_a():
    random.seed(7)
    ts = titles("dev.jsonl")
    random.shuffle(ts)
    zh = [t for t, l in ts if l == "zh" and 8 <= len(t) <= 40][:400]
    en = [t for t, l in ts if l == "en" and 20 <= len(t) <= 120][:200]
    zh_pre = ["热点追踪丨", "快讯：", "突发！", "独家|", "早知道：", "【新闻直播间】", "[热门资讯]", "《今日观察》",
              "头条速看：", "最新消息！", "「深度」", "今日看点｜", "热议：", "【重磅】", "速读｜"]
    zh_suf = ["_新闻频道_中华网", "—中新网", "｜每日经济新闻", "_凤凰网资讯", "（组图）", "-热点资讯", "_今日头条",
              "丨财经早知道", "【视频】", "(附名单)", " - 网易新闻", "_腾讯新闻", "！网友热议", "_实时热点", "｜看点"]
    en_pre = ["BREAKING: ", "Exclusive: ", "WATCH: ", "UPDATE 2-", "Analysis: ", "Live updates: "]
    en_suf = [" - Reuters", " | CNN Business", " (VIDEO)", " - The New York Times", " | AP News", " — BBC News"]
    item = lambda t, src: {"title": t, "summary": "", "link": "", "source": src}
    rows = []
    for t in zh:
        a = random.choice(zh_pre) + t if random.random() < 0.5 else t + random.choice(zh_suf)
        b = (random.choice(zh_pre) + t + random.choice(zh_suf) if random.random() < 0.3
             else (t + random.choice(zh_suf) if random.random() < 0.5 else random.choice(zh_pre) + t))
        rows.append({"a": item(a, "s1"), "b": item(b, "s2"), "duplicate": True, "kind": "zh-new-decor"})
    for t in en:
        a = random.choice(en_pre) + t if random.random() < 0.5 else t + random.choice(en_suf)
        b = t + random.choice(en_suf) if random.random() < 0.5 else random.choice(en_pre) + t
        rows.append({"a": item(a, "s1"), "b": item(b, "s2"), "duplicate": True, "kind": "en-new-decor"})
    for _ in range(300):
        t1, t2 = random.sample(zh, 2)
        d = random.choice(zh_suf)
        rows.append({"a": item(t1 + d, "s1"), "b": item(t2 + d, "s2"), "duplicate": False,
                     "kind": "zh-same-decor-diff"})
    random.seed(11)

    def deco(t):
        pre, suf = (zh_pre, zh_suf) if cjk(t) else (en_pre, en_suf)
        r = random.random()
        if r < 0.4:
            return random.choice(pre) + t
        if r < 0.8:
            return t + random.choice(suf)
        return random.choice(pre) + t + random.choice(suf)

    for d in shared_negatives():
        for side in "ab":
            d[side]["title"] = deco(d[side]["title"])
        d["kind"] = "neg-" + d["kind"]
        rows.append(d)
    for n, d in enumerate(rows):
        d["a"]["link"] = f"https://s1.example/{n}.html"
        d["b"]["link"] = f"https://s2.example/{n}.html"
    return rows


def decorated(seed, source, lo, hi, en_lo, en_hi, zh_min, vocab):
    random.seed(seed)
    ts = titles(source)
    random.shuffle(ts)
    zh = [t for t, l in ts if l == "zh" and zh_min <= len(t) <= 40][lo:hi]
    en = [t for t, l in ts if l == "en" and 20 <= len(t) <= 120][en_lo:en_hi]
    zh_pre, zh_suf, en_pre, en_suf = vocab

    def deco(t):
        pre, suf = (zh_pre, zh_suf) if cjk(t) else (en_pre, en_suf)
        r = random.random()
        if r < 0.4:
            return random.choice(pre) + t
        if r < 0.8:
            return t + random.choice(suf)
        return random.choice(pre) + t + random.choice(suf)

    counter = [0]

    def item(t, src):
        counter[0] += 1
        return {"title": t, "summary": "", "link": f"https://{src}.example/{counter[0]}.html", "source": src}

    return zh, en, deco, item


def reposts(ts, deco, item, probe):
    """Each title re-posted twice, under two decorations drawn independently."""
    rows = []
    for t in ts:
        a, b = deco(t), deco(t)
        rows.append({"a": item(a, "s1"), "b": item(b, "s2"), "duplicate": True,
                     "kind": ("zh-" if cjk(t) else "en-") + probe})
    return rows


def probe_b():
    vocab = (["今日热评丨", "观察者网：", "红星新闻｜", "【央视快评】", "每日一看：", "独家丨", "【图集】", "早报｜", "〔要闻〕",
              "热搜榜：", "聚焦·", "新鲜事|"],
             ["—澎湃新闻", "_新浪网", "｜界面新闻", "-东方财富网", "（图文）", "_光明网", "（全文）", "(更新)", "丨正观新闻",
              "_环球网", "_手机搜狐网", "【图】", "｜快看", "_热门推荐"],
             ["Opinion | ", "Markets: ", "Explainer-", "REFILE-", "In pictures: ", "Factbox: ", "Top News: "],
             [" - Bloomberg", " | The Guardian", " - Financial Times", " - CNBC", " | Fox News",
              " - Al Jazeera English", " (Photos)"])
    zh, en, deco, item = decorated(2024, "train.jsonl", 0, 500, 0, 250, 6, vocab)
    rows = reposts(zh + en, deco, item, "B")
    for d in shared_negatives():
        d["a"] = item(deco(d["a"]["title"]), "s1")
        d["b"] = item(deco(d["b"]["title"]), "s2")
        d["kind"] = "negB-" + d["kind"]
        rows.append(d)
    return rows


def probe_c():
    vocab = (["【热点关注】", "第一眼｜", "荐读：", "[头条新闻]", "晨读丨", "【本网快讯】", "要闻速递｜", "《财经观察》", "热门：",
              "看天下|"],
             ["_人民网", "—北青网", "｜新京报", "-中国经济网", "(多图)", "_新华网", "｜21世纪经济报道", "【组图】", "_南方网",
              "丨潮新闻", "（视频）", "_大众网"],
             ["BRIEF-", "Insight: ", "Focus: ", "Explained: ", "Update: ", "Just in: "],
             [" - Axios", " | Reuters.com", " - Yahoo Finance", " (Updated)", " | Euronews", " - The Washington Post"])
    zh, en, deco, item = decorated(99, "train.jsonl", 1000, 1400, 1000, 1200, 6, vocab)
    rows = reposts(zh + en, deco, item, "C")
    cos = ["万科A", "招商银行", "平安银行", "宁德时代", "比亚迪", "中国石化", "格力电器", "美的集团", "海天味业", "隆基绿能",
           "中信证券", "京东方A", "东方财富", "三一重工", "紫金矿业"]
    notes = ["关于召开年度股东大会的通知公告", "关于股东减持股份计划的预披露公告", "董事会决议公告及独立董事意见",
             "关于回购公司股份的进展公告", "关于控股股东部分股份质押的公告"]
    cities = ["重庆", "成都", "西安", "武汉", "南京", "杭州", "长沙", "郑州"]
    gen = ["市气象台发布暴雨蓝色预警信号请注意防范", "召开全市安全生产工作会议部署下阶段工作", "开展基层矛盾纠纷排查化解专项行动"]
    ens = ["Apple", "Google", "Microsoft", "Amazon", "Intel", "Nvidia", "Tesla", "Boeing"]
    eng = ["quarterly profit rises on strong demand", "shares fall after weaker outlook", "to cut jobs in restructuring plan"]
    for _ in range(300):
        c1, c2 = random.sample(cos, 2)
        x = random.choice(notes)
        sep = random.choice(["：", ":", " "])
        rows.append({"a": item(c1 + sep + x, "s1"), "b": item(c2 + sep + x, "s2"), "duplicate": False, "kind": "tmpl-company"})
    for _ in range(150):
        c1, c2 = random.sample(cities, 2)
        x = random.choice(gen)
        sep = random.choice(["：", "｜"])
        rows.append({"a": item(c1 + "新闻" + sep + x, "s1"), "b": item(c2 + "新闻" + sep + x, "s2"), "duplicate": False,
                     "kind": "tmpl-citypaper"})
        rows.append({"a": item(c1 + sep + x, "s1"), "b": item(c2 + sep + x, "s2"), "duplicate": False, "kind": "tmpl-city"})
    for _ in range(150):
        c1, c2 = random.sample(ens, 2)
        x = random.choice(eng)
        sep = random.choice([": ", " "])
        rows.append({"a": item(c1 + sep + x, "s1"), "b": item(c2 + sep + x, "s2"), "duplicate": False, "kind": "tmpl-en"})
    return rows


def probe_d():
    vocab = (["【今日关注】", "快看｜", "资讯早班车：", "【深度好文】", "今晨速递丨", "热文：", "〖每日推荐〗", "爆料！", "都市快报｜",
              "【锐评】"],
             ["_央广网", "｜中国新闻网", "-金融界", "（附视频）", "_澎湃号", "丨极目新闻", "【多图】", "_北晚在线", "-手机网易网",
              "（最新）", "｜上游新闻", "_大河网"],
             ["EXCLUSIVE-", "Markets wrap: ", "Breaking news: ", "Fact check: ", "Inside: ", "Morning brief: "],
             [" - CNN", " | Bloomberg.com", " - MarketWatch", " (+video)", " | The Independent", " - Sky News"])
    zh, en, deco, item = decorated(4242, "dev.jsonl", 500, 900, 300, 500, 6, vocab)
    rows = reposts(zh + en, deco, item, "D")
    people = ["李强", "王毅", "丁薛祥", "何立峰", "刘国中", "陈吉宁", "黄坤明", "袁家军"]
    quotes = ["要坚定不移推动高质量发展", "扎实做好当前防汛救灾各项工作", "进一步全面深化改革推进中国式现代化"]
    funds = ["易方达蓝筹精选", "招商中证白酒", "华夏上证50ETF", "富国天惠成长", "中欧医疗健康", "广发稳健增长"]
    fn = ["基金经理变更公告", "关于暂停大额申购业务的公告", "2024年第三季度报告"]
    for _ in range(200):
        p1, p2 = random.sample(people, 2)
        q = random.choice(quotes)
        sep = random.choice(["：", "｜", " "])
        rows.append({"a": item(deco(p1 + sep + q), "s1"), "b": item(deco(p2 + sep + q), "s2"), "duplicate": False,
                     "kind": "tmplD-person"})
    for _ in range(200):
        f1, f2 = random.sample(funds, 2)
        x = random.choice(fn)
        rows.append({"a": item(f1 + x, "s1"), "b": item(f2 + x, "s2"), "duplicate": False, "kind": "tmplD-fund"})
        rows.append({"a": item(f1 + "：" + x, "s1"), "b": item(f2 + "：" + x, "s2"), "duplicate": False,
                     "kind": "tmplD-fund-colon"})
    return rows


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, make in [("a", probe_a), ("b", probe_b), ("c", probe_c), ("d", probe_d)]:
        rows = make()
        write(out / f"{name}.jsonl", rows)
        print(f"{out / (name + '.jsonl')}: {len(rows)} pairs")
