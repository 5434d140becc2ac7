"""Test data for polls: a wave, respondent files as a polling firm sends them, margins."""

import csv
import io
import random
from datetime import date

from minyi.polls.models import Poll, PollSource, PopulationMargin

HEADER = [
    "单位代码",
    "样本编号",
    "年龄段",
    "性别",
    "户籍",
    "见警率",
    "服务态度",
    "熟悉率",
    "满意度",
    "安全感",
    "意见建议",
    "答卷日期",
]
AGES = ["18-29", "30-44", "45-59", "60+"]
SEXES = ["男", "女"]
RESIDENCES = ["户籍", "流动"]
# A population of known shares per dimension (counts), used as every unit's margins.
MARGINS = {
    "age_band": {"18-29": 2000, "30-44": 3000, "45-59": 3000, "60+": 2000},
    "sex": {"m": 5100, "f": 4900},
    "residence": {"registered": 7000, "floating": 3000},
}


def make_poll(world, *, unit=None, year=2026, wave=1, **extra) -> Poll:
    fields = {
        "title": f"{year}年第{wave}轮民意测评",
        "year": year,
        "wave": wave,
        "source": PollSource.IMPORTED,
        "unit": unit or world.city,
        "fielded_from": date(year, 5, 1),
        "fielded_to": date(year, 5, 31),
        "pollster": "测试调查公司",
    }
    return Poll.objects.create(**(fields | extra))


def respondent_rows(counts: dict[str, int], *, seed: int = 0, prefix: str = "R", rate=0.8):
    """Rows of a respondent file: `counts` is unit code → respondents. The sample leans
    towards the young and the registered (so raking has work to do, within the trimming
    bounds)."""
    rng = random.Random(seed)
    rows, serial = [], 0
    for code, n in counts.items():
        for _i in range(n):
            serial += 1
            answers = ["是" if rng.random() < rate else "否" for _k in range(5)]
            rows.append(
                [
                    code,
                    f"{prefix}{serial:06d}",
                    rng.choices(AGES, weights=[3, 3, 2, 2])[0],
                    rng.choice(SEXES),
                    rng.choices(RESIDENCES, weights=[3, 1])[0],
                    *answers,
                    "",
                    f"2026-05-{rng.randint(1, 31):02d}",
                ]
            )
    return rows


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def add_margins(unit, *, year=2026, margins=MARGINS):
    PopulationMargin.objects.bulk_create(
        PopulationMargin(
            unit=unit, year=year, dimension=dimension, category=category, population=population
        )
        for dimension, categories in margins.items()
        for category, population in categories.items()
    )
