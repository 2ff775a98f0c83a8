#!/usr/bin/env python3.11
"""Generate labelled title pairs that measure the deduplicator on packaging it has never seen.

Usage:
    python3.11 scripts/dedup-probe-unseen.py            # writes tests/fixtures/dedup-probe-dev.jsonl
    python3.11 scripts/dedup-probe-unseen.py --held     # writes /work/sealed/dedup-probe-held.jsonl
    python3.11 scripts/dedup-probe-unseen.py --held --out PATH

Output: one pair a line, the format of shared/data/dedup/pairs.jsonl plus a `lang` key:
    {"a": {"title","summary","link","source"}, "b": {...}, "duplicate": bool, "kind": str, "lang": "zh"|"en"}

Kinds:
  decorated     (duplicate)  one real title (the story "core") re-posted by two farms, each adding its own
                             packaging at one or both ends, with independent typography noise in the core
  template      (different)  one template, two subjects: real template twins mined from the corpus (same long
                             ending, different subject) and `S：body` / `S body` with another subject
                             (people's names, companies, English proper nouns)
  other-number  (different)  the same title with another number (digits or 第N), another value after NFKC
  other-place   (different)  the same title about another place (names from shared/data/regions/adcodes.csv)
  look-alike    (different)  two real titles mined by character-bigram (zh) / word (en) overlap
  random        (different)  two random titles
Every negative is packaged exactly like the positives.

Nothing here is a hand list of decorations. Vocabularies are generated, then split in two halves:
  * packaging words: random 2-6 character "words" drawn from the character distribution of the Chinese
    titles; mastheads = a generated prefix (corpus characters, a place name's short form, Latin capitals or
    digits) + an ending made as the product of two small morpheme sets (modifier x head); Latin packaging =
    words of the English titles, title-cased, 1-3 of them, optionally with digits;
  * separators and brackets: every code point of the punctuation-bearing blocks (Basic Latin, Latin-1,
    General/Supplemental Punctuation, CJK Symbols, Katakana, CJK Compatibility/Small/Half-Full-width forms)
    grouped by Unicode category (Pd dashes, Po dots/colons/exclamations, Sm/So/Po vertical bars, wave dashes
    and tildes, Pc low lines, Zs spaces, Ps/Pe bracket pairs matched by name);
  * typography variants: all code points of those blocks that NFKC-normalise to the same ASCII/CJK
    punctuation, full-width/half-width Latin letters and digits, Zs spaces;
  * story cores: the real titles (shared/data/categorizer train/dev/more), de-duplicated;
  * subjects: surnames+given names, generated company names, English proper nouns, place names.
Each item of each vocabulary goes to half 0 or 1 by sha256(SPLIT_SALT|vocab|item): small classes are sorted
by that hash and dealt alternately (so each half has members of every separator class), large ones by the
hash's low bit. The dev probe uses half 0 only, the held probe half 1 only (other cores, other words, other
separator characters, other variant code points, other farms). The generated vocabularies use VOCAB_SEED
(same for both halves); the pair sampling uses DEV_SEED or HELD_SEED.

The held probe is sealed: run it once after the design is final, and report its first number.
"""
import argparse
import collections
import hashlib
import json
import random
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
SPLIT_SALT = "feedsift-dedup-probe-unseen-v1"
VOCAB_SEED = 41017
DEV_SEED = 5521
HELD_SEED = 90613
DEV_OUT = ROOT / "tests" / "fixtures" / "dedup-probe-dev.jsonl"
HELD_OUT = Path("/work/sealed/dedup-probe-held.jsonl")

# counts per split: (kind, lang) -> pairs
PLAN = {
    ("decorated", "zh"): 960, ("decorated", "en"): 240,
    ("template", "zh"): 240, ("template", "en"): 60,
    ("other-number", "zh"): 220, ("other-number", "en"): 80,
    ("other-place", "zh"): 200,
    ("look-alike", "zh"): 140, ("look-alike", "en"): 60,
    ("random", "zh"): 140, ("random", "en"): 60,
}


# ---------------------------------------------------------------- hashing / halves
def h(vocab, item):
    return hashlib.sha256(f"{SPLIT_SALT}|{vocab}|{item}".encode()).hexdigest()


def half_of(vocab, item):
    return int(h(vocab, item)[-1], 16) & 1


def split_large(vocab, items):
    out = ([], [])
    for it in items:
        out[half_of(vocab, it)].append(it)
    return out


def split_small(vocab, items):
    """Sort by hash and deal alternately: both halves get members of a small class."""
    items = sorted(set(items), key=lambda it: h(vocab, it))
    return (items[0::2], items[1::2])


# ---------------------------------------------------------------- corpus
def is_cjk(ch):
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF


def norm_key(t):
    t = unicodedata.normalize("NFKC", t).lower()
    return "".join(ch for ch in t if ch.isalnum())


def load_corpus():
    cat = SHARED / "categorizer"
    files = [cat / "train.jsonl", cat / "dev.jsonl"] + sorted((cat / "more").glob("*.jsonl"))
    zh, en, seen = [], [], set()
    for f in files:
        for line in f.open(encoding="utf-8"):
            d = json.loads(line)
            t = re.sub(r"\s+", " ", d["title"]).strip()
            k = norm_key(t)
            if not k or k in seen:
                continue
            seen.add(k)
            if d["lang"] == "zh":
                if 8 <= len(t) <= 40 and sum(map(is_cjk, t)) >= 6:
                    zh.append(t)
            elif 20 <= len(t) <= 110 and all(ord(c) < 0x250 or c in "‘’“”–—…" for c in t):
                en.append(t)
    return zh, en


def load_places():
    """(full name, short name, level suffix) of every division whose name ends in a level word."""
    out = []
    for line in (SHARED / "regions" / "adcodes.csv").open(encoding="utf-8").read().splitlines()[1:]:
        code, name = line.split(",")[:2]
        m = re.match(r"^(.{2,}?)(自治区|自治州|自治县|省|市|县|区|州|盟|旗)$", name)
        if not m or len(name) < 3:
            continue
        short = m.group(1)
        short = re.sub(r"(壮族|回族|维吾尔|蒙古族|藏族|朝鲜族|土家族苗族|苗族侗族|布依族苗族|彝族|哈尼族彝族|傣族|白族|傈僳族|景颇族|羌族)$", "", short)
        level = "prov" if code.endswith("0000000000") else ("pref" if code.endswith("00000000") else "county")
        out.append((name, short, m.group(2), level))
    return out


# ---------------------------------------------------------------- Unicode classes
BLOCKS = [(0x0020, 0x007E), (0x00A0, 0x00FF), (0x2000, 0x206F), (0x2E00, 0x2E7F), (0x3000, 0x303F),
          (0x30A0, 0x30FF), (0xFE10, 0xFE1F), (0xFE30, 0xFE4F), (0xFE50, 0xFE6F), (0xFF00, 0xFFEF),
          (0x2200, 0x22FF)]


def block_chars():
    for lo, hi in BLOCKS:
        for o in range(lo, hi + 1):
            ch = chr(o)
            try:
                unicodedata.name(ch)
            except ValueError:
                continue
            yield ch


def unicode_classes():
    """Separator classes and bracket pairs found by category and name, not listed by hand."""
    cls = collections.defaultdict(list)
    opens, closes = {}, {}
    for ch in block_chars():
        cat, name = unicodedata.category(ch), unicodedata.name(ch)
        if "VERTICAL" in name and "PRESENTATION" in name:
            continue  # vertical presentation forms: keep them for the NFKC variants only
        if cat == "Pd":
            (cls["wave"] if "WAVE" in name else cls["dash"]).append(ch)
        elif name.endswith(("TILDE", "TILDE OPERATOR")) and cat in ("Sm", "Po") and not any(
                w in name for w in ("NOT", "MINUS", "TRIPLE", "EQUAL", "WITH")):
            cls["wave"].append(ch)
        elif cat == "Pc" and "LOW LINE" in name:
            cls["lowline"].append(ch)
        elif name.endswith(("VERTICAL LINE", "VERTICAL BAR", "BROKEN BAR")) or name == "DIVIDES":
            cls["bar"].append(ch)
        elif cat == "Po" and ("MIDDLE DOT" in name or "INTERPUNCT" in name or "BULLET" in name
                              or "HYPHENATION POINT" in name or "KATAKANA MIDDLE" in name):
            cls["dot"].append(ch)
        elif cat == "Po" and (name == "COLON" or name.endswith(" COLON")):
            cls["colon"].append(ch)
        elif cat == "Po" and name.endswith("EXCLAMATION MARK") and "INVERTED" not in name:
            cls["excl"].append(ch)
        elif cat == "Po" and name.endswith("SOLIDUS"):
            cls["solidus"].append(ch)
        elif cat == "Zs":
            cls["space"].append(ch)
        elif cat == "Ps":
            opens[name] = ch
        elif cat == "Pe":
            closes[name] = ch
    pairs = []
    for name, o in opens.items():
        for a, b in (("LEFT", "RIGHT"), ("OPENING", "CLOSING"), ("OPEN", "CLOSE")):
            if a in name and name.replace(a, b) in closes:
                pairs.append(o + closes[name.replace(a, b)])
                break
    cls["bracket"] = [p for p in pairs if "LOW" not in unicodedata.name(p[0])]
    # widths the spaces in a title can plausibly take (zero-width and hair spaces are not "spaces")
    cls["space"] = [c for c in cls["space"] if unicodedata.name(c) not in ("OGHAM SPACE MARK",)]
    return cls


def nfkc_variants():
    """Map a canonical punctuation/letter/digit to the code points of the blocks that NFKC to it."""
    var = collections.defaultdict(set)
    for ch in block_chars():
        n = unicodedata.normalize("NFKC", ch)
        tag = unicodedata.decomposition(ch).split(" ")[0]
        if tag not in ("<wide>", "<narrow>", "<small>"):
            continue  # superscripts, circled and vertical forms are not mere typography
        if len(n) == 1 and n != ch and (unicodedata.category(n)[0] in "PN" or n.isalpha() and ord(n) < 128):
            var[n].add(ch)
    return var


# ---------------------------------------------------------------- vocabulary
class Vocab:
    """One half of every generated vocabulary."""

    def __init__(self, half, zh, en, places):
        rng = random.Random(VOCAB_SEED)
        self.half = half
        # story cores
        self.zh_cores = split_large("core", zh)[half]
        self.en_cores = split_large("core", en)[half]
        self.zh_core_set, self.en_core_set = set(self.zh_cores), set(self.en_cores)
        # character distribution of the Chinese titles
        freq = collections.Counter(ch for t in zh for ch in t if is_cjk(ch))
        top = [c for c, _ in freq.most_common(2500)]
        weights = [freq[c] for c in top]
        self.chars, self.char_w = top, weights

        def cjk_word(n):
            return "".join(rng.choices(top, weights, k=n))

        words = {cjk_word(rng.choice([2, 2, 3, 3, 4, 4, 5, 6])) for _ in range(1600)}
        self.cjk_words = split_large("cjk-word", sorted(words))[half]
        # endings: product of two small morpheme sets, split by hash
        modifiers = "快新热早晚今每周日时要速全天实焦近简"
        heads = "讯报闻网评点刊看播观志视"
        endings = {m + hd for m in modifiers for hd in heads} | set(heads) | {a + b for a in heads for b in heads if a != b}
        self.endings = split_large("ending", sorted(endings))[half]
        # place short names for masthead prefixes and other-place substitution
        self.places = [p for p in places if half_of("place", p[0]) == half]
        # Latin words of the English titles
        wc = collections.Counter(w.lower() for t in en for w in re.findall(r"[A-Za-z]{3,10}", t))
        latin = sorted(w for w, c in wc.items() if c >= 3)
        self.latin = split_large("latin-word", latin)[half]
        # proper nouns: capitalised in mid-title, never lower-case in the mixed-case titles
        cap, low = collections.Counter(), collections.Counter()
        for t in en:
            toks = re.findall(r"[A-Za-z][A-Za-z'.&-]*", t)
            if t == t.lower():
                continue
            for i, w in enumerate(toks):
                if w[0].isupper() and i > 0 and not w.isupper():
                    cap[w] += 1
                elif w[0].islower():
                    low[w.lower()] += 1
        propers = sorted(w for w, c in cap.items() if c >= 4 and low[w.lower()] == 0 and len(w) >= 4)
        self.propers = split_large("proper", propers)[half]
        self.proper_set = set(propers)
        # people's names: surnames = most frequent first characters of 2-3 character subjects before a colon
        subj, given = collections.Counter(), collections.Counter()
        for t in zh:
            m = re.match(r"^([\u4e00-\u9fff]{3})[：:]", t)  # three-character subjects: full names
            if m:
                subj[m.group(1)[0]] += 1
                given.update(m.group(1)[1:])
        surnames = [c for c, _ in subj.most_common(60)]
        gl = [c for c, _ in given.most_common(400)]
        gw = [given[c] for c in gl]
        names = {rng.choice(surnames) + "".join(rng.choices(gl, gw, k=rng.choice([1, 2, 2])))
                 for _ in range(1200)}
        self.person_names = split_large("person", sorted(names))[half]
        # companies: a place's short name or two given-name characters + an industry word (+ A/B share class)
        inds = ["股份", "科技", "银行", "集团", "控股", "电子", "药业", "能源", "证券", "传媒", "电器", "汽车",
                "地产", "化工", "食品", "建设", "物流", "医药", "新材", "环保"]
        shorts = sorted({p[1] for p in places if len(p[1]) == 2 and "族" not in p[0]})
        companies = set()
        for _ in range(1200):
            pre = rng.choice(shorts) if rng.random() < 0.5 else "".join(rng.choices(gl[:200], gw[:200], k=2))
            companies.add(pre + rng.choice(inds) + rng.choice(["", "", "", "A", "B"]))
        self.companies = split_large("company", sorted(companies))[half]
        # Unicode classes
        cls = unicode_classes()
        self.cls = {k: split_small("sep-" + k, v)[half] for k, v in cls.items()}
        var = nfkc_variants()
        self.variants = {}
        for canon, vs in var.items():
            mine = split_small("variant-" + canon, sorted(vs))[half] if len(vs) > 1 else (
                sorted(vs) if half_of("variant-" + canon, canon) == half else [])
            if mine:
                self.variants[canon] = mine
        self.wide_spaces = [c for c in self.cls["space"]] or [" "]
        # Latin domain syllables
        syl = {c + v for c in "bcdfghjklmnprstwxyz" for v in ("a", "e", "i", "o", "u", "ai", "ao", "an", "ong", "ing")}
        self.syllables = split_large("syllable", sorted(syl))[half]

    # ---- packaging segments
    def segment(self, rng, lang):
        if lang == "en":
            r = rng.random()
            words = [w.title() for w in rng.sample(self.latin, rng.choice([1, 2, 2, 3]))]
            if r < 0.15:
                words.append(str(rng.choice([24, 7, 360, 1, 5, 99, 2024, rng.randint(2, 999)])))
            if r > 0.9:
                words = [words[0].upper()[: rng.choice([2, 3, 4])]] + words[1:]
            return " ".join(words)
        r = rng.random()
        if r < 0.35:
            return rng.choice(self.cjk_words)
        if r < 0.6:
            pre = "".join(rng.choices(self.chars[:1200], self.char_w[:1200], k=rng.choice([1, 2, 2, 3])))
            return pre + rng.choice(self.endings)
        if r < 0.75:
            return rng.choice(self.places)[1] + rng.choice(self.endings)
        if r < 0.85:
            caps = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.choice([1, 2, 3, 4])))
            return caps + rng.choice(self.endings)
        if r < 0.93:
            return str(rng.choice([24, 7, 365, 360, 100, 12, rng.randint(2, 99)])) + rng.choice(self.endings)
        return rng.choice(self.cjk_words) + rng.choice(self.endings)

    def separator(self, rng, lang, where="pre"):
        """A separator made of one Unicode class member, maybe doubled (dashes), maybe spaced."""
        kinds = ["dash", "dash", "dot", "bar", "bar", "wave", "lowline", "solidus", "space"]
        if where == "pre":
            kinds += ["colon", "colon", "excl"]  # `焦点!X`, `Label: X`; a trailing colon ends nothing
        kind = rng.choice(kinds)
        if not self.cls.get(kind):
            kind = "dash"
        ch = rng.choice(self.cls[kind])
        if kind == "dash" and rng.random() < 0.3:
            ch = ch * 2
        if kind == "space":
            return ch * rng.choice([1, 1, 2])
        sp = rng.random()
        if lang == "en" or sp < 0.3:
            s = rng.choice(self.wide_spaces + [" "] * 3)
            if kind in ("colon", "excl"):
                return ch + s
            return s + ch + s
        if sp < 0.4:
            return ch + rng.choice(self.wide_spaces)
        return ch

    def bracket(self, rng):
        return rng.choice(self.cls["bracket"])

    def domain(self, rng):
        name = "".join(rng.sample(self.syllables, rng.choice([2, 2, 3])))
        if rng.random() < 0.2:
            name += str(rng.randint(1, 99))
        return rng.choice(["www.", "news.", "m.", "", "info."]) + name + rng.choice([".com", ".cn", ".com.cn", ".net", ".net.cn", ".cc"])


class Farm:
    """A site that applies a few recurring segments in one or two habitual shapes."""

    def __init__(self, vocab, rng, idx):
        self.v = vocab
        self.domain = vocab.domain(rng)
        labels = self.domain.split(".")
        self.name = labels[1] if labels[0] in ("www", "news", "m", "info") else labels[0]
        self.segs = {lang: [vocab.segment(rng, lang) for _ in range(rng.choice([2, 3, 4]))] for lang in ("zh", "en")}
        self.shapes = {lang: [self.random_shape(rng, lang) for _ in range(rng.choice([1, 2, 2, 3]))] for lang in ("zh", "en")}
        self.path = rng.choice(["/p/", "/a/", "/article/", "/news/", "/html/", "/doc/"])

    def random_shape(self, rng, lang):
        where = rng.choice(["pre", "pre", "suf", "suf", "suf", "both"])
        def end(w):
            if rng.random() < (0.25 if lang == "en" else 0.45):
                return ("br", self.v.bracket(rng), rng.random() < 0.25)  # bracket, space after/before
            return ("sep", self.v.separator(rng, lang, w))
        if where == "both":
            return ("both", end("pre"), end("suf"))
        return (where, end(where))

    def package(self, core, rng, lang):
        shape = rng.choice(self.shapes[lang]) if rng.random() < 0.8 else self.random_shape(rng, lang)
        def seg():
            return rng.choice(self.segs[lang]) if rng.random() < 0.85 else self.v.segment(rng, lang)
        def apply(where, e, text):
            s = seg()
            if e[0] == "br":
                wrapped = e[1][0] + s + e[1][1]
                gap = " " if e[2] else ""
                return wrapped + gap + text if where == "pre" else text + gap + wrapped
            return s + e[1] + text if where == "pre" else text + e[1] + s
        if shape[0] == "both":
            return apply("suf", shape[2], apply("pre", shape[1], core))
        return apply(shape[0], shape[1], core)

    def item(self, title, rng):
        return {"title": title, "summary": "", "link": f"https://{self.domain}{self.path}{rng.getrandbits(40):010x}.html",
                "source": self.name}


# ---------------------------------------------------------------- typography noise
def typo_noise(text, rng, v):
    out = text
    if rng.random() < 0.45:  # full-width / half-width swaps of Latin letters and digits
        p = rng.choice([0.2, 0.3, 0.6, 0.6, 1.0])
        chars = []
        for ch in out:
            if ch.isascii() and ch.isalnum() and rng.random() < p and ch in v.variants:
                chars.append(rng.choice(v.variants[ch]))
            elif 0xFF10 <= ord(ch) <= 0xFF5A and ch.isalnum() and rng.random() < p:
                chars.append(unicodedata.normalize("NFKC", ch))
            else:
                chars.append(ch)
        out = "".join(chars)
    if rng.random() < 0.4:  # punctuation variants that NFKC-normalise to one another
        chars = []
        for ch in out:
            canon = unicodedata.normalize("NFKC", ch)
            if not ch.isalnum() and not ch.isspace() and rng.random() < 0.7:
                opts = [c for c in v.variants.get(canon, []) if c != ch]
                if canon != ch and canon.isascii():
                    opts.append(canon)
                if opts:
                    ch = rng.choice(opts)
            chars.append(ch)
        out = "".join(chars)
    if rng.random() < 0.3:  # extra spaces at script boundaries and after punctuation, or widened spaces
        chars = []
        for i, ch in enumerate(out):
            chars.append(ch)
            nxt = out[i + 1] if i + 1 < len(out) else ""
            if not nxt:
                continue
            boundary = (is_cjk(ch) and nxt.isascii() and nxt.isalnum()) or (ch.isascii() and ch.isalnum() and is_cjk(nxt))
            punct = unicodedata.category(ch)[0] == "P" and nxt.isalnum() and not ch.isascii()
            if (boundary or punct) and rng.random() < 0.5:
                chars.append(rng.choice(v.wide_spaces + [" "]))
            if ch == " " and rng.random() < 0.5:
                chars.append(rng.choice(v.wide_spaces + [" "]))
        out = "".join(chars)
    return out


# ---------------------------------------------------------------- negatives
NUM_RE = re.compile(r"\d+(?:\.\d+)?")
CN_ORD_RE = re.compile(r"第([一二三四五六七八九十]{1,3})(次|届|期|批|轮|季|章|集|场|天|年|个|名|条|部|代|号)")
CN_DIGITS = "一二三四五六七八九"


def cn_num(n):
    if n <= 10:
        return (CN_DIGITS + "十")[n - 1]
    if n < 20:
        return "十" + CN_DIGITS[n - 11]
    return CN_DIGITS[n // 10 - 1] + "十" + (CN_DIGITS[n % 10 - 1] if n % 10 else "")


def cn_val(s):
    if s == "十":
        return 10
    if "十" in s:
        a, _, b = s.partition("十")
        return (CN_DIGITS.index(a) + 1 if a else 1) * 10 + (CN_DIGITS.index(b) + 1 if b else 0)
    return CN_DIGITS.index(s) + 1 if len(s) == 1 and s in CN_DIGITS else None


def other_number(t, rng):
    m = CN_ORD_RE.search(t)
    cands = [("cn", m)] if m and cn_val(m.group(1)) else []
    for mm in NUM_RE.finditer(t):
        # not inside a Latin word (G20, iPhone6, 3D), not part of a code like 600519
        before, after = t[mm.start() - 1: mm.start()], t[mm.end(): mm.end() + 1]
        if (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha() and after not in "smkKMB%"):
            continue
        if len(mm.group().replace(".", "")) > 4:
            continue
        if after == "-" and t[mm.end() + 1: mm.end() + 2].isupper():
            continue  # a wire revision tag (`UPDATE 2-Title`): packaging, not the story
        cands.append(("d", mm))
    if not cands:
        return None
    kind, mm = rng.choice(cands)
    if kind == "cn":
        n = cn_val(mm.group(1))
        new = rng.choice([x for x in range(1, max(20, n + 5)) if x != n and abs(x - n) <= 4])
        return t[: mm.start(1)] + cn_num(new) + t[mm.end(1):]
    s = mm.group()
    if "." in s:
        a, b = s.split(".")
        nb = str((int(b) + rng.randint(1, 9)) % (10 ** len(b))).zfill(len(b))
        new = a + "." + nb
    else:
        n = int(s)
        if 1900 <= n <= 2030:
            new = str(n + rng.choice([-2, -1, 1, 2]))
        elif n < 10:
            new = str(rng.choice([x for x in range(1, 10) if x != n]))
        else:
            new = str(max(1, n + rng.choice([-1, 1]) * rng.randint(1, max(1, n // 3))))
            if new == s:
                new = str(n + 1)
    if new == s:
        return None
    return t[: mm.start()] + new + t[mm.end():]


def other_place(t, v, rng, by_suffix, short_index):
    # full names first (成都市), then provincial/prefectural short names (四川)
    hits = [(t.find(full), full, suf, lvl, False) for full, short, suf, lvl in short_index["full"] if full in t]
    if not hits:
        hits = [(t.find(short), short, suf, lvl, True) for full, short, suf, lvl in short_index["short"]
                if short in t and t[t.find(short) + len(short): t.find(short) + len(short) + 1] not in set("湖山江河路街岛")]
    if not hits:
        return None
    pos, name, suf, lvl, is_short = max(hits, key=lambda x: len(x[1]))
    pool = [p for p in by_suffix[(suf, lvl)] if p[0] != name and p[1] != name and p[1] not in t]
    if is_short:
        pool = [p for p in pool if len(p[1]) >= 2 and p[3] in ("prov", "pref") and "族" not in p[0] and "自治" not in p[0]]
    if not pool:
        return None
    p = rng.choice(pool)
    return t[:pos] + (p[1] if is_short else p[0]) + t[pos + len(name):]


def bigrams(t):
    k = norm_key(t)
    return {k[i: i + 2] for i in range(len(k) - 1)}


def words(t):
    return set(re.findall(r"[a-z0-9']+", t.lower()))


def strip_brackets(t):
    return norm_key(re.sub(r"[（(\[【〔「『《<].*?[）)\]】〕」』》>]", "", t))


def really_different(a, b, lang):
    ka, kb = strip_brackets(a), strip_brackets(b)
    if not ka or not kb or ka in kb or kb in ka:
        return False
    if lang == "en":
        wa, wb = words(a), words(b)
        return not (wa <= wb or wb <= wa)
    return True


def mine_lookalikes(cores, lang, rng, n, lo, hi):
    feats = [bigrams(t) if lang == "zh" else {w for w in words(t) if len(w) > 2} for t in cores]
    index = collections.defaultdict(list)
    for i, f in enumerate(feats):
        for g in sorted(f):
            index[g].append(i)
    order = list(range(len(cores)))
    rng.shuffle(order)
    out, used = [], set()
    for i in order:
        if len(out) >= n:
            break
        if i in used or len(feats[i]) < 4:
            continue
        score = collections.Counter()
        for g in sorted(feats[i]):  # sorted: ties in most_common must not depend on str hashing
            if len(index[g]) < 300:
                for j in index[g]:
                    if j != i:
                        score[j] += 1
        best = None
        for j, c in score.most_common(20):
            if j in used:
                continue
            jac = c / len(feats[i] | feats[j])
            if lo <= jac <= hi and really_different(cores[i], cores[j], lang) and NUM_RE.sub("", cores[i]) != NUM_RE.sub("", cores[j]):
                best = j
                break
        if best is not None:
            used.update((i, best))
            out.append((cores[i], cores[best]))
    return out


def mine_template_twins(cores, rng):
    """Real titles sharing a long ending (>= 8 chars) with different subjects."""
    groups = collections.defaultdict(list)
    for t in cores:
        if len(t) >= 14:
            groups[t[-10:]].append(t)
    out = []
    for key in sorted(groups):
        g = groups[key]
        if len(g) < 2:
            continue
        rng.shuffle(g)
        for a, b in zip(g[0::2], g[1::2]):
            if really_different(a, b, "zh"):
                out.append((a, b))
    rng.shuffle(out)
    return out


def template_zh(cores, v, rng):
    """`S：body` with another subject (a person, a company); for a person a real quote line."""
    m = None
    for _ in range(200):
        t = rng.choice(cores)
        m = re.match(r"^([\u4e00-\u9fffA-Za-z]{2,6})([：:])(.{6,})$", t)
        if m:
            break
    if not m:
        return None
    subj, colon, body = m.groups()
    # both subjects generated: the corpus subject may itself be a column label (视频：…)
    pool = v.person_names if len(subj) <= 3 and rng.random() < 0.6 else v.companies
    a, b = rng.sample(pool, 2)
    return (a + colon + body, b + colon + body)


def template_en(cores, v, rng):
    for _ in range(500):
        t = rng.choice(cores)
        toks = re.findall(r"[A-Za-z][A-Za-z'.&-]*", t)
        props = [w for w in toks if w in v.proper_set]
        if props:
            w = rng.choice(props)
            new = rng.choice(v.propers)
            if new.lower() in t.lower():
                continue
            return (t, re.sub(r"\b" + re.escape(w) + r"\b", new, t, count=1))
    return None


# ---------------------------------------------------------------- build
def build(half, seed, zh, en, places):
    v = Vocab(half, zh, en, places)
    rng = random.Random(seed)
    farms = [Farm(v, rng, i) for i in range(16)]
    by_suffix = collections.defaultdict(list)
    for p in v.places:
        by_suffix[(p[2], p[3])].append(p)
    short_index = {
        "full": [p for p in places if len(p[0]) >= 3],
        "short": [p for p in places if p[3] in ("prov", "pref") and len(p[1]) >= 2 and "族" not in p[0] and "自治" not in p[0]],
    }
    pairs = []

    def emit(a_core, b_core, dup, kind, lang, same_farm_ok=True, one_plain=False):
        for _ in range(20):
            fa = rng.choice(farms)
            fb = fa if (same_farm_ok and not dup and rng.random() < 0.25) else rng.choice([f for f in farms if f is not fa])
            ta = fa.package(typo_noise(a_core, rng, v), rng, lang)
            tb = fb.package(typo_noise(b_core, rng, v), rng, lang)
            if one_plain:
                if rng.random() < 0.5:
                    ta = typo_noise(a_core, rng, v)
                else:
                    tb = typo_noise(b_core, rng, v)
            if ta != tb:
                pairs.append({"a": fa.item(ta, rng), "b": fb.item(tb, rng), "duplicate": dup, "kind": kind, "lang": lang})
                return True
        return False

    cores = {"zh": list(v.zh_cores), "en": list(v.en_cores)}
    for k in cores:
        rng.shuffle(cores[k])
    # weigh down the one-template discipline notices as positive cores
    pos_cores = {"zh": [t for t in cores["zh"] if "开除党籍" not in t or rng.random() < 0.1], "en": cores["en"]}

    def want(kind, lang):
        return PLAN.get((kind, lang), 0)

    for lang in ("zh", "en"):
        for core in pos_cores[lang][: want("decorated", lang)]:
            emit(core, core, True, "decorated", lang, one_plain=rng.random() < 0.15)
        # other-number
        n, need = 0, want("other-number", lang)
        for t in cores[lang]:
            if n >= need:
                break
            o = other_number(t, rng)
            if o and norm_key(o) != norm_key(t):
                n += emit(t, o, False, "other-number", lang)
        # other-place (zh)
        n, need = 0, want("other-place", lang)
        for t in cores[lang]:
            if n >= need:
                break
            o = other_place(t, v, rng, by_suffix, short_index)
            if o and o != t:
                n += emit(t, o, False, "other-place", lang)
        # template
        need = want("template", lang)
        if lang == "zh":
            twins = mine_template_twins(cores["zh"], rng)[: need // 2]
            for a, b in twins:
                emit(a, b, False, "template", lang)
            n = len(twins)
            while n < need:
                p = template_zh(cores["zh"], v, rng)
                if p and p[0] != p[1]:
                    n += emit(p[0], p[1], False, "template", lang)
        else:
            n = 0
            while n < need:
                p = template_en(cores["en"], v, rng)
                if p and norm_key(p[0]) != norm_key(p[1]):
                    n += emit(p[0], p[1], False, "template", lang)
        # look-alike
        need = want("look-alike", lang)
        lo, hi = (0.3, 0.8) if lang == "zh" else (0.4, 0.85)
        for a, b in mine_lookalikes(cores[lang], lang, rng, need, lo, hi):
            emit(a, b, False, "look-alike", lang)
        # random
        for _ in range(want("random", lang)):
            a, b = rng.sample(cores[lang], 2)
            emit(a, b, False, "random", lang)
    rng.shuffle(pairs)
    return pairs, v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--held", action="store_true", help="write the sealed held probe (half 1) instead of dev")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--seed", type=int, help="another sampling seed: a new probe from the same half's vocabulary")
    args = ap.parse_args()
    zh, en = load_corpus()
    places = load_places()
    half, seed, out = (1, HELD_SEED, HELD_OUT) if args.held else (0, DEV_SEED, DEV_OUT)
    out = args.out or out
    if args.seed is not None:
        seed = args.seed
    pairs, _ = build(half, seed, zh, en, places)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    c = collections.Counter((p["kind"], p["lang"]) for p in pairs)
    print(f"{out}: {len(pairs)} pairs, {sum(p['duplicate'] for p in pairs)} duplicates", file=sys.stderr)
    for k in sorted(c):
        print(f"  {k[0]:13s} {k[1]} {c[k]}", file=sys.stderr)


if __name__ == "__main__":
    main()
