"""Reply understanding: step 3 of capability 1 (satisfaction perception loop, DOMAIN.md).

A citizen answers the survey SMS ("请回复数字：1非常满意 2满意 3基本满意 4不满意 5非常不满意；
回复TD退订") with free text. `parse_reply` turns that text into a `ParsedReply`: a rating on the
national 好差评 five-level scale (1 best, 4-5 unsatisfied), an opt-out, or "unparsed". It is a
pure function (no database, no settings) and never raises on any `str`.

How a reply is read
-------------------
1. Normalisation (for matching only; the comment keeps the citizen's own characters):
   control characters become spaces, invisible format characters (zero-width, bidi overrides)
   are dropped, then per character NFKC (full-width "４" → "4", "ＴＤ" → "TD", "①" → "1"),
   a small Traditional → Simplified table for the words involved (滿意, 退訂, 還可以, 別再發 …,
   also the Japanese 満), lower case, and combining marks (the keycap in "4️⃣") dropped.
2. Opt-out. The whole message (punctuation and spaces ignored, case-insensitive) being one of
   `OPT_OUT_WORDS` (退订, TD, T, N, 取消, 退出, STOP, UNSUBSCRIBE …), or the message containing
   退订 / TD as a token / 不要再发 / 别再发 / 拒收 … (not negated: "不要退订" is not an opt-out;
   "别再发生" is not one either). Single letters (T, N) and the English words count only as the
   whole message, so "T恤" or "Thank you" are not opt-outs; a message written only in ASCII
   may also contain STOP / UNSUBSCRIBE anywhere ("please stop").
   Opting out wins over a rating ("1 退订" → OPT_OUT): the citizen asked us to stop and that
   must be honoured even if they also answered. The rating is still parsed from the rest of
   the text and kept in `rating`, so it can be recorded.
3. Rating tokens, all collected before deciding:
   * Level phrases, matched longest-first at each position so 不满意 is never read as 满意 and
     非常不满意 never as 不满意 or 非常满意 (see `_PHRASES`). Decisions: 好评 → 2 (the generic
     "good" of 好差评, no intensity); 中评 → 3; 差评 → 4; 很/挺/十分/特别满意 → 1; 比较满意 → 2;
     还算满意/还满意 → 3; 一点也不满意 → 5.
   * Negation directly before a phrase (没有, 并不, 不是, 谈不上, 不 …): a negated 1-3 becomes 4
     ("不是很满意", "谈不上满意"); a negated 4 is a double negation and becomes 2, inferred
     ("没有不满意", "并无不满"); a negated 5 ("没有很不满意") has no clear level and makes the
     reply ambiguous. A negated 一般 ("不一般", "不是一般的慢") is no rating at all.
   * Phrases that look like a rating but are not: 满意度, 满意率, 满不满意, 是否满意, 一般来说,
     "不满18岁" / "不满一个月" (不满 before a number means "less than"), and a phrase followed
     by 吗 ("你们满意吗", a question, perhaps the citizen quoting us).
   * A single digit 0-9 standing alone, i.e. not part of a longer number ("12", "2024年",
     phone numbers, "2.5", "1,000", dates "5-1"), not touching a Latin letter ("5G", "A4"), and
     not followed by a unit or measure word ("2个小时", "3天", "1号窗口", "5分钟"). It counts
     when delimited: preceded by the start of the message, punctuation or space, a prefix
     (回复, 选, 我选, 评分 …; "回复3"), a level phrase, or a connector (或者, 还是, 和 …), and
     followed by the end, punctuation or space, a level phrase ("4不满意"), a connector, or a
     particle (吧, 啊 …). A digit that opens the message may also be followed directly by
     text ("4民警态度很差").
     Digits followed by 分 or 星 ("5分", "5星好评") are scores on another, reversed scale
     (5 stars is the best, 5 here is the worst), so they are never read as ratings.
     A standalone 0 or 6-9 in rating position is no rating and makes the reply ambiguous.
   * A bare Chinese numeral 一 … 五 (壹 … 伍) as the whole message.
4. Decision. No token → UNPARSED. Exactly one distinct level → RATING. Two different levels
   ("1或者5", "4满意", "满意，不满意"), a negated 5, or an out-of-range digit → UNPARSED: the
   parser never guesses; an unparsed reply is kept and shown to a person.

`comment` is what the citizen said besides the rating, in their own characters (Traditional
and full-width punctuation kept): rating digits (with their prefix) are always taken out; a
rating phrase or opt-out keyword is taken out together with its clause (the text between two
punctuation marks or spaces) when the rest of that clause is only filler (我, 并, 吧, 的, 请 …:
"满意，谢谢民警同志" → "谢谢民警同志", "我很不满意" → "", "请退订" → ""), and left in place
when it is part of a real sentence, so the sentence still reads ("满意，希望让群众更满意" →
"希望让群众更满意"). Surrounding whitespace and punctuation are stripped (sentence-final 。！？
and balanced brackets kept), at most `COMMENT_MAX_CHARS` characters. For UNPARSED it is the
whole message, nothing removed.

`confidence` describes the rating and the whole message: "exact" when the message holds
nothing but the rating token(s), punctuation and, for an opt-out, the keyword ("4", "【4】",
"4不满意", "满意满意", "1 退订"); "inferred" when anything else is there, even if the rating is
a clear leading digit ("4 民警态度很差"), or it came through a prefix ("回复3") or a negation
("没有不满意"); "" when there is no rating (UNPARSED, or an opt-out without a usable rating).

Only the first `MAX_PARSED_CHARS` characters are read, which bounds the work on hostile input;
real SMS replies are far shorter.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from minyi.perception.models import SATISFIED_RATINGS, UNSATISFIED_RATINGS


class ReplyKind(StrEnum):
    RATING = "rating"
    OPT_OUT = "opt_out"
    UNPARSED = "unparsed"


# The words a citizen writes for each level (the parser's vocabulary, Chinese whatever the
# page's language); the scale itself is perception.models.Rating.
RATING_LABELS: dict[int, str] = {
    1: "非常满意",
    2: "满意",
    3: "基本满意",
    4: "不满意",
    5: "非常不满意",
}

EXACT = "exact"
INFERRED = "inferred"
NO_RATING = ""

COMMENT_MAX_CHARS = 500
MAX_PARSED_CHARS = 5000


@dataclass(frozen=True)
class ParsedReply:
    kind: ReplyKind
    rating: int | None  # 1..5 when kind is RATING; may also be set on OPT_OUT
    comment: str  # free text left after removing the rating token(s); "" if none
    confidence: str  # EXACT, INFERRED, or NO_RATING ("") when rating is None

    @property
    def unsatisfied(self) -> bool:
        return self.rating in UNSATISFIED_RATINGS


# --- Normalisation -----------------------------------------------------------------------------

# Traditional (and Japanese) → Simplified, only for characters of the words matched here.
_TRADITIONAL_PAIRS = (
    "滿满満满訂订閱阅瞭了還还較较極极別别發发給给覆复復复評评選选擇择麼么沒没無无這这個个"
    "會会說说談谈稱称對对態态來来讓让謝谢請请錯错簡简訊讯幫帮樣样點点過过馬马湊凑夠够當当"
    "與与擾扰絕绝為为並并幾几歲岁兩两萬万週周號号張张輛辆條条層层樓楼塊块鐘钟時时級级強强"
    "嚴严總总務务話话長长間间臺台項项種种隊队車车裡里裏里"
)
_TRADITIONAL = str.maketrans(
    {_TRADITIONAL_PAIRS[i]: _TRADITIONAL_PAIRS[i + 1] for i in range(0, len(_TRADITIONAL_PAIRS), 2)}
)
# Format characters kept in the comment: they join emoji sequences.
_KEEP_FORMAT = frozenset("\u200c\u200d")


def _clean(text: str) -> str:
    """The citizen's text made safe to store and show: control characters (NUL included)
    become spaces; lone surrogates and invisible format characters (bidi overrides,
    zero-width spaces, BOM) are dropped."""
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category == "Cc" or category.startswith("Z"):
            out.append(" ")
        elif category in ("Cs", "Cf") and ch not in _KEEP_FORMAT:
            continue
        else:
            out.append(ch)
    return "".join(out)


def _normalise(clean: str) -> tuple[str, list[int]]:
    """Matching form of `clean` and, for each of its characters, the index in `clean`."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(clean):
        if ch.isascii():
            chars.append(ch.lower())
            index.append(i)
            continue
        for n in unicodedata.normalize("NFKC", ch).translate(_TRADITIONAL).lower():
            if unicodedata.category(n) in ("Mn", "Me"):
                continue
            chars.append(n)
            index.append(i)
    return "".join(chars), index


def _is_sep(ch: str) -> bool:
    """Whitespace, punctuation, symbols and emoji separate tokens; letters and digits don't."""
    return not ch.isalnum()


def _compact(s: str) -> str:
    return "".join(ch for ch in s if not _is_sep(ch))


# --- Opt-out -----------------------------------------------------------------------------------

OPT_OUT_WORDS = frozenset(
    {
        "退订", "退定", "退", "td", "t", "n", "取消", "退出", "退订短信", "退订回访",
        "取消订阅", "取消短信", "取消回访", "不要回访", "不需要回访", "拒收", "拒收短信",
        "不要再发", "不要再发了", "不要发了", "别再发", "别再发了", "别发了", "不要再发短信",
        "别再发短信", "请勿打扰", "勿扰", "免打扰", "别打扰我", "不要打扰我",
        "stop", "stopall", "unsubscribe", "unsub", "cancel", "quit", "end",
    }
)  # fmt: skip
_OPT_OUT_IN_TEXT = re.compile(
    r"退订|退定|取消订阅|拒收|拒绝接收|停止发送|不再接收"
    r"|(?:不要|别)再?(?:给我)?发(?!生|现|展|布|票|证|放|言|表|货|动|挥|烧|火|脾气|个|的)"
    r"|(?<![a-z])td(?![a-z])"
)
# Words that turn "退订" into its opposite ("不要退订", "没有退订").
_OPT_OUT_NEGATORS = ("不需要", "不用", "不想", "不要", "不必", "不会", "无需", "无须", "没有",
                     "别", "没", "未", "不")  # fmt: skip
_OPT_OUT_NEGATABLE = frozenset({"退订", "退定", "取消订阅", "拒收", "拒绝接收", "不再接收"})


# In a message written only in ASCII, these words anywhere ("please stop", "STOP it").
_ENGLISH_OPT_OUT = re.compile(r"\b(?:stop|unsubscribe|unsub)\b")


def _opt_out_spans(s: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _ENGLISH_OPT_OUT.finditer(s)] if s.isascii() else []
    for m in _OPT_OUT_IN_TEXT.finditer(s):
        if m.group() in _OPT_OUT_NEGATABLE:
            before = s[max(0, m.start() - 3) : m.start()]
            if before.endswith(_OPT_OUT_NEGATORS):
                continue
        spans.append(m.span())
    return spans


# --- Level phrases -----------------------------------------------------------------------------

_NEUTRAL = 0  # looks like a rating word but is none
_PHRASES: dict[int, tuple[str, ...]] = {
    1: ("非常满意", "非常非常满意", "很满意", "挺满意", "蛮满意", "好满意", "十分满意", "特别满意",
        "超级满意", "超满意", "相当满意", "太满意", "极其满意", "极为满意", "完全满意", "很是满意",
        "万分满意", "百分百满意", "非常的满意", "很满意很满意"),
    2: ("满意", "比较满意", "较满意", "还比较满意", "好评"),
    3: ("基本满意", "基本上满意", "基本还满意", "一般满意", "还算满意", "还满意", "还可以", "还行",
        "一般般", "一般", "马马虎虎", "凑合", "过得去", "中评"),
    4: ("不满意", "不太满意", "不是很满意", "不是太满意", "不大满意", "不怎么满意", "不够满意",
        "不甚满意", "有点不满意", "有些不满意", "比较不满意", "不满", "有点不满", "差评"),
    5: ("非常不满意", "非常非常不满意", "很不满意", "特别不满意", "极不满意", "极其不满意",
        "极度不满意", "十分不满意", "超级不满意", "相当不满意", "太不满意", "完全不满意",
        "一点也不满意", "一点都不满意", "非常不满", "很不满", "特别不满", "极度不满", "十分不满",
        "强烈不满", "极其不满", "相当不满", "严重不满", "非常的不满意"),
    _NEUTRAL: ("满意度", "满意率", "满不满意", "是否满意", "满意不满意吗", "一般来说", "一般来讲",
               "一般情况"),
}  # fmt: skip
_PHRASE_LEVEL = {p: level for level, phrases in _PHRASES.items() for p in phrases}
# What must not follow a phrase ending so: 吗 makes a question ("你们满意吗"), not an answer;
# 满意度 is "satisfaction rate"; "不满" before a quantity means "less than" (不满18岁,
# 不满一个月), and 不满意 is a phrase of its own; 一般 before these is "usually" (一般要多久).
_LOOKAHEAD = {
    "满意": "(?!吗|么|度|率)",
    "不满": "(?![0-9一二三四五六七八九十两半百千万几周岁个]|意|吗|么)",
    "一般": "(?!来说|来讲|情况|都|是|会|要|需要|多久|几|在|不|人)",
}
_PHRASE_RE = re.compile(
    "|".join(
        re.escape(p) + next((la for end, la in _LOOKAHEAD.items() if p.endswith(end)), "")
        for p in sorted(_PHRASE_LEVEL, key=len, reverse=True)
    )
)
# Negation immediately before a phrase, longest first.
_NEGATORS = tuple(
    sorted(
        ("没有什么", "没有任何", "没什么", "并没有", "没有", "没", "并不", "并非", "并无", "毫无",
         "无", "谈不上", "说不上", "算不上", "称不上", "不算", "不是", "不会", "不够", "不太",
         "不大", "不怎么", "不甚", "不很", "不能说", "不给", "没给", "难以", "无法", "未", "不"),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_NOT_NEGATABLE = frozenset({"一般", "一般般"})

# --- Digits ------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"[0-9]+(?:(?:[.:/\-⁄]|,(?=[0-9]{3}(?![0-9])))[0-9]+)*")
_DIGIT_PREFIXES = tuple(
    sorted(
        ("回复", "回", "我选择", "我选", "选择", "选", "评价", "评分", "打分", "评", "答", "填",
         "我给", "给", "我打", "打", "就", "是", "为"),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_CONNECTORS = ("或者", "或", "还是", "和", "跟", "与", "到", "至")
_PARTICLES = tuple("吧啊呀哈哦啦嘛呢")
# A digit followed by one of these is a quantity, a time, a place or a score, not a rating.
_UNITS = tuple(
    sorted(
        ("个", "次", "趟", "遍", "下", "天", "日", "号", "月", "年", "周", "星期", "礼拜",
         "点", "时", "小时", "分", "星", "颗", "秒", "岁", "楼", "层", "栋", "幢", "单元", "室",
         "路", "元", "块", "毛", "角", "万", "千", "百", "十", "亿", "名", "位", "人", "张", "件",
         "本", "份", "辆", "台", "部", "条", "起", "批", "种", "样", "项", "米", "里", "公里",
         "斤", "克", "倍", "成", "折", "期", "级", "%", "户", "家", "口", "套", "只", "间", "所",
         "队", "组", "班", "床", "多", "余", "来", "以", "左", "通", "页", "把", "声", "句", "岗",
         "w", "k"),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_CHINESE_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
                     "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5}  # fmt: skip


@dataclass(frozen=True)
class _Token:
    start: int  # in the normalised text, prefix or negation included
    end: int
    level: int | None  # None: in rating position but no valid level (ambiguous)
    plain: bool  # no prefix, no negation: can be part of an "exact" reply
    digit: bool = False


def _phrase_tokens(s: str) -> tuple[list[_Token], set[int], set[int]]:
    tokens = []
    starts: set[int] = set()
    ends: set[int] = set()
    for m in _PHRASE_RE.finditer(s):
        phrase, start = m.group(), m.start()
        level: int | None = _PHRASE_LEVEL[phrase]
        starts.add(start)
        ends.add(m.end())
        if level == _NEUTRAL:
            continue
        window = s[max(0, start - 4) : start]
        negator = next((n for n in _NEGATORS if window.endswith(n)), None)
        if negator is not None:
            if phrase in _NOT_NEGATABLE:
                continue
            level = 4 if level in SATISFIED_RATINGS else 2 if level == 4 else None
            start -= len(negator)
        tokens.append(_Token(start, m.end(), level, plain=negator is None))
    return tokens, starts, ends


def _digit_tokens(s: str, phrase_starts: set[int], phrase_ends: set[int]) -> list[_Token]:
    tokens = []
    first_text = next((k for k, ch in enumerate(s) if not _is_sep(ch)), len(s))
    for m in _NUMBER_RE.finditer(s):
        if len(m.group()) != 1:
            continue
        i = m.start()
        before = s[i - 1] if i else ""
        after = s[i + 1] if i + 1 < len(s) else ""
        if (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha()):
            continue
        rest = s[i + 1 : i + 6].lstrip()
        if rest.startswith(_UNITS):
            continue

        # What precedes: start, separator, phrase, connector or a prefix such as 回复 (which
        # may be followed by a colon or spaces: "回复：3").
        j = i
        while j > 0 and (s[j - 1].isspace() or s[j - 1] == ":"):
            j -= 1
        prefix = None
        if j not in phrase_ends:
            prefix = next((p for p in _DIGIT_PREFIXES if s.endswith(p, 0, j)), None)
        start = j - len(prefix) if prefix else i
        pre_ok = (
            prefix is not None
            or not before
            or _is_sep(before)
            or i in phrase_ends
            or s.endswith(_CONNECTORS, 0, i)
        )
        if not pre_ok:
            continue
        initial = start <= first_text

        # What follows: end, separator, phrase, connector, particle; or anything if initial.
        post_ok = (
            not after
            or _is_sep(after)
            or i + 1 in phrase_starts
            or s.startswith(_CONNECTORS, i + 1)
            or after in _PARTICLES
            or initial
        )
        if not post_ok:
            continue
        digit = int(m.group())
        level = digit if 1 <= digit <= 5 else None
        tokens.append(_Token(start, i + 1, level, plain=prefix is None, digit=True))
    return tokens


# Words that carry nothing once the rating is taken out ("我很不满意" → "我", "我觉得还可以吧"
# → "我觉得吧", "请退订" → "请"): a clause made only of these goes with its rating word.
_FILLER_WORDS = (
    "我", "我们", "本人", "我觉得", "我感觉", "感觉", "觉得", "总体", "总体上", "总的来说",
    "整体", "对", "对此", "我对", "并", "很", "挺", "真", "真的", "确实", "还是", "都", "本次",
    "这次", "此次", "的", "了", "啊", "吧", "呀", "哦", "嗯", "哈", "啦", "呢", "嘛", "请",
    "我要", "我想", "要", "麻烦", "帮我", "怎么", "回复", "选", "短信", "ok", "please", "pls",
    "it", "me",
)  # fmt: skip
_FILLER_RE = re.compile(
    "(?:" + "|".join(sorted(map(re.escape, _FILLER_WORDS), key=len, reverse=True)) + ")*"
)


def _is_filler_compact(compact: str) -> bool:
    return _FILLER_RE.fullmatch(compact) is not None


def _has_symbols(text: str) -> bool:
    """Emoji (and currency signs) say something even without words."""
    return any(unicodedata.category(ch) in ("So", "Sc") for ch in text)


def _is_filler(text: str) -> bool:
    return not _has_symbols(text) and _is_filler_compact(_compact(_normalise(text)[0]))


def _removal_spans(
    s: str, tokens: list[_Token], keywords: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Spans of the normalised text left out of the comment. Digits (menu answers) always go.
    A rating phrase or opt-out keyword goes together with its clause (the text between two
    separators) when the rest of that clause is filler ("满意，谢谢" → "谢谢", "我很不满意"
    → ""); inside a real sentence it stays, so the sentence still reads ("希望让群众更满意")."""
    spans = [(t.start, t.end) for t in tokens if t.digit]
    wordy = [(t.start, t.end) for t in tokens if not t.digit] + keywords
    if not wordy:
        return spans
    covered = bytearray(len(s))
    for a, b in spans + wordy:
        covered[a:b] = b"\x01" * (b - a)
    # Clauses are runs of text between separators that no token covers.
    boundary = [_is_sep(ch) and not covered[k] for k, ch in enumerate(s)]
    clause_of = []
    left = 0
    for k, is_boundary in enumerate(boundary):
        if is_boundary:
            left = k + 1
        clause_of.append(left)
    for left in sorted({clause_of[a] for a, _b in wordy}):
        right = left
        while right < len(s) and not boundary[right]:
            right += 1
        rest = "".join(s[k] for k in range(left, right) if not covered[k])
        if _is_filler_compact(rest):
            spans.append((left, right))
    return spans


# --- Comment -----------------------------------------------------------------------------------

_OPENERS = "([{（【［｛〔《〈「『“‘<"
_CLOSERS = ")]}）】］｝〕》〉」』”’>"
_SENTENCE_END = frozenset("。！？!?…．.")


def _strippable(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "PZCM" or category in ("Sk", "Sm") or ch.isspace()


def _substantial(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch) in ("So", "Sc")


def _strip_comment(text: str) -> str:
    if not any(_substantial(ch) for ch in text):
        return ""
    start, end = 0, len(text)
    while start < end and _strippable(text[start]):
        ch = text[start]
        if ch in _OPENERS and _CLOSERS[_OPENERS.index(ch)] in text[start + 1 : end]:
            break
        start += 1
    while end > start and _strippable(text[end - 1]):
        ch = text[end - 1]
        if ch in _SENTENCE_END:
            break
        if ch in _CLOSERS and _OPENERS[_CLOSERS.index(ch)] in text[start : end - 1]:
            break
        end -= 1
    return text[start:end][:COMMENT_MAX_CHARS]


def _remove(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` without `spans`, not doubling the punctuation or space around a removed token."""
    out: list[str] = []
    pos = 0
    for a, b in [*sorted(spans), (len(text), len(text))]:
        piece = text[pos:a] if a > pos else ""
        pos = max(pos, b)
        if out and piece and _strippable(out[-1][-1]) and _strippable(piece[0]):
            piece = piece.lstrip(
                "".join(ch for ch in piece if _strippable(ch) and ch not in _OPENERS)
            )
        if piece:
            out.append(piece)
    return "".join(out)


def _clean_spans(spans: list[tuple[int, int]], index: list[int]) -> list[tuple[int, int]]:
    """Spans of the normalised text mapped to the cleaned original text."""
    return [(index[a], index[b - 1] + 1) for a, b in spans if b > a]


# --- Entry point -------------------------------------------------------------------------------


def parse_reply(text: str) -> ParsedReply:
    """Understand a citizen's SMS reply; see the module docstring for the rules."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    clean = _clean(text[:MAX_PARSED_CHARS])
    s, index = _normalise(clean)
    compact = _compact(s)

    if compact in OPT_OUT_WORDS:
        return ParsedReply(ReplyKind.OPT_OUT, None, "", NO_RATING)
    opt_out = _opt_out_spans(s)
    masked_chars = list(s)
    for a, b in opt_out:
        masked_chars[a:b] = " " * (b - a)
    masked = "".join(masked_chars)

    if compact in _CHINESE_NUMERALS:
        return ParsedReply(ReplyKind.RATING, _CHINESE_NUMERALS[compact], "", EXACT)

    phrases, starts, ends = _phrase_tokens(masked)
    tokens = sorted(phrases + _digit_tokens(masked, starts, ends), key=lambda t: t.start)
    levels = {t.level for t in tokens}
    rating = levels.pop() if len(levels) == 1 else None
    if rating is None:
        tokens = []  # ambiguous or nothing: the whole text is the comment

    if not opt_out and rating is None:
        return ParsedReply(ReplyKind.UNPARSED, None, _strip_comment(clean), NO_RATING)

    removed = _removal_spans(s, tokens, opt_out)
    comment = _strip_comment(_remove(clean, _clean_spans(removed, index)))
    if _is_filler(comment):
        comment = ""
    # Exact: nothing but rating token(s), punctuation and the opt-out keyword.
    rest = _remove(s, [(t.start, t.end) for t in tokens] + opt_out)
    bare = not _compact(rest) and not _has_symbols(rest)
    if rating is None:
        confidence = NO_RATING
    elif bare and all(t.plain for t in tokens):
        confidence = EXACT
    else:
        confidence = INFERRED
    kind = ReplyKind.OPT_OUT if opt_out else ReplyKind.RATING
    return ParsedReply(kind, rating, comment, confidence)
