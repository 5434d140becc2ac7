"""Test data for accountability cases: a case opened through the service, as the assessment's
gate or a warning would open it."""

from minyi.accountability.models import CaseTrigger
from minyi.accountability.services import case_open

FIGURES = [
    {
        "label": "满意度 2026 第1轮",
        "kind": "rate",
        "value": 0.712,
        "low": 0.664,
        "high": 0.756,
        "n": 400,
        "n_eff": 352.4,
    },
    {
        "label": "综合得分名次",
        "kind": "rank",
        "value": 59.0,
        "rank_low": 55,
        "rank_high": 60,
        "peers": 60,
        "n_eff": 352.4,
    },
]


def open_case(unit, *, key=None, trigger=CaseTrigger.ASSESSMENT, evidence=None, **kwargs):
    return case_open(
        unit=unit,
        trigger=trigger,
        source={"assessments": [1, 2], "label": "2026年两次考评"},
        evidence=evidence
        if evidence is not None
        else {
            "summary": "两次考评中末三位概率均不低于 0.8",
            "figures": FIGURES,
            "reasons": [{"label": "态度", "count": 7, "text": "群众反映电话13812345678无人接"}],
            "raw_last": {"count": 2, "labels": ["2026上半年", "2026下半年"]},
        },
        rule_version="assess-2026.1/stats-2026.1",
        key=key or f"assessment:2026:{unit.pk}",
        **kwargs,
    )
