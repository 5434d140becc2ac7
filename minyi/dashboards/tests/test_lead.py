"""The ranking speaks first in a sentence (issue 12, item 10; issue 14 item 8): "满意率 92.1%
（按业务结构调整后 93.0%），同类单位平均 95.4%，第 7 名 / 共 9 个同类单位（可能区间 4–9）";
shrinkage, P(last) and the funnel sit in 计算方法与明细."""

from types import SimpleNamespace

from minyi.dashboards.views import ranking_lead


def _row(name, **kw):
    row = {
        "unit": SimpleNamespace(name=name),
        "ranked": True,
        "rate": 0.921,
        "adjusted": 0.93,
        "group": {"key": 1, "target": 0.954, "ranked": 9},
        "median_rank": 7,
        "rank_low": 4,
        "rank_high": 9,
        "probably_last": False,
        "flag": "",
        "z": None,
    }
    row.update(kw)
    return row


def test_each_ranked_unit_gets_its_sentence():
    ranking = {
        "adjusted": True,
        "target": 0.954,
        "ranked": 9,
        "rows": [_row("府山所"), _row("塔山所", ranked=False)],
    }
    lines = ranking_lead(ranking)
    assert [line["text"] for line in lines] == [
        "满意率 92.1%（按业务结构调整后 93.0%），同类单位平均 95.4%，"
        "第 7 名 / 共 9 个同类单位（可能区间 4–9）。"
    ]


def test_with_one_business_type_no_adjusted_rate_is_said():
    ranking = {"adjusted": False, "target": 0.954, "ranked": 9, "rows": [_row("府山所")]}
    (line,) = ranking_lead(ranking)
    assert line["text"].startswith("满意率 92.1%，同类单位平均 95.4%，第 7 名")


def test_probably_last_is_said_in_words():
    ranking = {
        "adjusted": True,
        "target": 0.954,
        "ranked": 9,
        "rows": [_row("府山所", probably_last=True)],
    }
    (line,) = ranking_lead(ranking)
    assert line["text"].endswith("很可能排在末位。") and line["warn"]


def test_no_ranking_no_sentence():
    assert ranking_lead(None) == []
    assert ranking_lead({"adjusted": True, "target": None, "ranked": 0, "rows": []}) == []


def test_a_long_ranking_shows_the_top_and_the_bottom():
    rows = [_row(f"所{i}", median_rank=i) for i in range(1, 21)]
    lines = ranking_lead({"adjusted": True, "target": 0.954, "ranked": 20, "rows": rows})
    names = [line["unit"].name if line["unit"] else "…" for line in lines]
    assert names == ["所1", "所2", "所3", "…", "所16", "所17", "所18", "所19", "所20"]
