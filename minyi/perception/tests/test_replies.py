"""Reply understanding (capability 1, step 3): plain functions, no database."""

import itertools
import random
import time

import pytest

from minyi.perception.replies import (
    COMMENT_MAX_CHARS,
    EXACT,
    INFERRED,
    NO_RATING,
    RATING_LABELS,
    ParsedReply,
    ReplyKind,
    parse_reply,
)

RAT, OPT, UNP = ReplyKind.RATING, ReplyKind.OPT_OUT, ReplyKind.UNPARSED
EX, INF, NON = EXACT, INFERRED, NO_RATING


def case(text, kind, rating, comment, confidence, id=None):
    return pytest.param(text, ParsedReply(kind, rating, comment, confidence), id=id or repr(text))


def check(text, expected):
    assert parse_reply(text) == expected


# --- Digits ------------------------------------------------------------------------------------

BARE_DIGITS = [
    case("1", RAT, 1, "", EX),
    case("2", RAT, 2, "", EX),
    case("3", RAT, 3, "", EX),
    case("4", RAT, 4, "", EX),
    case("5", RAT, 5, "", EX),
    case("1。", RAT, 1, "", EX),
    case(" 5 ", RAT, 5, "", EX),
    case("\t3\n", RAT, 3, "", EX),
    case("【4】", RAT, 4, "", EX),
    case("(2)", RAT, 2, "", EX),
    case("“3”", RAT, 3, "", EX),
    case("5!!!", RAT, 5, "", EX),
    case("１", RAT, 1, "", EX, id="full-width 1"),
    case("４", RAT, 4, "", EX, id="full-width 4"),
    case("　４　", RAT, 4, "", EX, id="ideographic spaces"),
    case("①", RAT, 1, "", EX, id="circled 1"),
    case("⑤", RAT, 5, "", EX, id="circled 5"),
    case("4\ufe0f\u20e3", RAT, 4, "", EX, id="keycap 4"),
    case("5 5", RAT, 5, "", EX, id="same digit twice"),
    case("回复3", RAT, 3, "", INF),
    case("回复：3", RAT, 3, "", INF),
    case("回覆3", RAT, 3, "", INF, id="traditional 回覆"),
    case("我选4", RAT, 4, "", INF),
    case("就5吧", RAT, 5, "", INF),
    case("5吧", RAT, 5, "", INF),
]

DIGIT_WITH_LEVEL_WORD = [
    case("4不满意", RAT, 4, "", EX),
    case("1非常满意", RAT, 1, "", EX),
    case("5非常不满意", RAT, 5, "", EX),
    case("2 满意", RAT, 2, "", EX),
    case("3、基本满意", RAT, 3, "", EX),
    case("4，不满意", RAT, 4, "", EX),
    case("非常满意 1", RAT, 1, "", EX),
    case("4满意", UNP, None, "4满意", NON, id="digit and word disagree"),
    case("1. 满意", UNP, None, "1. 满意", NON, id="list-style digit disagrees"),
]

NOT_RATINGS = [
    case("0", UNP, None, "0", NON),
    case("6", UNP, None, "6", NON),
    case("9", UNP, None, "9", NON),
    case("12", UNP, None, "12", NON),
    case("55", UNP, None, "55", NON),
    case("2024年", UNP, None, "2024年", NON),
    case("13812345678", UNP, None, "13812345678", NON),
    case("138 1234 5678", UNP, None, "138 1234 5678", NON),
    case("2.5", UNP, None, "2.5", NON),
    case("5G", UNP, None, "5G", NON),
    case("T1", UNP, None, "T1", NON),
    case("打5分", UNP, None, "打5分", NON, id="score out of 5 is a reversed scale"),
    case("民警服务态度好，给5星", UNP, None, "民警服务态度好，给5星", NON),
    case("态度很差4", UNP, None, "态度很差4", NON, id="digit glued to the end of text"),
    case("3天了还没办好", UNP, None, "3天了还没办好", NON),
    case("满意 6", UNP, None, "满意 6", NON, id="out-of-range digit makes it ambiguous"),
]

AMBIGUOUS = [
    case("1或者5", UNP, None, "1或者5", NON),
    case("1或5", UNP, None, "1或5", NON),
    case("4还是5", UNP, None, "4还是5", NON),
    case("1 5", UNP, None, "1 5", NON),
    case("1到5", UNP, None, "1到5", NON),
    case("满意 1", UNP, None, "满意 1", NON),
    case("满意，不满意", UNP, None, "满意，不满意", NON),
    case("满意，4，谢谢", UNP, None, "满意，4，谢谢", NON),
    case(
        "1非常满意 2满意 3基本满意 4不满意 5非常不满意",
        UNP,
        None,
        "1非常满意 2满意 3基本满意 4不满意 5非常不满意",
        NON,
        id="menu echoed back",
    ),
    case("没有很不满意", UNP, None, "没有很不满意", NON, id="negated 5 has no clear level"),
]

# --- Words -------------------------------------------------------------------------------------

LEVEL_WORDS = [
    case("非常满意", RAT, 1, "", EX),
    case("满意", RAT, 2, "", EX),
    case("基本满意", RAT, 3, "", EX),
    case("不满意", RAT, 4, "", EX),
    case("非常不满意", RAT, 5, "", EX),
    case("很满意", RAT, 1, "", EX),
    case("挺满意", RAT, 1, "", EX),
    case("十分满意", RAT, 1, "", EX),
    case("特别满意", RAT, 1, "", EX),
    case("非常非常满意", RAT, 1, "", EX),
    case("比较满意", RAT, 2, "", EX),
    case("满意满意", RAT, 2, "", EX),
    case("满意。。。", RAT, 2, "", EX),
    case("好评", RAT, 2, "", EX),
    case("还可以", RAT, 3, "", EX),
    case("一般", RAT, 3, "", EX),
    case("一般般", RAT, 3, "", EX),
    case("还行", RAT, 3, "", EX),
    case("还行吧", RAT, 3, "", INF),
    case("中评", RAT, 3, "", EX),
    case("不太满意", RAT, 4, "", EX),
    case("不满", RAT, 4, "", EX),
    case("不是很满意", RAT, 4, "", EX),
    case("差评", RAT, 4, "", EX),
    case("很不满意", RAT, 5, "", EX),
    case("特别不满意", RAT, 5, "", EX),
    case("极不满意", RAT, 5, "", EX),
    case("一点也不满意", RAT, 5, "", EX),
    case("五", RAT, 5, "", EX, id="Chinese numeral"),
    case("壹", RAT, 1, "", EX, id="financial numeral"),
]

LONGEST_MATCH = [
    case("我很不满意", RAT, 5, "", INF, id="很不满意 not 很满意 nor 不满意"),
    case("对此非常不满意", RAT, 5, "", INF),
    case("非常满意非常满意", RAT, 1, "", EX),
    case("不满意，但是民警态度还行", UNP, None, "不满意，但是民警态度还行", NON, id="two levels"),
    case("不满意吗", UNP, None, "不满意吗", NON, id="question, not answer"),
]

NEGATION = [
    case("没有不满意", RAT, 2, "", INF, id="double negation → 2"),
    case("没什么不满意的", RAT, 2, "", INF),
    case("并无不满", RAT, 2, "", INF),
    case("不会不满意", RAT, 2, "", INF),
    case("不是不满意，就是太慢", RAT, 2, "就是太慢", INF),
    case("谈不上满意", RAT, 4, "", INF),
    case("说不上满意，等太久", RAT, 4, "等太久", INF),
    case("没有很满意", RAT, 4, "", INF),
    case("并不满意", RAT, 4, "", INF),
    case("不给好评", RAT, 4, "", INF),
    case("不一般", UNP, None, "不一般", NON, id="negated 一般 is no rating"),
    case("不是一般的慢", UNP, None, "不是一般的慢", NON),
]

TRADITIONAL = [
    case("滿意", RAT, 2, "", EX),
    case("不滿意", RAT, 4, "", EX),
    case("非常滿意", RAT, 1, "", EX),
    case("非常不滿意", RAT, 5, "", EX),
    case("基本滿意", RAT, 3, "", EX),
    case("還可以", RAT, 3, "", EX),
    case("不太滿意", RAT, 4, "", EX),
    case("基本滿意，謝謝", RAT, 3, "謝謝", INF, id="comment keeps traditional characters"),
    case("満足", UNP, None, "満足", NON, id="Japanese 満 without 意"),
    case("満意", RAT, 2, "", EX, id="Japanese 満"),
]

# --- Free text ---------------------------------------------------------------------------------

FREE_TEXT = [
    case("4 民警态度很差，让我跑了三趟", RAT, 4, "民警态度很差，让我跑了三趟", INF),
    case("4民警态度很差", RAT, 4, "民警态度很差", INF),
    case("不满意，等了两个小时没人管", RAT, 4, "等了两个小时没人管", INF),
    case("满意，谢谢民警同志", RAT, 2, "谢谢民警同志", INF),
    case("满意\n\n谢谢", RAT, 2, "谢谢", INF),
    case("民警很好，5", RAT, 5, "民警很好", INF),
    case("民警很好，4，等太久", RAT, 4, "民警很好，等太久", INF),
    case("回复3，谢谢", RAT, 3, "谢谢", INF),
    case("回复3 回复3", RAT, 3, "", INF),
    case("4 (民警很好)", RAT, 4, "(民警很好)", INF, id="bracket kept at a seam"),
    case("5，民警态度很差，等了3个小时", RAT, 5, "民警态度很差，等了3个小时", INF),
    case("不满意，等了2个小时", RAT, 4, "等了2个小时", INF),
    case("不满意 等了 2 小时", RAT, 4, "等了 2 小时", INF),
    case("3天了还没办好，不满意", RAT, 4, "3天了还没办好", INF),
    case("第1次来，满意", RAT, 2, "第1次来", INF),
    case("1号窗口的民警很耐心，非常满意", RAT, 1, "1号窗口的民警很耐心", INF),
    case("5-1办的证，满意", RAT, 2, "5-1办的证", INF, id="date is not a rating"),
    case("罚款1,000元，不满意", RAT, 4, "罚款1,000元", INF),
    case("2.5小时才办好，不满意", RAT, 4, "2.5小时才办好", INF),
    case("5星好评", RAT, 2, "5星好评", INF, id="rating word inside a clause stays"),
    case("满意666", RAT, 2, "满意666", INF),
    case("满意👍", RAT, 2, "👍", INF, id="emoji kept in comment"),
    case("满意，希望让群众更满意", RAT, 2, "希望让群众更满意", INF, id="sentence kept whole"),
    case("我觉得还可以吧", RAT, 3, "", INF, id="filler clause goes"),
    case("挺满意的，谢谢", RAT, 1, "谢谢", INF),
    case("我对民警的服务非常满意，感谢！", RAT, 1, "我对民警的服务非常满意，感谢！", INF),
    case("不满意！！！民警态度太差了！！！", RAT, 4, "民警态度太差了！！！", INF),
    case("满意（民警很好）", RAT, 2, "（民警很好）", INF, id="balanced brackets kept"),
    case("取消了预约，不满意", RAT, 4, "取消了预约", INF, id="取消 inside text is no opt-out"),
    case("别再发生这种事，不满意", RAT, 4, "别再发生这种事", INF),
    case("孩子不满18岁，办证很顺利，满意", RAT, 2, "孩子不满18岁，办证很顺利", INF),
]

NO_RATING_TEXT = [
    case("你好，请问身份证什么时候能拿到", UNP, None, "你好，请问身份证什么时候能拿到", NON),
    case("身份证办好了吗？", UNP, None, "身份证办好了吗？", NON, id="question mark kept"),
    case("满意度调查太多了", UNP, None, "满意度调查太多了", NON),
    case("你们满意吗", UNP, None, "你们满意吗", NON),
    case("满不满意？", UNP, None, "满不满意？", NON),
    case("一般要多久能办好", UNP, None, "一般要多久能办好", NON),
    case("不满18岁能办吗", UNP, None, "不满18岁能办吗", NON),
    case("好的", UNP, None, "好的", NON),
    case("谢谢", UNP, None, "谢谢", NON),
    case("😊", UNP, None, "😊", NON),
    case("T恤很好看", UNP, None, "T恤很好看", NON, id="T inside text is no opt-out"),
    case("Thank you", UNP, None, "Thank you", NON),
    case("不要退订", UNP, None, "不要退订", NON, id="negated opt-out"),
    case("我没有退订", UNP, None, "我没有退订", NON),
]

EMPTY = [
    case("", UNP, None, "", NON),
    case("   ", UNP, None, "", NON),
    case("\n\t\r", UNP, None, "", NON),
    case("？？？", UNP, None, "", NON),
    case("!!!", UNP, None, "", NON),
    case("\x00\x07", UNP, None, "", NON, id="control characters only"),
]

# --- Opt-out -----------------------------------------------------------------------------------

OPT_OUT = [
    case("退订", OPT, None, "", NON),
    case("TD", OPT, None, "", NON),
    case("td", OPT, None, "", NON),
    case("Td。", OPT, None, "", NON),
    case("ＴＤ", OPT, None, "", NON, id="full-width TD"),
    case("T", OPT, None, "", NON),
    case("t.", OPT, None, "", NON),
    case("N", OPT, None, "", NON),
    case("取消", OPT, None, "", NON),
    case("退出", OPT, None, "", NON),
    case("退订短信", OPT, None, "", NON),
    case("不要再发", OPT, None, "", NON),
    case("别再发了", OPT, None, "", NON),
    case("別再發了", OPT, None, "", NON, id="traditional 別再發了"),
    case("STOP", OPT, None, "", NON),
    case("Stop.", OPT, None, "", NON),
    case("UNSUBSCRIBE", OPT, None, "", NON),
    case("退订回访", OPT, None, "", NON),
    case("退訂", OPT, None, "", NON, id="traditional 退訂"),
    case(" 退 订 ", OPT, None, "", NON),
    case("TD退订", OPT, None, "", NON),
    case("请退订", OPT, None, "", NON),
    case("我要退订", OPT, None, "", NON),
    case("怎么退订", OPT, None, "", NON),
    case("为什么退订了还发", OPT, None, "为什么退订了还发", NON, id="complaint kept"),
    case("不要再发短信了", OPT, None, "", NON),
    case("please stop", OPT, None, "", NON),
    case("1 退订", OPT, 1, "", EX, id="opt-out wins, rating kept"),
    case("1 TD", OPT, 1, "", EX),
    case("TD 1", OPT, 1, "", EX),
    case("4TD", OPT, 4, "", EX),
    case("5非常不满意 退订", OPT, 5, "", EX),
    case("满意，请退订", OPT, 2, "", INF, id="only filler left besides the keyword"),
    case("非常满意，谢谢！退订", OPT, 1, "谢谢！", INF),
    case("1或5 退订", OPT, None, "1或5", NON, id="ambiguous rating not kept"),
    case("不满意，退订 (民警态度差)", OPT, 4, "(民警态度差)", INF),
]

# --- Robustness --------------------------------------------------------------------------------

ROBUST = [
    case("\x00满意\x07", RAT, 2, "", EX, id="NUL and BEL"),
    case("满意\u202e反转", RAT, 2, "满意反转", INF, id="bidi override dropped"),
    case("\ufeff4", RAT, 4, "", EX, id="BOM"),
    case("4\u200b", RAT, 4, "", EX, id="zero-width space"),
    case("\ud800满意", RAT, 2, "", EX, id="lone surrogate"),
    case("满意\x1b[31m", RAT, 2, "31m", INF, id="ANSI escape"),
]

ALL_CASES = (
    BARE_DIGITS
    + DIGIT_WITH_LEVEL_WORD
    + NOT_RATINGS
    + AMBIGUOUS
    + LEVEL_WORDS
    + LONGEST_MATCH
    + NEGATION
    + TRADITIONAL
    + FREE_TEXT
    + NO_RATING_TEXT
    + EMPTY
    + OPT_OUT
    + ROBUST
)


@pytest.mark.parametrize(("text", "expected"), ALL_CASES)
def test_parse_reply(text, expected):
    check(text, expected)


def test_at_least_sixty_table_cases():
    assert len(ALL_CASES) >= 60


@pytest.mark.parametrize(("rating", "label"), RATING_LABELS.items())
def test_each_label_and_its_digit_parse_to_the_level(rating, label):
    assert parse_reply(label) == ParsedReply(RAT, rating, "", EX)
    assert parse_reply(str(rating)) == ParsedReply(RAT, rating, "", EX)
    assert parse_reply(f"{rating}{label}") == ParsedReply(RAT, rating, "", EX)
    assert parse_reply(f"{label}，谢谢").rating == rating


def test_labels_follow_the_national_scale():
    assert RATING_LABELS == {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}


def test_unsatisfied_is_four_and_five():
    assert [parse_reply(str(n)).unsatisfied for n in range(1, 6)] == [False] * 3 + [True] * 2
    assert not parse_reply("你好").unsatisfied


def test_kinds_are_plain_strings():
    assert [str(k) for k in ReplyKind] == ["rating", "opt_out", "unparsed"]
    assert parse_reply("1").kind == "rating"


def test_long_text_comment_is_cut():
    reply = parse_reply("不满意，" + "民警态度很差" * 200)
    assert reply.kind is RAT and reply.rating == 4
    assert len(reply.comment) == COMMENT_MAX_CHARS
    assert reply.comment.startswith("民警态度很差")


def test_huge_input_is_fast_and_safe():
    started = time.perf_counter()
    for text in ("满意" * 200_000, "1 " * 200_000, "\x00" * 200_000, "🙂" * 200_000):
        reply = parse_reply(text)
        assert len(reply.comment) <= COMMENT_MAX_CHARS
    assert time.perf_counter() - started < 5


def test_none_is_treated_as_empty():
    assert parse_reply(None) == ParsedReply(UNP, None, "", NON)


# --- Properties --------------------------------------------------------------------------------

TOKENS = [
    "", " ", "1", "3", "4", "5", "0", "6", "12", "４", "满意", "不满意", "非常", "很", "不",
    "没有", "一般", "滿意", "退订", "TD", "T", "吗", "，", "。", "【", "】", "个", "分", "回复",
    "或者", "😊", "\x00", "\u202e", "\ufe0f\u20e3", "a", "不满",
]  # fmt: skip


def _assert_well_formed(text: str, reply: ParsedReply) -> None:
    assert isinstance(reply, ParsedReply), text
    assert reply.kind in ReplyKind, text
    assert reply.rating is None or reply.rating in RATING_LABELS, text
    assert reply.confidence in (EXACT, INFERRED, NO_RATING), text
    assert (reply.rating is None) == (reply.confidence == NO_RATING), text
    if reply.kind is RAT:
        assert reply.rating is not None, text
    if reply.kind is UNP:
        assert reply.rating is None, text
    assert isinstance(reply.comment, str) and len(reply.comment) <= COMMENT_MAX_CHARS, text
    assert reply.comment == reply.comment.strip(), text
    assert "\x00" not in reply.comment and "\u202e" not in reply.comment, text


def test_every_short_combination_of_tokens_parses():
    count = 0
    for n in range(1, 4):
        for parts in itertools.product(TOKENS, repeat=n):
            text = "".join(parts)
            _assert_well_formed(text, parse_reply(text))
            count += 1
    assert count == len(TOKENS) + len(TOKENS) ** 2 + len(TOKENS) ** 3


def test_random_unicode_never_raises():
    rng = random.Random(20240501)
    alphabet = [chr(c) for c in range(0, 0x3000, 7)] + list("满意不非常12345TD退订，。")
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        _assert_well_formed(text, parse_reply(text))
    for _ in range(300):
        text = "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 20)))
        _assert_well_formed(text, parse_reply(text))


def test_full_width_and_half_width_agree():
    for text in ("4", "1 退订", "4 态度差", "回复3", "TD", "12", "满意,谢谢"):
        wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
        assert parse_reply(wide).kind == parse_reply(text).kind
        assert parse_reply(wide).rating == parse_reply(text).rating


def test_a_lone_rating_digit_surrounded_by_punctuation_is_exact():
    for digit in "12345":
        for left, right in itertools.product(
            ["", " ", "【", "(", "“"], ["", "。", "】", ")", "！"]
        ):
            assert parse_reply(f"{left}{digit}{right}") == ParsedReply(RAT, int(digit), "", EX)
