"""Tagging benchmark (capability 7, insight): citizens' texts tagged per second, short and long,
against jieba's segmentation of the same texts in the same run.

Run from the repository root: `.venv/bin/python bench/tagging.py` (or `make bench-tagging`);
`--tenth` for a tenth of the texts. No PostgreSQL: the tagger's active model lives in a
throwaway SQLite file.

1. Texts, seeded, from sentence fragments written here (not the demo's): `--short` texts of
   10–60 characters like a callback note or an SMS reply (default 20,000: complaints of every
   reason, praise, "1", an emoji, a mobile number), and `--long` letters of 800–3,000
   characters (default 1,000: a salutation, the story, one to three complaint sentences among
   many, a closing), `--huge` of them 20,000 characters long (default 10).
2. A model trained as the insight app trains it (`tagging.train`) on 2,200 other texts of the
   same kind, labelled by the fragments they were built from, stored as the active
   `TaggerModel` in the SQLite file (only that table is created). The tagger reads it through
   its own cache, as a web worker does.
3. Warm-up, outside the clocks: the tagger tags a few texts (its jieba, with the keywords
   added, and the model are loaded), and the baseline, `jieba.Tokenizer()`, is initialised and
   segments a few texts.
4. Measured: `tagging.tag_text(text)` for every text, and the baseline
   `tokenizer.lcut(text)` for the same texts. The texts go in 10 chunks per kind, and each
   chunk is timed on both sides, one after the other (the order alternates), so that both
   see the same load on a shared machine.
5. Prints the table (texts, characters, seconds, texts/s, characters/s) and one line:
   `tagging: short <a> texts/s; long <b> texts/s; jieba short <c> texts/s, long <d> texts/s;
   ratio short <a/c>, long <b/d> (aim >= 0.3)`.

Bounded by --timeout (default 900 s); the SQLite file is removed at the end, on errors and on
Ctrl-C too. Exit status 0 done, 1 failed, 2 timed out, 130 interrupted.
"""

import argparse
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import common

CHUNKS = 10
TRAIN_SHORT, TRAIN_LONG = 2000, 200

# --- Fragments ---------------------------------------------------------------------------
# Complaint cores per reason tag: what a short note says, and the sentence a letter hides
# among the rest. Deliberately in other words than the keyword list where possible.
CORES: dict[str, tuple[str, ...]] = {
    "attitude": (
        "窗口那个民警说话很冲",
        "问了两句就不耐烦了",
        "接待的人一直低头玩手机不理人",
        "态度太差了",
        "语气很凶，像审犯人一样",
        "我还没说完就被打断，让我别啰嗦",
        "那个女警一脸不高兴，爱答不理的",
        "態度太差了，問什麼都不耐煩",
    ),
    "efficiency": (
        "办个居住证等了一上午",
        "排队排了两个多小时",
        "材料交了一个月还没办好",
        "十几个人就开了一个窗口",
        "手续太繁琐，签了七八个字",
        "中午前说系统忙，让下午再等",
        "排隊排了兩個多小時",
        "办事效律太低，磨磨蹭蹭的",
    ),
    "multiple_trips": (
        "跑了三趟还没办成",
        "每次去都说缺一样材料",
        "让我明天再来一趟",
        "来回跑了好几次",
        "第一次没说清楚，又让我回家拿户口本",
    ),
    "conduct": (
        "查车的时候没出示证件",
        "罚了款也没给开票",
        "拉扯的时候推了我一把",
        "没穿制服就上门来查",
        "一样的情况，别人没罚只罚我，不公平",
        "笔录写的和我说的不一样",
    ),
    "outcome": (
        "电动车丢了到现在也没找回",
        "纠纷调解不成就不管了",
        "报了案一直没有下文",
        "问题还在，根本没人管",
        "楼上噪音还是老样子",
        "对方打了人，第二天就放了",
    ),
    "response_speed": (
        "报警后四十分钟才来人",
        "打110半天没人来",
        "等交警等了一个多小时",
        "出警太慢了",
        "人都跑了警察才到",
    ),
    "integrity": (
        "听说找关系就能先办",
        "有人插队他们也不管",
        "话里话外暗示我要表示一下",
        "收了钱才给办",
        "对方和所里的人是亲戚",
    ),
    "explanation": (
        "没人告诉我要带什么材料",
        "问进度也没有回复",
        "两个窗口说法前后不一样",
        "处罚的依据也不讲清楚",
        "不予立案也不给个理由",
    ),
    "facilities": (
        "大厅空调坏了热得要命",
        "门口停车位太少",
        "排号机老是坏",
        "厕所很脏没人打扫",
        "网上预约老是闪退",
    ),
}
# Short replies that carry no reason (the tagger answers "other" or nothing).
NO_REASON = (
    "满意",
    "还行吧",
    "谢谢",
    "1",
    "挺好的，没意见",
    "不太满意",
    "一般般吧",
    "😊",
    "👍👍👍",
    "13812345678",
    "……",
    "對民警的服務還算滿意",
    "办事挺快的，点个赞",
)
SHORT_OPENINGS = (
    "",
    "",
    "上周去派出所办户口，",
    "那天去车管所，",
    "你好，",
    "说实话，",
    "办身份证的时候",
    "报警那次",
    "我觉得",
    "去年到现在",
)
SHORT_CLOSINGS = (
    "",
    "。",
    "！",
    "，希望改进",
    "，太让人失望了",
    "😡",
    "。就这样",
    "，麻烦领导管管",
)

SALUTATIONS = (
    "尊敬的领导：您好！",
    "市公安局领导：",
    "尊敬的局长：",
    "各位领导好，",
    "致分局纪委：",
)
INTRODUCTIONS = (
    "我是城东区朝阳街道的居民，姓王，今年五十多岁，在这里住了二十多年。",
    "我叫李某某，是一名外地来本市打工的普通工人，在工业园区上班。",
    "本人是退休教师，家住城西区和平路，平时很少给政府添麻烦。",
    "我是一名个体户，在老城区菜市场做小生意，已经十几年了。",
)
STORY = (
    "事情是这样的，今年三月份我家楼下开了一家烧烤店，每天晚上营业到凌晨两三点。",
    "当时是下午三点左右，我带着孩子从学校回家，走到路口的时候发生了这件事。",
    "我先后打过市民热线，也去过街道办和社区居委会，他们都说这事归派出所管。",
    "我把当时的情况写下来，希望领导能抽时间看一看。",
    "那天来的是两位年轻的民警，其中一位戴着眼镜，另一位个子比较高。",
    "我家里老人身体不好，晚上睡不着觉，血压一直很高，医生说不能受刺激。",
    "对方当时情绪很激动，在小区门口大声吵闹，围了很多人看。",
    "我把监控视频拷了下来，里面能清楚地看到对方的车牌和长相。",
    "第二天我又去了一次，值班的同志让我在大厅等，说负责的民警出去办案了。",
    "后来社区网格员也来过一次，做了登记，说会向上反映。",
    "我也理解基层民警工作忙、人手少，平时也确实很辛苦。",
    "这件事前前后后拖了将近两个月，我已经请了好几次假。",
    "我在网上查过相关规定，也咨询过律师朋友，他们说这种情况应该立案。",
    "邻居们也都知道这件事，有好几户人家和我的情况差不多。",
    "我并不是想闹事，只是希望事情能得到公正的处理。",
    "对方后来托人带话给我，说这点事不值得闹大，让我别再追究了。",
    "我们小区是老小区，没有物业，路灯坏了好几年也没人修。",
    "说句实在话，我对咱们公安队伍一直是信任的，这次是真的寒心了。",
    "后来听说通报里提到了这个事情，但是里面写的情况和实际不符。",
    "我家孩子今年要中考，每天晚上都被吵得没法复习。",
)
CLOSINGS = (
    "希望领导能重视这个问题，给我一个说法。此致敬礼！",
    "恳请领导过问此事，依法处理。谢谢！",
    "以上情况句句属实，如有不实，本人愿意承担责任。",
    "盼复。一位普通市民。",
)


def short_text(rng: random.Random) -> tuple[str, list[str]]:
    """A callback note or an SMS reply of 10–60 characters, and the tags it was built from.
    One in eight carries no reason; a few are shorter than 10 (a bare "1", an emoji), as
    replies are."""
    if rng.random() < 0.125:
        return rng.choice(NO_REASON), []
    tags = rng.sample(sorted(CORES), 2 if rng.random() < 0.3 else 1)
    body = "，".join(rng.choice(CORES[t]) for t in tags)
    text = rng.choice(SHORT_OPENINGS) + body + rng.choice(SHORT_CLOSINGS)
    while len(text) < 10:
        text += rng.choice(SHORT_CLOSINGS[1:])
    return text[:60], tags


def letter(rng: random.Random, length: int) -> tuple[str, list[str]]:
    """A letter of about `length` characters: salutation, introduction, the story with one to
    three complaint sentences somewhere in it, closing."""
    tags = rng.sample(sorted(CORES), rng.choice((1, 1, 2, 3)))
    cores = [f"最让我不能接受的是，{rng.choice(CORES[t])}。" for t in tags]
    head = rng.choice(SALUTATIONS) + rng.choice(INTRODUCTIONS)
    tail = rng.choice(CLOSINGS)
    story: list[str] = []
    size = len(head) + len(tail) + sum(len(c) for c in cores)
    while size < length:
        sentence = rng.choice(STORY)
        story.append(sentence)
        size += len(sentence)
    for core in cores:
        story.insert(rng.randrange(len(story) + 1), core)
    paragraphs, line = [], []
    for sentence in story:
        line.append(sentence)
        if rng.random() < 0.2:
            paragraphs.append("".join(line))
            line = []
    paragraphs.append("".join(line))
    return "\n".join([head, *paragraphs, tail]), tags


def corpus(rng: random.Random, short: int, long: int, huge: int):
    """(short texts, long texts, labels of all of them in that order)."""
    shorts = [short_text(rng) for _ in range(short)]
    longs = [letter(rng, rng.randint(800, 3000)) for _ in range(long - huge)]
    longs += [letter(rng, 20_000) for _ in range(huge)]
    rng.shuffle(longs)
    return [t for t, _ in shorts], [t for t, _ in longs], [tags for _, tags in shorts + longs]


# --- Run ---------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", type=int, default=20_000)
    parser.add_argument("--long", type=int, default=1_000)
    parser.add_argument("--huge", type=int, default=10, help="of the long, 20,000 characters")
    parser.add_argument("--tenth", action="store_true", help="a tenth of the texts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args(argv)
    if args.tenth:
        args.short, args.long = max(1, args.short // 10), max(1, args.long // 10)
        args.huge = max(1, args.huge // 10)
    args.huge = min(args.huge, args.long)
    return args


@dataclass
class Side:
    """One side's clock over one kind of text."""

    texts: int = 0
    chars: int = 0
    seconds: float = 0.0


@dataclass
class Result:
    machine: str
    args: argparse.Namespace
    tagger: str = ""
    model: str = ""
    sides: dict[tuple[str, str], Side] = field(default_factory=dict)
    short_tags: Counter = field(default_factory=Counter)


def install_model(texts: list[str], labels: list[list[str]]) -> str:
    """Train the tagger on the texts, store it as the active model in the SQLite file (only
    the TaggerModel table exists) and return a line for the report."""
    from django.db import connection

    from minyi.insight import tagging
    from minyi.insight.models import TaggerModel

    with connection.schema_editor() as editor:
        editor.create_model(TaggerModel)
    connection.disable_constraint_checking()  # trained_by refers to a user table not created
    started = time.perf_counter()
    trained = tagging.train(texts, [tags or ["other"] for tags in labels], seed=0)
    TaggerModel.objects.create(
        version=1,
        n_train=trained.n_train,
        n_test=trained.n_test,
        metrics=trained.metrics,
        params=trained.params,
        weights=trained.weights,
        is_active=True,
    )
    tagging.clear_cache()
    seconds = time.perf_counter() - started
    common.log(f"model trained on {len(texts)} texts in {seconds:.1f} s")
    return (
        f"model: {len(trained.learned)} tags learned, {len(trained.weights['terms'])} terms, "
        f"trained on {trained.n_train} texts"
    )


def timed(func: Callable[[str], object], texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        func(text)
    return time.perf_counter() - started


def run(args, result: Result) -> None:
    import django

    django.setup()
    import jieba

    from minyi.insight import tagging

    jieba.setLogLevel(logging.WARNING)
    rng = random.Random(args.seed)  # noqa: S311 - reproducible texts, not a secret
    train_short, train_long, train_labels = corpus(rng, TRAIN_SHORT, TRAIN_LONG, 0)
    result.model = install_model(train_short + train_long, train_labels)
    shorts, longs, _labels = corpus(rng, args.short, args.long, args.huge)

    tag, result.tagger = tagging.tag_text, "tagging.tag_text"
    baseline = jieba.Tokenizer()
    started = time.perf_counter()
    baseline.initialize()
    for text in shorts[:20] + longs[:2]:  # load the tagger's jieba and model; warm both
        tag(text)
        baseline.lcut(text)
    common.log(f"warmed up in {time.perf_counter() - started:.1f} s")
    sides = {"tagger": tag, "jieba": baseline.lcut}

    for kind, texts in (("short", shorts), ("long", longs)):
        for side in sides:
            result.sides[kind, side] = Side(texts=len(texts), chars=sum(len(t) for t in texts))
        for i in range(CHUNKS):
            chunk = texts[i::CHUNKS]
            order = list(sides) if i % 2 == 0 else list(sides)[::-1]
            for side in order:
                result.sides[kind, side].seconds += timed(sides[side], chunk)
        common.log(f"{kind}: done")
    for text in shorts:  # outside the clocks: what the tagger made of the short texts
        outcome = tag(text)
        tags = outcome.tags
        result.short_tags["reason" if set(tags) - {"other"} else (tags[0] if tags else "")] += 1


def print_report(r: Result) -> None:
    args = r.args
    common.print_heading(r.machine)
    print(
        f"texts: {args.short} short (10–60 characters), {args.long} long (800–3,000 "
        f"characters, {args.huge} of 20,000)" + ("; --tenth" if args.tenth else "")
    )
    print(f"tagger: {r.tagger}; {r.model}")
    print(f"{'':<28} {'texts':>7} {'chars':>10} {'seconds':>9} {'texts/s':>9} {'chars/s':>10}")
    for (kind, side), s in r.sides.items():
        label = f"{kind}: " + ("tagger" if side == "tagger" else "jieba lcut (baseline)")
        print(
            f"{label:<28} {s.texts:>7} {s.chars:>10} {s.seconds:>9.2f} "
            f"{s.texts / s.seconds:>9.0f} {s.chars / s.seconds:>10.0f}"
        )
    counts = r.short_tags
    print(
        f"short texts tagged with a reason: {counts['reason']}, other: {counts['other']}, "
        f"nothing: {counts['']} (built with none: about 1 in 8)"
    )

    def rate(kind, side):
        s = r.sides[kind, side]
        return s.texts / s.seconds

    print(
        f"tagging: short {rate('short', 'tagger'):.0f} texts/s; "
        f"long {rate('long', 'tagger'):.1f} texts/s; "
        f"jieba short {rate('short', 'jieba'):.0f} texts/s, long {rate('long', 'jieba'):.1f} "
        f"texts/s; ratio short {rate('short', 'tagger') / rate('short', 'jieba'):.2f}, "
        f"long {rate('long', 'tagger') / rate('long', 'jieba'):.2f} (aim >= 0.3)"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    result = Result(machine=common.machine_at_start(), args=args)
    done = False
    with common.Session("minyi_bench_tagging", args.timeout) as session:
        database = session.workdir / "tagging.sqlite3"
        common.configure_environment(
            session.db_name, {"MINYI_DATABASE_URL": f"sqlite:///{database}"}
        )
        run(args, result)
        done = True
    if done and session.status == 0:
        print_report(result)
    return session.status


if __name__ == "__main__":
    sys.exit(main())
