//! Near-duplicates: the same story under another decoration, from another site.
//!
//! Two steps, so that a lookup costs a few key reads and never a scan:
//! 1. **Candidates** — a MinHash signature over character 3-grams of the title's
//!    [`index_core`](super::title::index_core), cut into [`BANDS`] bands of [`ROWS`] rows
//!    (locality-sensitive hashing). Each band hash is one key in the store's band index; an
//!    item that shares any band with the new one is a candidate. Titles whose cores are equal
//!    share every band; cores with Jaccard similarity 0.8 collide in at least one band with
//!    probability 1 − (1 − 0.8³)⁶ ≈ 0.99. One more key, the hash of the whole core
//!    ([`CORE_KEY`]), holds only titles whose cores are *equal*: a lookup reads only the newest
//!    few entries of each bucket, and content farms post from templates, so the six band buckets
//!    of an older story can be filled by hundreds of look-alikes that differ in a number
//!    (`…第15次…`, `…第16次…`); its decorated re-post still finds it in the core bucket, which
//!    look-alikes never enter.
//! 2. **Verification** — [`same_story`] decides, precisely, whether two titles are one story:
//!    after [`normalize`](super::title::normalize), their longest common stretch must be at
//!    least [`MIN_SHARED_CHARS`] long, must stand as whole segments in both titles (bounded by
//!    separators or the title's ends), and everything either title has around it must be
//!    decoration ([`is_decoration`](super::title::is_decoration)). So `北向资金增持3.54万股` and
//!    `北向资金增持4.1万股`, `重庆市…暴雨蓝色预警` and `成都市…暴雨蓝色预警`, or two earnings
//!    reports from one template, are different stories: their difference sits inside the story,
//!    or is a number or a place. Beside a long common stretch ([`STRONG_SHARED_CHARS`]) the
//!    shape of a decoration is enough — but not on both titles at the same end: `万科A：关于召开
//!    股东大会的通知` and `招商银行：…`, or `Apple: quarterly profit rises` and `Google: …`, are one
//!    template with two subjects, not two decorations of one story.

use super::title::{
    has_decoration_shape, index_core, is_cjk_masthead, is_decoration, is_note, is_quoted,
    is_separator, label_free_core, normalize, normalize_keep_case, segments,
    strip_trailing_masthead, strip_wire_tag, Edge,
};

/// MinHash bands in a signature (one index key each).
pub const BANDS: usize = 6;
/// Position of the exact-core key in a signature, after the bands.
pub const CORE_KEY: usize = BANDS;
/// Index keys per title: the bands and the exact-core key.
pub const INDEX_KEYS: usize = BANDS + 1;
/// MinHash rows per band.
pub const ROWS: usize = 3;
/// The shortest common stretch (in characters, separators excluded) that can make two titles
/// one story.
pub const MIN_SHARED_CHARS: usize = 6;
/// A common stretch this long (separators excluded) is strong evidence on its own: what
/// surrounds it then only needs the shape of a decoration, not its vocabulary, so decorations
/// never seen before are still recognised.
pub const STRONG_SHARED_CHARS: usize = 12;

fn mix(mut x: u64) -> u64 {
    // SplitMix64 finaliser: cheap, well distributed, stable across platforms and versions.
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The index keys of a title, for the near-duplicate index: [`BANDS`] band hashes, then the
/// exact-core key at [`CORE_KEY`]. Empty for a title with no text.
pub fn signature(title: &str) -> Vec<u64> {
    let core_text = index_core(title);
    let core: Vec<char> = core_text.chars().collect();
    if core.is_empty() {
        return Vec::new();
    }
    let mut buf = [0u8; 12];
    let shingles: Vec<u64> = if core.len() < 3 {
        vec![fnv(core.iter().collect::<String>().as_bytes())]
    } else {
        core.windows(3)
            .map(|w| {
                let mut n = 0;
                for c in w {
                    n += c.encode_utf8(&mut buf[n..]).len();
                }
                fnv(&buf[..n])
            })
            .collect()
    };
    let mut keys: Vec<u64> = (0..BANDS)
        .map(|band| {
            let mut h = band as u64;
            for row in 0..ROWS {
                let seed = mix((band * ROWS + row) as u64 + 1);
                let min = shingles.iter().map(|s| mix(s ^ seed)).min().unwrap_or(0);
                h = mix(h ^ min);
            }
            h
        })
        .collect();
    keys.push(core_key(
        label_free_core(title).as_deref().unwrap_or(&core_text),
    ));
    keys
}

/// The exact-core key of a title's index core (its characters, not its shingles).
fn core_key(core: &str) -> u64 {
    mix(fnv(core.as_bytes()) ^ mix(CORE_KEY as u64 + 0x636f_7265))
}

/// A signature from before the exact-core key (stores written by schema 3 sled / PostgreSQL
/// migration 1) completed with it: what the store migrations add to every stored item.
pub fn complete_signature(stored: &[u64], title: &str) -> Option<Vec<u64>> {
    if stored.len() != BANDS {
        return None;
    }
    let full = signature(title);
    let mut keys = stored.to_vec();
    keys.push(*full.get(CORE_KEY)?);
    Some(keys)
}

/// Whether two titles are the same story; see the module docs for the rule.
pub fn same_story(a: &str, b: &str) -> bool {
    // A wire revision tag (`UPDATE 2-`) and a masthead (`…｜21世纪经济报道`) are the only
    // packaging that may carry a number.
    let a = strip_trailing_masthead(strip_wire_tag(a));
    let b = strip_trailing_masthead(strip_wire_tag(b));
    let (na, nb) = (normalize_keep_case(a), normalize_keep_case(b));
    if na.is_empty() || nb.is_empty() {
        return false;
    }
    if normalize(&na) == normalize(&nb) {
        return true;
    }
    // Decorations never hold digits, so two titles whose numbers differ are two stories (and
    // templated look-alikes are rejected here, before the quadratic comparison).
    if digit_runs(&na) != digit_runs(&nb) {
        return false;
    }
    let (ca, cb): (Vec<char>, Vec<char>) = (na.chars().collect(), nb.chars().collect());
    let (len, end_a, end_b) = longest_common(&lower(&ca), &lower(&cb));
    if len == 0 {
        return false;
    }
    let (mut sa, mut ea, mut sb, mut eb) = (end_a - len, end_a, end_b - len, end_b);
    // The common stretch may begin or end inside the decorations, when both end in the same
    // character (`天天报资讯 …` / `观天下简讯 …` share `讯 …`): move each end inwards to the nearest
    // separator unless it already sits on a boundary in both titles.
    let at_left = |s: usize, chars: &[char]| s == 0 || is_separator(chars[s - 1]);
    let at_right = |e: usize, chars: &[char]| e == chars.len() || is_separator(chars[e]);
    if !(at_left(sa, &ca) && at_left(sb, &cb)) {
        match (sa..ea).find(|&i| is_separator(ca[i])) {
            Some(i) => {
                sb += i + 1 - sa;
                sa = i + 1;
            }
            None => return false,
        }
    }
    if !(at_right(ea, &ca) && at_right(eb, &cb)) {
        match (sa..ea).rev().find(|&i| is_separator(ca[i])) {
            Some(i) => {
                eb -= ea - i;
                ea = i;
            }
            None => return false,
        }
    }
    // The stretch may begin or end with separators both titles happen to share.
    while sa < ea && is_separator(ca[sa]) {
        sa += 1;
        sb += 1;
    }
    while ea > sa && is_separator(ca[ea - 1]) {
        ea -= 1;
        eb -= 1;
    }
    let shared = ca[sa..ea].iter().filter(|c| !is_separator(**c)).count();
    if shared < MIN_SHARED_CHARS {
        return false;
    }
    let strong = shared >= STRONG_SHARED_CHARS;
    let (Some((lead_a, trail_a)), Some((lead_b, trail_b))) = (
        stands_alone(&ca, sa, ea, strong),
        stands_alone(&cb, sb, eb, strong),
    ) else {
        return false;
    };
    // Both titles put something unrecognised before (or after) the same text: that is two
    // subjects of one template (`万科A：关于召开股东大会的通知` / `招商银行：…`, `Apple: quarterly
    // profit rises` / `Google: …`), not two decorations of one story.
    !(lead_a == Residue::Weak && lead_b == Residue::Weak
        || trail_a == Residue::Weak && trail_b == Residue::Weak)
}

/// What surrounds the common story on one side of a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Residue {
    /// Nothing, or decorations recognised by their words (packaging, a masthead, a note).
    Firm,
    /// Something accepted by its shape alone, beside a long identical story.
    Weak,
}

/// The core `chars[start..end]` is bounded by separators (or the ends) and all that surrounds
/// it is decoration: what precedes and what follows it, or `None`.
fn stands_alone(
    chars: &[char],
    start: usize,
    end: usize,
    strong: bool,
) -> Option<(Residue, Residue)> {
    let bounded_left = start == 0 || is_separator(chars[start - 1]);
    let bounded_right = end == chars.len() || is_separator(chars[end]);
    if !(bounded_left && bounded_right) {
        return None;
    }
    let before: String = chars[..start].iter().collect();
    let after: String = chars[end..].iter().collect();
    Some((
        all_decoration(&before, Edge::Leading, strong)?,
        all_decoration(&after, Edge::Trailing, strong)?,
    ))
}

fn all_decoration(s: &str, edge: Edge, strong: bool) -> Option<Residue> {
    let segs = segments(s);
    if segs.len() > 2 {
        return None;
    }
    // A Latin masthead must be set off by a real separator (`| Reuters`, `- BBC News`): in
    // `Medtronic Quarterly Net Up`, `Net Up` follows a mere space and is part of the headline.
    if edge == Edge::Trailing {
        if let Some(&(first, _)) = segs.first() {
            let gap = &s[..first];
            let latin = !s[first..].chars().any(|c| c > '\u{2E80}');
            if latin && gap.chars().all(char::is_whitespace) {
                return None;
            }
        }
    }
    let mut residue = Residue::Firm;
    for &(a, b) in &segs {
        let seg = &s[a..b];
        // A short bracketed note after the story (`(组图)`, `(附名单)`).
        if is_decoration(seg, edge) || (edge == Edge::Trailing && is_note(s, (a, b))) {
            continue;
        }
        // A name in title marks (`《今日观察》`) is packaging only by its words.
        if is_quoted(s, a, b) {
            return None;
        }
        // Beside a long identical story, the shape of a decoration is enough, and so is a
        // publication's name that contains a place's (`红星新闻｜…`).
        if strong && (has_decoration_shape(seg) || is_cjk_masthead(seg)) {
            residue = Residue::Weak;
        } else {
            return None;
        }
    }
    Some(residue)
}

/// The runs of ASCII digits in `s`, in order (`增持3.54万股` → `["3", "54"]`).
fn digit_runs(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .collect()
}

/// Each character lower-cased on its own (one char in, one char out, so positions still match).
fn lower(chars: &[char]) -> Vec<char> {
    chars
        .iter()
        .map(|c| {
            if c.is_ascii() {
                c.to_ascii_lowercase()
            } else {
                c.to_lowercase().next().unwrap_or(*c)
            }
        })
        .collect()
}

/// Length and end positions of the longest common substring.
fn longest_common(a: &[char], b: &[char]) -> (usize, usize, usize) {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    let (mut best, mut ea, mut eb) = (0, 0, 0);
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            cur[j] = if a[i - 1] == b[j - 1] {
                prev[j - 1] + 1
            } else {
                0
            };
            if cur[j] > best {
                best = cur[j];
                ea = i;
                eb = j;
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    (best, ea, eb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_story_table() {
        let cases = [
            // Decorated re-posts: one story.
            (
                "每日焦点!巴西龟的饲养方法",
                "巴西龟的饲养方法|环球快资讯",
                true,
            ),
            (
                "【环球报资讯】巴西龟的饲养方法_当前独家",
                "每日焦点!巴西龟的饲养方法",
                true,
            ),
            (
                "焦点动态!女子提分手被17岁男友掐死_当前动态",
                "最新简讯：女子提分手被17岁男友掐死|天天动态",
                true,
            ),
            (
                "今日看点：难分真假的杜莎夫人蜡像馆|当前聚焦",
                "难分真假的杜莎夫人蜡像馆_最新速递",
                true,
            ),
            ("油价重上５６美元｜全球热搜", "油价重上56美元", true),
            (
                "Exclusive: Fed holds rates steady | Reuters",
                "Fed holds rates steady - BBC News",
                true,
            ),
            // Hard negatives: another number, another place, another template instance.
            (
                "北向资金增持3.54万股 某科技股份公告",
                "北向资金增持4.10万股 某科技股份公告",
                false,
            ),
            (
                "中国神华:率煤炭股崛起油价重上47美元_环球聚焦",
                "焦点快报！中国神华：率煤炭股崛起油价重上５6美元｜全球热搜",
                false,
            ),
            (
                "重庆市气象台发布暴雨蓝色预警",
                "成都市气象台发布暴雨蓝色预警",
                false,
            ),
            ("四川：暴雨蓝色预警发布", "重庆：暴雨蓝色预警发布", false),
            (
                "台湾高雄市民在路边发现白色小刺猬(图)|观天下报资讯",
                "静安高雄市民在路边发现白色小刺猬(图) 全球快报",
                false,
            ),
            (
                "贵州茅台：2023年净利润同比增长19%",
                "五粮液：2023年净利润同比增长12%",
                false,
            ),
            (
                "李强：推动经济高质量发展",
                "王毅：推动经济高质量发展",
                false,
            ),
            (
                "Update 2: EDS Reports Third-Quarter Loss",
                "Exclusive: MCI Reports $3.4 Bln Third-Quarter Loss | Reuters",
                false,
            ),
            // Decorations of shapes the vocabulary does not list (none of these strings occur in
            // the shared labelled pairs): a column name in title marks, a publication named
            // after a place, a publication before the story, a masthead with digits, short
            // bracketed notes, a wire revision tag, a four-word masthead, plural packaging.
            (
                "《今日观察》退休女工操持20亩蟹塘年收入近50万元",
                "退休女工操持20亩蟹塘年收入近50万元 - 网易新闻",
                true,
            ),
            (
                "年少白了头，这种植物还有明目之功效_凤凰网资讯",
                "年少白了头，这种植物还有明目之功效_实时热点",
                true,
            ),
            (
                "观察者网：德外长称将撤出德在土耳其驻军",
                "新鲜事|德外长称将撤出德在土耳其驻军",
                true,
            ),
            (
                "强基础惠民生 各地水利工程加快推进｜21世纪经济报道",
                "【热点关注】强基础惠民生 各地水利工程加快推进",
                true,
            ),
            (
                "现做现吃的抹茶红豆蛋糕丨财经早知道",
                "热议：现做现吃的抹茶红豆蛋糕（组图）",
                true,
            ),
            (
                "乌拉圭总统将访华_新闻频道_中华网",
                "最新消息！乌拉圭总统将访华_实时热点",
                true,
            ),
            (
                "UPDATE 2-EA Reports Higher Quarterly Profits",
                "EA Reports Higher Quarterly Profits - Reuters",
                true,
            ),
            (
                "MCNAMARA RECEIVES GOOD NEWS - The New York Times",
                "MCNAMARA RECEIVES GOOD NEWS - Reuters",
                true,
            ),
            (
                "Live updates: Tiger Woods ties the knot",
                "Tiger Woods ties the knot | AP News",
                true,
            ),
            // One template, two subjects: what each title puts before (or after) the shared
            // text is unrecognised on both sides, so it is the subject, not packaging.
            (
                "万科A：关于召开年度股东大会的通知公告",
                "招商银行：关于召开年度股东大会的通知公告",
                false,
            ),
            (
                "Apple: quarterly profit rises on strong sales",
                "Google: quarterly profit rises on strong sales",
                false,
            ),
            // A publication named after a place, before a long identical story, on both sides:
            // two cities' alerts.
            (
                "重庆新闻：市气象台发布暴雨蓝色预警信号请注意防范",
                "成都新闻：市气象台发布暴雨蓝色预警信号请注意防范",
                false,
            ),
            // Report kinds end in 报 like papers' names, but are the story.
            ("贵州茅台_一季度报", "贵州茅台_三季度报", false),
            (
                "中国平安保险集团股份有限公司_业绩快报",
                "中国平安保险集团股份有限公司_业绩预告",
                false,
            ),
            ("北京明天有雨_天气预报", "北京明天有雨_地震预报", false),
            // A work's name in title marks is not packaging.
            (
                "《大盛魁》内蒙热拍 于震拜师屡遭刁难",
                "《乔家大院》内蒙热拍 于震拜师屡遭刁难",
                false,
            ),
            // Unrelated.
            ("巴西龟的饲养方法", "信用卡逾期了怎么办", false),
            ("", "", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(same_story(a, b), want, "{a} ~ {b}");
            assert_eq!(same_story(b, a), want, "symmetric: {b} ~ {a}");
        }
    }

    #[test]
    fn decorated_copies_share_their_bands() {
        let a = signature("焦点动态!女子提分手被17岁男友掐死_当前动态");
        let b = signature("最新简讯：女子提分手被17岁男友掐死|天天动态");
        assert_eq!(a.len(), INDEX_KEYS);
        assert_eq!(a, b);
        let c = signature("信用卡逾期了怎么办？银行这样说");
        assert!(a.iter().zip(&c).all(|(x, y)| x != y));
        assert!(signature("").is_empty());
    }

    #[test]
    fn look_alikes_share_bands_but_never_the_core_key() {
        let t = |n: usize| format!("重庆市渝北区召开第{n}次党政联席会议部署防汛抗旱和安全生产工作");
        let a = signature(&t(15));
        let twin = signature(&format!("【环球报资讯】{}", t(15)));
        assert_eq!(a[CORE_KEY], twin[CORE_KEY]);
        let mut shared_bands = 0;
        for n in 16..60 {
            let b = signature(&t(n));
            shared_bands += (0..BANDS).filter(|i| a[*i] == b[*i]).count();
            assert_ne!(a[CORE_KEY], b[CORE_KEY], "{n}");
        }
        assert!(shared_bands > 100, "{shared_bands}");
    }

    #[test]
    fn an_unknown_latin_label_only_finds_it_never_decides() {
        let a = signature("Explained: PeopleSoft plays defense");
        let b = signature("PeopleSoft plays defense - Yahoo Finance");
        assert_eq!(a[CORE_KEY], b[CORE_KEY]);
        assert!(same_story(
            "Explained: PeopleSoft plays defense",
            "PeopleSoft plays defense - Yahoo Finance"
        ));
        // Two subjects of one template meet as candidates, and are told apart.
        let x = signature("Apple: quarterly profit rises on strong sales");
        let y = signature("Google: quarterly profit rises on strong sales");
        assert_eq!(x[CORE_KEY], y[CORE_KEY]);
        assert!(!same_story(
            "Apple: quarterly profit rises on strong sales",
            "Google: quarterly profit rises on strong sales"
        ));
        assert_ne!(
            index_core("Apple: quarterly profit rises on strong sales"),
            index_core("Google: quarterly profit rises on strong sales")
        );
    }

    #[test]
    fn old_signatures_are_completed_once() {
        let title = "巴西龟的饲养方法|环球快资讯";
        let full = signature(title);
        let old = &full[..BANDS];
        assert_eq!(complete_signature(old, title), Some(full.clone()));
        assert_eq!(complete_signature(&full, title), None);
        assert_eq!(complete_signature(&[], title), None);
    }
}
