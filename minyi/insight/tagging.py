"""Reason tagging of citizens' free text (capability 7, insight; capability 1 step 4: the tags
an evaluator confirms are auto-suggested from the reason text).

Three parts:

* keyword rules: a curated Chinese keyword list (plus a few patterns) per ReasonTag, with
  praise phrases removed first so "态度很好，就是太慢" is not an attitude complaint;
* jieba segmentation, with the keywords added to jieba's dictionary so they stay whole;
* a multi-label model trained with scikit-learn on the tags evaluators confirmed: TF-IDF over
  jieba word 1–2 grams plus the rules' hits as features, one logistic regression per tag
  (one-vs-rest, balanced class weights).

The trained model is exported to plain JSON (terms, idf, per-tag coefficients, intercept and
threshold) and predicted with numpy; nothing is pickled. A tag with too few confirmed
examples is not learned: the keyword rules decide it. "other" is never learned: it is what a
non-empty text gets when no other tag applies.

Privacy: digit runs (mobile, ID and plate numbers) are replaced before segmentation and a
term must occur in at least two training texts, so the stored vocabulary does not carry one
citizen's number or name.
"""

from __future__ import annotations

import logging
import math
import random
import re
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from django.conf import settings

from minyi.insight.models import TaggerModel
from minyi.perception.models import ReasonTag

OTHER = ReasonTag.OTHER.value
# Tags the rules and the model decide; "other" is the fallback.
TAGS: tuple[str, ...] = tuple(t for t in ReasonTag.values if t != OTHER)

# Bump when KEYWORDS, PATTERNS or EXCLUDE change: a model records which rules it was fitted
# with, since their hits are features.
RULES_VERSION = 1
WEIGHTS_FORMAT = 1

# --- Keyword rules ------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


KEYWORDS: dict[str, tuple[str, ...]] = {
    ReasonTag.ATTITUDE: _words(
        """
        态度 不耐烦 没耐心 没有耐心 冷漠 冷冰冰 冷着脸 冷脸 凶 训斥 呵斥 斥责 吼 爱理不理 爱答不理
        不理不睬 不理人 不搭理 脸色 甩脸 摆架子 架子大 傲慢 嚣张 粗鲁 没礼貌 不礼貌 不尊重 玩手机
        看手机 语气 口气 说话冲 说话很冲 难听 嘲讽 讽刺 阴阳怪气 看不起 瞧不起 歧视 耍威风 官腔
        高高在上 不友好 敷衍 挂了电话 挂我电话 拍桌子 刻薄 轻蔑 怼 嫌我 嫌麻烦 脾气 不高兴 没好气
        不把老百姓当回事 闭嘴 同情心 不听我说 板着脸 爱搭不理 见多了 蛮横 不当回事
        """
    ),
    ReasonTag.EFFICIENCY: _words(
        """
        效率 太慢 很慢 好慢 办得慢 处理得慢 处理慢 动作慢 慢吞吞 磨蹭 排队 等太久 等了很久
        等了好久 等很久 时间太长 时间长 拖拖拉拉 拖延 一拖再拖 久拖 迟迟 进度慢 没进展 没有进展
        一点进展 推诿 踢皮球 推来推去 互相推 繁琐 手续多 手续复杂 流程复杂 层层审批 只开了一个窗口
        窗口少 离岗 还没办好 还没开好 还没拿到 才拿到 大半天 一上午 一下午 没有消息 没消息 约不上
        走流程 一整天 还没出来 拖了 拖到 白等
        """
    ),
    ReasonTag.MULTIPLE_TRIPS: _words(
        """
        跑了几趟 跑了好几趟 跑好几趟 跑了好几次 多次 来回跑 来来回回 又让我来 又让我去 让我再来
        改天再来 明天再来 再跑一趟 又跑了一趟 又回家拿 白跑 跑冤枉路 冤枉路 好几次 好几趟 折腾
        又要来 补材料 再来一次 多跑 跑一趟 来回 再去 又说要 又去了
        """
    ),
    ReasonTag.CONDUCT: _words(
        """
        执法不规范 不规范 违规 违法 没出示 没有出示 未出示 不出示 粗暴 动手 推搡 推我 打人
        不按程序 程序不对 违反程序 乱罚款 乱罚 乱贴罚单 执法不公 不公平 不公正 偏袒 偏向 拉偏架
        向着 选择性执法 没穿制服 未着装 执法记录仪 记录仪 强行 强制 扣押 暴力执法 滥用职权 越权
        威胁 恐吓 吓唬 脏话 爆粗口 私了 一面之词 没有手续 没有任何手续 不给凭证 手铐 逼供 诱供
        处罚太重 不公 没有证据 搜身 当犯人 泄露 互殴 没开票 不开票 没有开票
        """
    ),
    ReasonTag.OUTCOME: _words(
        """
        没解决 没有解决 未解决 没能解决 解决不了 不了了之 没有结果 没结果 没有下文 没下文 没处理
        没有处理 不处理 处理结果 结果不满意 调解不成 没抓到 抓不到 没找到 没找回 找不回 追不回
        没追回 不立案 不予立案 没立案 立不了案 不赔 没赔 赔偿 和稀泥 问题还在 照样 依旧 老样子
        没人管 不管 管不了 没用 放了 放走 自认倒霉 承担损失 没有任何措施 没采取措施 没有说法
        没给说法 不能接受 不合理 没有找到 要不回 没要回 没有处罚 不帮忙 不归 没有采取 还是没
        """
    ),
    ReasonTag.RESPONSE_SPEED: _words(
        """
        出警慢 出警太慢 出警速度 出警不及时 出警迟 没出警 没有出警 不出警 迟迟不来 迟迟没来
        迟迟未到 半天才来 半天不来 很久才来 很久才到 才来人 才赶到 到场慢 到场晚 来得慢 来得太慢
        来得晚 来得太晚 才到现场 等交警 等警察 占线 没人来 不见警察 等了半小时 人手不够 马上到
        马上派人 慢悠悠
        """
    ),
    ReasonTag.INTEGRITY: _words(
        """
        吃拿卡要 红包 送礼 送东西 好处 托关系 找关系 走后门 开后门 后门 关系户 收钱 收了钱 要钱
        索要 受贿 行贿 塞钱 吃请 请吃饭 请他吃饭 宴请 优亲厚友 人情 熟人 插队 私交 辛苦费 加急费
        好烟 借钱 利益关系 利益输送 勾结 推销 介绍的律师 关系 提成 亲戚 打招呼 一个电话就
        """
    ),
    ReasonTag.EXPLANATION: _words(
        """
        没解释 没有解释 不解释 解释不清 没解释清楚 没告知 没有告知 未告知 不告知 一次性告知
        没说清楚 说不清楚 没讲清楚 讲不清楚 没说明 没有说明 不说明 未说明 不告诉 没告诉 没人告诉
        没有告诉 没通知 没有通知 不通知 等通知 没人通知 听不懂 进度 不透明 没回复 没有回复 不回复
        没有回音 没回音 没反馈 没有反馈 答复 含糊 模糊 说法不一 不一致 说的不一样 指引 依据 理由
        说清楚 也不说 没人说 没人解释 没跟我讲 没人跟我讲 提前通知 告知
        """
    ),
    ReasonTag.FACILITIES: _words(
        """
        停车 车位 空调 太热 太冷 热得 冷得 排号机 叫号 取号机 自助机 拍照机 设备 机器坏 故障
        系统维护 信号 卫生 厕所 很脏 太脏 脏乱 又脏又乱 座位 椅子 拥挤 太挤 人挤人 环境差 环境太差
        环境不好 指示牌 标识 找不到地方 无障碍 电梯 饮水 打印机 小程序 公众号 网站 网上预约
        预约系统 闪退 登不上 太偏 太远 母婴室 隔音 光线 网络不好 没网
        """
    ),
}

# Phrases the plain keyword lists cannot express (Chinese numerals, a few characters apart).
_N = "[0-9零一二两三四五六七八九十几好多半]"
PATTERNS: dict[str, tuple[str, ...]] = {
    ReasonTag.EFFICIENCY: (
        r"排了?.{0,6}队",
        r"(?:办|拖|审|批|弄|搞|处理)了?(?:快|近|将近)?"
        + _N
        + r"+个?多?(?:小时|钟头|天|星期|周|个?月|年)",
    ),
    ReasonTag.MULTIPLE_TRIPS: (
        r"跑了?" + _N + r"+[趟次回]",
        r"(?:来|去)了" + _N + r"+[趟次回]",
        r"第[二三四五六七八九十0-9]+次(?:来|去|跑)",
        r"(?:跑|去|来|回来)了?" + _N + r"+(?:趟|次|回)",
    ),
    ReasonTag.CONDUCT: (r"笔录.{0,10}(?:不一样|不符|不让我看|不让我改|乱写)",),
    ReasonTag.RESPONSE_SPEED: (
        r"(?:报警|报案|110|出警|警察|交警|民警|警车).{0,14}(?:才来|才到|才过来|还没到|还没来|没来|不来|没人来|不见)",
        r"(?:等了|过了).{0,10}(?:才来|才到|才赶到|才过来)",
        r"110.{0,4}打不(?:通|进)",
        r"才(?:有人|过来|赶到|上来|看到)",
    ),
    ReasonTag.FACILITIES: (r"系统.{0,4}(?:卡|坏|故障|维护|崩|登不上|打不开|用不了)",),
}

# Removed from the text before a tag's keywords are looked for: praise, and words that merely
# contain a keyword ("凶手" is not a fierce officer).
_ADVERBS = "(?:都|也|倒|蛮|挺|很|非常|比较|还|算|总体|整体|上|真|特别|十分)*"
EXCLUDE: dict[str, tuple[str, ...]] = {
    ReasonTag.ATTITUDE: (
        r"态度" + _ADVERBS + r"(?:好|不错|可以|还行|行|热情|和蔼|客气|端正|友好|满意|没问题)",
        r"凶手|凶器|凶案|行凶|凶杀",
    ),
    ReasonTag.FACILITIES: (r"脏话|乱停|违停",),
    ReasonTag.EFFICIENCY: (r"(?:出警|来得|到场)(?:太|很|特别)?慢|迟迟(?:不|没|未)(?:来|到)",),
    ReasonTag.MULTIPLE_TRIPS: (r"(?:报|打)了?(?:好几|几|多)次(?:警|电话|110)",),
    ReasonTag.OUTCOME: (r"放了?(?:心|假|学|下|弃)",),
    ReasonTag.INTEGRITY: (r"好处理",),
}


def _compile(tag: str) -> re.Pattern:
    parts = [re.escape(k) for k in sorted(KEYWORDS.get(tag, ()), key=len, reverse=True)]
    parts += list(PATTERNS.get(tag, ()))
    return re.compile("|".join(parts))


_RULES = {tag: _compile(tag) for tag in TAGS}
_EXCLUDE = {tag: re.compile("|".join(p)) for tag, p in EXCLUDE.items()}


# Digits written as Chinese numerals ("幺三八…", "一三九…"): three or more in a row are read
# out as a number, never as words.
_SPOKEN_DIGITS = re.compile("[零〇一二三四五六七八九幺两]{3,}")
_LETTERS = re.compile(r"[^\W\d_]")


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, digit runs (also three or more Chinese numerals,
    as a number is read out) to one "0": no number is ever kept."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _SPOKEN_DIGITS.sub("0", text)
    return re.sub(r"\d+", "0", text).strip()


def has_words(text: str) -> bool:
    """Whether a text holds any letter or Chinese character once numbers are taken out (a
    text of emoji, punctuation or a mobile number alone has nothing to tag)."""
    return bool(_LETTERS.search(normalise(text).replace("0", "")))


def rule_tags(text: str) -> list[str]:
    """The tags whose keywords occur in the text (never "other"), in ReasonTag order."""
    return _rule_tags_normalised(normalise(text))


def _rule_tags_normalised(text: str) -> list[str]:
    if not text:
        return []
    hits = []
    for tag in TAGS:
        candidate = _EXCLUDE[tag].sub("，", text) if tag in _EXCLUDE else text
        if _RULES[tag].search(candidate):
            hits.append(tag)
    return hits


def rule_suggest(text: str) -> list[str]:
    """The rules alone, with the "other" fallback: the baseline a model must beat."""
    if not has_words(text):
        return []
    return rule_tags(text) or [OTHER]


# --- Segmentation -------------------------------------------------------------------------

_jieba_lock = threading.Lock()
_tokenizer = None
# Particles that carry no reason; pronouns and negations stay ("不", "没" matter).
STOPWORDS = frozenset("的了吗呢啊吧呀嘛哦哈着过地得之么噢嗯")
_WORDLIKE = re.compile(r"[\w\u4e00-\u9fff]")


def _jieba():
    """jieba's own tokenizer instance, loaded once per process on first use (about a second),
    with every keyword added so it segments as one unit. Its logging is silenced."""
    global _tokenizer
    if _tokenizer is None:
        with _jieba_lock:
            if _tokenizer is None:
                import jieba  # noqa: PLC0415 (loaded on first use: web workers start fast)

                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                import jieba.analyse  # noqa: PLC0415
                import jieba.posseg  # noqa: PLC0415

                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for word in (*(w for ws in KEYWORDS.values() for w in ws), *TOPIC_WORDS):
                    if len(word) > 1:
                        tokenizer.add_word(word)
                _idf.update(jieba.analyse.default_tfidf.idf_freq)
                _pos.update(jieba.posseg.dt.word_tag_tab)
                _tokenizer = tokenizer
    return _tokenizer


# jieba's inverse document frequencies of general Chinese, and its dictionary's part of speech
# of each word: what a topic term is judged by (_term_ok).
_idf: dict[str, float] = {}
_pos: dict[str, str] = {}
# Topics of public-security work that jieba's dictionary splits or lacks: kept whole, always
# terms.
TOPIC_WORDS = _words(
    """
    广场舞 醉驾 酒驾 群租房 电瓶车 共享单车 高空抛物 电信诈骗 网络诈骗 养老诈骗 刷单 跑分
    噪音扰民 占道经营 飞线充电 楼道充电 电动自行车 外卖员 快递员 校园欺凌 黄赌毒 非法集资
    """
)


def _words_of(normalised: str) -> list[str]:
    return [
        w
        for w in _jieba().lcut(normalised)
        if w.strip() and w not in STOPWORDS and _WORDLIKE.search(w) and not _DIGIT.search(w)
    ]


_DIGIT = re.compile(r"\d")


def tokenize(text: str) -> list[str]:
    """jieba words of the normalised text, without punctuation, spaces, particles and the
    "0" that stands for a number."""
    text = normalise(text)
    return _words_of(text) if text else []


def _with_bigrams(words: list[str], source: str = "") -> list[str]:
    grams = words + [f"{a} {b}" for a, b in pairwise(words)]
    # The source is a feature too: a survey comment and a letter say the same thing
    # differently, and confirmed tags of every source train one model.
    return [*grams, f"src:{source}"] if source else grams


def features(text: str, source: str = "") -> list[str]:
    """The words the model sees: jieba unigrams and bigrams (and the text's source). (The
    rules' hits are separate, unnormalised binary columns: see design_matrix.)"""
    return _with_bigrams(tokenize(text), source)


def rule_vector(text: str, order: tuple[str, ...] | list[str] = TAGS) -> list[float]:
    """1.0 for each tag (in `order`) the keyword rules find in the text, else 0.0."""
    hits = set(rule_tags(text))
    return [1.0 if t in hits else 0.0 for t in order]


# --- The model as plain JSON, predicted with numpy ----------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class CompiledModel:
    """A trained tagger read back from its JSON weights."""

    def __init__(self, weights: dict):
        if weights.get("format") != WEIGHTS_FORMAT:
            raise ValueError(f"unknown tagger weights format {weights.get('format')!r}")
        self.terms = {term: i for i, term in enumerate(weights["terms"])}
        self.idf = np.asarray(weights["idf"], dtype=float)
        self.sublinear_tf = bool(weights["sublinear_tf"])
        self.learned: list[str] = [t for t in TAGS if t in weights["tags"]]
        tags = weights["tags"]
        width = len(self.terms)
        self.coef = (
            np.asarray([tags[t]["coef"] for t in self.learned], dtype=float)
            if self.learned
            else np.zeros((0, width))
        )
        # The rules' hits are columns in the order the model was fitted with.
        self.rule_order = list(weights.get("rule_tags", TAGS))
        self.rule_coef = (
            np.asarray([tags[t]["rule_coef"] for t in self.learned], dtype=float)
            if self.learned
            else np.zeros((0, len(self.rule_order)))
        )
        self.intercept = np.asarray([tags[t]["intercept"] for t in self.learned], dtype=float)
        self.threshold = np.asarray([tags[t]["threshold"] for t in self.learned], dtype=float)

    def probabilities(self, text: str, source: str = "") -> dict[str, float]:
        """P(tag) for each learned tag, as sklearn's predict_proba would give."""
        return self._probabilities(
            features(text, source), rule_vector(text, self.rule_order) if self.learned else []
        )

    def threshold_of(self, tag: str) -> float:
        return float(self.threshold[self.learned.index(tag)])

    def _probabilities(self, grams: list[str], rule_hits: list[float]) -> dict[str, float]:
        if not self.learned:
            return {}
        scores = self.intercept + self.rule_coef @ np.asarray(rule_hits)
        counts = Counter(f for f in grams if f in self.terms)
        if counts:
            index = np.fromiter((self.terms[f] for f in counts), dtype=np.int64)
            tf = np.fromiter(counts.values(), dtype=float)
            if self.sublinear_tf:
                tf = 1.0 + np.log(tf)
            values = tf * self.idf[index]
            values /= np.linalg.norm(values)
            scores = scores + self.coef[:, index] @ values
        return dict(zip(self.learned, _sigmoid(scores).tolist(), strict=True))

    def predict(self, text: str, source: str = "") -> list[str]:
        """Model for the learned tags, keyword rules for the others; "other" if nothing.
        Every tag found, in ReasonTag order (tag_text ranks and keeps two)."""
        if not has_words(text):
            return []
        probabilities = self.probabilities(text, source)
        ruled = set(rule_tags(text))
        chosen = []
        for tag in TAGS:
            if tag in probabilities:
                if probabilities[tag] >= self.threshold_of(tag):
                    chosen.append(tag)
            elif tag in ruled:
                chosen.append(tag)
        return chosen or [OTHER]


# --- Any text, short or long: ranked tags and topic terms ----------------------------------

# Beyond this a text is not read further (a 20,000-character letter is read whole).
MAX_CHARS = 20_000
# A long text is read in pieces of whole sentences of about this length, so that a letter's
# one sentence of complaint among many is weighed on its own, as a short text would be.
PIECE_CHARS = 80
MAX_TAGS = 2
MAX_TERMS = 30
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…\n])")
_TERM = re.compile(r"^[\u4e00-\u9fff]{2,8}$")
# A topic term is a noun rarer than this in general Chinese (jieba's IDF: "那天", "很多", "今年",
# "电话" at 4.3–6.7 say nothing of a topic; "电动车", "小区", "电瓶" at 7.5–11 do), or a verb
# rarer still ("赌博", "装修", "停车": 8–12; "没法": 7.4). Pronouns, numerals, adverbs,
# prepositions, idioms, place words and people's names are never terms, nor a word jieba's
# dictionary lacks (a guess of its segmenter).
MIN_TERM_IDF = 7.0
MIN_VERB_IDF = 8.0
_NOUNS = frozenset(("n", "ng", "ns", "nt", "nz", "vn", "an"))
_VERBS = frozenset(("v", "vd"))
# A term with a numeral ("三趟", "两万") is a count, not a topic.
_NUMERAL = re.compile("[零〇一二三四五六七八九十百千万亿两幺]")
# Words every text about the police has: no topic in them.
TERM_STOPWORDS = frozenset(
    _words(
        """
    我们 你们 他们 她们 自己 大家 这个 那个 这些 那些 一个 一下 一些 什么 怎么 为什么 怎么办 这样
    那样 这么 那么 没有 不是 就是 还是 但是 可是 因为 所以 如果 虽然 而且 然后 已经 现在 今天 昨天
    明天 时候 之后 以后 以前 当时 当天 后来 一直 还有 可以 应该 需要 觉得 知道 希望 要求 请问 谢谢
    感谢 您好 你好 尊敬 领导 此致 敬礼 同志 民警 警察 公安 公安局 派出所 警官 辅警 群众 老百姓 问题
    情况 事情 东西 地方 一次 一些 反映 表示 说明 出现 进行 处理 工作 相关 有关 关于 方面 问题 本人
    非常 特别 比较 真的 实在 确实 其实 一点 一定 不能 不会 不要 不过 只是 只能 只有 或者 以及 还要
    此致敬礼 家住 您们 请求 恳请 诉求
        """
    )
)


@dataclass(frozen=True)
class TagResult:
    """What the tagger found in one text: up to two reason tags, primary first ([] for a text
    with nothing to tag, ["other"] for one where no reason applies), each chosen tag's score
    (the model's probability, or from 0.5 up for the keyword rules by how many of the text's
    pieces they hit), and the text's topic terms."""

    tags: list[str]
    scores: dict[str, float]
    terms: list[str]

    @property
    def primary(self) -> str:
        return self.tags[0] if self.tags else ""

    @property
    def secondary(self) -> str:
        return self.tags[1] if len(self.tags) > 1 else ""


EMPTY = TagResult([], {}, [])


def pieces(normalised: str) -> list[str]:
    """Whole sentences gathered into pieces of about PIECE_CHARS characters."""
    if len(normalised) <= PIECE_CHARS:
        return [normalised]
    out, current = [], ""
    for sentence in _SENTENCE_END.split(normalised):
        if current and len(current) + len(sentence) > PIECE_CHARS:
            out.append(current)
            current = ""
        current += sentence
    if current:
        out.append(current)
    return [p for p in out if p.strip()]


def _term_ok(word: str) -> bool:
    if word in TOPIC_WORDS:
        return True
    pos, idf = _pos.get(word, ""), _idf.get(word, 0.0)
    return (pos in _NOUNS and idf >= MIN_TERM_IDF) or (pos in _VERBS and idf >= MIN_VERB_IDF)


def _terms(words: list[str]) -> list[str]:
    counts = Counter(
        w
        for w in words
        if _TERM.match(w)
        and _term_ok(w)
        and not _NUMERAL.search(w)
        and w not in TERM_STOPWORDS
        and w not in _ALL_KEYWORDS
    )
    return [w for w, _n in counts.most_common(MAX_TERMS)]


# A reason's keywords are counted as its tag, not again as a topic.
_ALL_KEYWORDS = frozenset(w for words in KEYWORDS.values() for w in words)


def tag_text(text: str, *, source: str = "", model=None, use_active: bool = True) -> TagResult:
    """Tag one citizen text of any length: the reason tags, ranked, and its topic terms.

    A long text is read piece by piece: the keyword rules count the pieces they hit (praise is
    taken out within each piece) and the model's probability of a tag is its highest over the
    pieces. The active model is used unless `model` is given (or `use_active` is False: the
    rules alone). Never raises on what a citizen sends: an empty text, emoji or a number alone
    give EMPTY.
    """
    if not text or not has_words(text):
        return EMPTY
    if model is None and use_active:
        model = active_model()
    normalised = normalise(text[:MAX_CHARS])
    hits: Counter = Counter()
    best: dict[str, float] = {}
    all_words: list[str] = []
    for piece in pieces(normalised):
        ruled = _rule_tags_normalised(piece)
        hits.update(ruled)
        words = _words_of(piece)
        all_words += words
        if model is not None and model.learned:
            order = set(ruled)
            vector = [1.0 if t in order else 0.0 for t in model.rule_order]
            for tag, p in model._probabilities(_with_bigrams(words, source), vector).items():
                best[tag] = max(best.get(tag, 0.0), p)
    scores: dict[str, float] = {}
    most = max(hits.values(), default=0)
    for tag in TAGS:
        if model is not None and tag in model.learned:
            if best.get(tag, 0.0) >= model.threshold_of(tag):
                scores[tag] = best[tag]
        elif hits[tag]:
            scores[tag] = 0.5 + 0.49 * hits[tag] / most
    ranked = sorted(scores, key=lambda t: (-scores[t], TAGS.index(t)))[:MAX_TAGS]
    return TagResult(ranked or [OTHER], {t: round(scores[t], 4) for t in ranked}, _terms(all_words))


# --- Training -----------------------------------------------------------------------------

DEFAULT_PARAMS = {
    "C": 2.0,
    "solver": "liblinear",
    "threshold": 0.5,
    "min_df": 2,
    "ngram": [1, 2],
    "sublinear_tf": True,
    "max_features": 30000,
}


def min_tag_examples() -> int:
    """Confirmed examples of a tag (in the training part) it needs before it is learned."""
    return int(getattr(settings, "TAGGER_MIN_TAG_EXAMPLES", 20))


@dataclass
class TrainingResult:
    weights: dict
    metrics: dict
    params: dict
    n_train: int
    n_test: int
    learned: list[str]
    # The fitted scikit-learn objects, for checking the JSON export; never stored.
    vectorizer: Any = field(default=None, repr=False)
    classifiers: dict = field(default_factory=dict, repr=False)


def split_examples(
    labels: list[list[str]], *, test_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """A deterministic train/test split, stratified as far as multi-label data allows: each
    example is grouped by its rarest tag and each group is split in the same proportion."""
    frequency = Counter(t for tags in labels for t in set(tags))
    groups: dict[str, list[int]] = defaultdict(list)
    for i, tags in enumerate(labels):
        # A "src:" label (the text's source) stratifies beside the rarest tag.
        src = "".join(t for t in tags if t.startswith("src:"))
        plain = [t for t in tags if not t.startswith("src:")]
        key = min(plain, key=lambda t: (frequency[t], t)) if plain else ""
        groups[src + key].append(i)
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    test: list[int] = []
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        n_test = round(len(members) * test_fraction)
        if len(members) >= 2:
            n_test = min(max(n_test, 1), len(members) - 1)
        test += members[:n_test]
    test_set = set(test)
    train = [i for i in range(len(labels)) if i not in test_set]
    return train, sorted(test_set)


def _scores(truth: list[set[str]], predicted: list[set[str]]) -> dict:
    """Per tag precision, recall, F1 and support, plus micro and macro averages."""

    def prf(tp, fp, fn):
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        if precision is None or recall is None:
            f1 = None
        else:
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1}

    per_tag = {}
    totals = Counter()
    for tag in ReasonTag.values:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if tag in t and tag in p)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if tag not in t and tag in p)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if tag in t and tag not in p)
        per_tag[tag] = {**prf(tp, fp, fn), "support": tp + fn, "predicted": tp + fp}
        totals.update(tp=tp, fp=fp, fn=fn)
    micro = {
        **prf(totals["tp"], totals["fp"], totals["fn"]),
        "support": totals["tp"] + totals["fn"],
    }
    supported = [m for m in per_tag.values() if m["support"]]

    def mean(key):
        values = [m[key] or 0.0 for m in supported]
        return sum(values) / len(values) if values else None

    macro = {
        "precision": mean("precision"),
        "recall": mean("recall"),
        "f1": mean("f1"),
        "support": micro["support"],
    }
    return {"tags": per_tag, "micro": micro, "macro": macro}


def _split_distinct(texts, labels, sources, *, test_fraction: float, seed: int):
    """The split, made over distinct texts: a text written many times ("满意", "态度差") is
    either all in training or once in the test part, so the held-out figures are about
    wording the model has not seen, not about repeats of it. Stratified by source too, so
    each source's held-out part is its share."""
    first: dict[str, int] = {}
    keys = [normalise(t) for t in texts]
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    distinct = list(first.values())
    strata = [[*labels[i], f"src:{sources[i]}"] for i in distinct]
    _train, test = split_examples(strata, test_fraction=test_fraction, seed=seed)
    test_idx = [distinct[j] for j in test]
    held_out = {keys[i] for i in test_idx}
    train_idx = [i for i, key in enumerate(keys) if key not in held_out]
    return train_idx, test_idx


def _primary_agreement(labels, test_idx, results) -> dict:
    """How often the suggested primary reason is the confirmed primary reason."""
    agree = sum(1 for i, r in zip(test_idx, results, strict=True) if r.primary == labels[i][0])
    return {"agree": agree, "n": len(test_idx)}


def _export(vectorizer, classifiers: dict, threshold: float, sublinear_tf: bool) -> dict:
    n_terms = len(vectorizer.vocabulary_)
    terms = [None] * n_terms
    for term, index in vectorizer.vocabulary_.items():
        terms[index] = term
    return {
        "format": WEIGHTS_FORMAT,
        "rules_version": RULES_VERSION,
        "rule_tags": list(TAGS),
        "terms": terms,
        "idf": [float(v) for v in vectorizer.idf_],
        "sublinear_tf": sublinear_tf,
        "norm": "l2",
        "tags": {
            tag: {
                "coef": [float(v) for v in clf.coef_[0][:n_terms]],
                "rule_coef": [float(v) for v in clf.coef_[0][n_terms:]],
                "intercept": float(clf.intercept_[0]),
                "threshold": threshold,
            }
            for tag, clf in classifiers.items()
        },
    }


def _identity(tokens):
    return tokens


def design_matrix(vectorizer, texts: list[str], sources: list[str] | None = None):
    """What the classifiers are fitted on: TF-IDF of the words beside the rules' hits."""
    from scipy.sparse import csr_matrix, hstack  # noqa: PLC0415 (training only)

    sources = sources or [""] * len(texts)
    words = vectorizer.transform([features(t, s) for t, s in zip(texts, sources, strict=True)])
    hits = csr_matrix(
        np.asarray([rule_vector(t) for t in texts], dtype=float).reshape(-1, len(TAGS))
    )
    return hstack([words, hits]).tocsr()


def train(
    texts: list[str],
    labels: list[list[str]],
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    min_examples: int | None = None,
    params: dict | None = None,
    sources: list[str] | None = None,
) -> TrainingResult:
    """Fit on a deterministic training part, measure the model (with the rules for the tags
    it does not learn) and the rules alone on the held-out part, overall and per source.

    The stored model is the one measured, through tag_text as it suggests (long texts piece
    by piece, at most two tags): the figures shown describe exactly what suggests.
    """
    sources = list(sources) if sources is not None else [""] * len(texts)
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415 (training only)
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1")
    params = {**DEFAULT_PARAMS, **(params or {})}
    min_examples = min_tag_examples() if min_examples is None else min_examples
    # Ranked as confirmed (primary first), duplicates and unknown tags dropped.
    labels = [[t for t in dict.fromkeys(tags) if t in ReasonTag.values] for tags in labels]
    train_idx, test_idx = _split_distinct(
        texts, labels, sources, test_fraction=test_fraction, seed=seed
    )
    train_counts = Counter(t for i in train_idx for t in labels[i])
    learnable = [
        tag
        for tag in TAGS
        if train_counts[tag] >= min_examples and len(train_idx) - train_counts[tag] >= 1
    ]

    vectorizer = None
    classifiers: dict = {}
    if learnable:
        vectorizer = TfidfVectorizer(
            analyzer=_identity,
            min_df=params["min_df"],
            sublinear_tf=params["sublinear_tf"],
            max_features=params["max_features"],
            norm="l2",
        )
        try:
            vectorizer.fit([features(texts[i], sources[i]) for i in train_idx])
        except ValueError:  # no term in two texts: nothing to learn from
            vectorizer, learnable = None, []
        else:
            x_train = design_matrix(
                vectorizer, [texts[i] for i in train_idx], [sources[i] for i in train_idx]
            )
    for tag in learnable:
        y = np.asarray([tag in labels[i] for i in train_idx], dtype=int)
        # liblinear: single-threaded, so a small fit is not slowed by BLAS threads fighting
        # over a busy machine; deterministic for a given random_state.
        clf = LogisticRegression(
            C=params["C"],
            class_weight="balanced",
            solver="liblinear",
            random_state=seed,
            max_iter=2000,
        )
        clf.fit(x_train, y)
        classifiers[tag] = clf

    if vectorizer is not None:
        weights = _export(vectorizer, classifiers, params["threshold"], params["sublinear_tf"])
    else:
        weights = {
            "format": WEIGHTS_FORMAT,
            "rules_version": RULES_VERSION,
            "rule_tags": list(TAGS),
            "terms": [],
            "idf": [],
            "sublinear_tf": params["sublinear_tf"],
            "norm": "l2",
            "tags": {},
        }
    compiled = CompiledModel(weights)
    truth = [set(labels[i]) for i in test_idx]
    by_model = [tag_text(texts[i], source=sources[i], model=compiled) for i in test_idx]
    by_rules = [tag_text(texts[i], source=sources[i], use_active=False) for i in test_idx]
    metrics = {
        "model": _scores(truth, [set(r.tags) for r in by_model]),
        "rules": _scores(truth, [set(r.tags) for r in by_rules]),
        "sources": {t: ("model" if t in classifiers else "rules") for t in TAGS}
        | {OTHER: "fallback"},
        "primary": {
            "model": _primary_agreement(labels, test_idx, by_model),
            "rules": _primary_agreement(labels, test_idx, by_rules),
        },
        "by_source": {},
    }
    for src in sorted(set(sources[i] for i in test_idx)):
        picked = [k for k, i in enumerate(test_idx) if sources[i] == src]
        part = [truth[k] for k in picked]
        metrics["by_source"][src] = {
            "n": len(picked),
            "model": _scores(part, [set(by_model[k].tags) for k in picked]),
            "rules": _scores(part, [set(by_rules[k].tags) for k in picked]),
        }
    all_counts = Counter(t for tags in labels for t in tags)
    params = {
        **params,
        "test_fraction": test_fraction,
        "seed": seed,
        "min_tag_examples": min_examples,
        "rules_version": RULES_VERSION,
        "n_examples": len(texts),
        "tag_counts": {t: all_counts[t] for t in ReasonTag.values},
        "train_counts": {t: train_counts[t] for t in ReasonTag.values},
        "n_terms": len(weights["terms"]),
        "source_counts": dict(sorted(Counter(sources).items())),
    }
    return TrainingResult(
        weights=weights,
        metrics=metrics,
        params=params,
        n_train=len(train_idx),
        n_test=len(test_idx),
        learned=list(classifiers),
        vectorizer=vectorizer,
        classifiers=classifiers,
    )


# --- Suggesting: the active model, cached per process --------------------------------------

_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"pk": None, "model": None, "checked": -math.inf}


def clear_cache() -> None:
    """Forget the loaded model; the next suggestion looks up the active one again."""
    with _cache_lock:
        _cache.update(pk=None, model=None, checked=-math.inf)


def active_model() -> CompiledModel | None:
    """The active model, reloaded when another one becomes active. The check is one indexed
    query at most every TAGGER_CACHE_SECONDS (default 30) per process."""
    ttl = float(getattr(settings, "TAGGER_CACHE_SECONDS", 30))
    now = time.monotonic()
    if now - _cache["checked"] < ttl:
        return _cache["model"]
    with _cache_lock:
        pk = TaggerModel.objects.filter(is_active=True).values_list("pk", flat=True).first()
        if pk != _cache["pk"]:
            weights = None
            if pk is not None:
                weights = (
                    TaggerModel.objects.filter(pk=pk).values_list("weights", flat=True).first()
                )
            _cache["model"] = CompiledModel(weights) if weights else None
            _cache["pk"] = pk
        _cache["checked"] = now
        return _cache["model"]


def suggest_tags(text: str) -> list[str]:
    """The reason tags to suggest for a citizen's reason text, in ReasonTag order.

    The active model decides the tags it learned, the keyword rules the others; a non-empty
    text with no hit gets ["other"], an empty one [].
    """
    if not has_words(text):
        return []
    model = active_model()
    if model is None:
        return rule_suggest(text)
    return model.predict(text)
