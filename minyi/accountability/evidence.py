"""The case page's reading of a case's evidence (`AccountabilityCase.evidence`), whichever
opened it: one list of figures (each with its interval and sample), the reasons, the raw
"ranked last" for reference, and the rest kept as it was stored.

Two shapes are known:
- the general one, documented in services.case_open (`figures`, `reasons`, `raw_last`,
  `summary`), which a warning's case uses;
- the assessment gate's (minyi.assessment.compute.accountability_open): `results`, one per
  assessment that marked the unit last (label, peer group, composite with its interval, rank
  with its 90% interval and the raw rank, P(last), P(bottom 3), adjusted z, n_eff and the
  indicators each with value, interval, n and n_eff), `callback_reasons` and `opinions`.
"""

import json
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

# Keys this module lays out; anything else is shown as stored, in a fold.
_KNOWN = {"summary", "figures", "reasons", "raw_last", "results", "callback_reasons"}


@dataclass
class EvidenceDisplay:
    summary: str = ""
    figures: list[dict] = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)  # {"label"|"tag", "count", "text"}
    raw_last: dict | None = None  # {"count", "labels"}: for reference only
    raw_ranks: list[dict] = field(default_factory=list)  # {"label", "rank", "last"}
    other: str = ""  # the rest, as JSON


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _three(values) -> tuple:
    """The first three items of a stored [value, low, high] (None where missing)."""
    padded = [*values, None, None, None] if isinstance(values, list | tuple) else [None] * 3
    return padded[0], padded[1], padded[2]


def _probability(label: str, value) -> str:
    return f"{label} {value:.2f}" if isinstance(value, int | float) else ""


def _result_figures(result: dict) -> list[dict]:
    """One assessment result of the gate's shape as figures."""
    label = result.get("label", "")
    value, low, high = _three(result.get("composite"))
    rank = result.get("rank") or {}
    rank_low, rank_high, _unused = _three(rank.get("interval"))
    gate = "；".join(
        p
        for p in (
            _probability("P(末位)", result.get("p_last")),
            _probability("P(末三位)", result.get("p_bottom3")),
            _probability(_("校正后 z"), result.get("z_adjusted")),
        )
        if p
    )
    figures = [
        {
            "label": _("%(a)s · 综合得分") % {"a": label},
            "kind": "number",
            "value": _number(value),
            "low": _number(low),
            "high": _number(high),
            "n_eff": _number(result.get("n_eff")),
            "note": result.get("peer_group", ""),
        },
        {
            "label": _("%(a)s · 名次（中位）") % {"a": label},
            "kind": "rank",
            "value": _number(rank.get("median")),
            "rank_low": rank_low,
            "rank_high": rank_high,
            "peers": result.get("peers"),
            "n_eff": _number(result.get("n_eff")),
            "note": gate,
        },
    ]
    for code, figure in (result.get("indicators") or {}).items():
        figures.append(
            {
                "label": f"{label} · {figure.get('label') or code}",
                "kind": "rate",
                "value": _number(figure.get("value")),
                "low": _number(figure.get("low")),
                "high": _number(figure.get("high")),
                "n": figure.get("n"),
                "n_eff": _number(figure.get("n_eff")),
                "note": _("权重 %(w)s") % {"w": figure["weight"]} if figure.get("weight") else "",
            }
        )
    return figures


def evidence_display(evidence: dict | None) -> EvidenceDisplay:
    evidence = evidence or {}
    shown = EvidenceDisplay(
        summary=str(evidence.get("summary") or ""),
        figures=[f for f in evidence.get("figures") or [] if isinstance(f, dict)],
        reasons=[r for r in evidence.get("reasons") or [] if isinstance(r, dict)],
        raw_last=evidence.get("raw_last") if isinstance(evidence.get("raw_last"), dict) else None,
    )
    for result in evidence.get("results") or []:
        if not isinstance(result, dict):
            continue
        shown.figures.extend(_result_figures(result))
        raw = (result.get("rank") or {}).get("raw")
        if raw is not None:
            shown.raw_ranks.append(
                {"label": result.get("label", ""), "rank": raw, "last": result.get("raw_last")}
            )
    shown.reasons.extend(
        {"tag": r.get("tag", ""), "count": r.get("count")}
        for r in evidence.get("callback_reasons") or []
        if isinstance(r, dict)
    )
    rest = {k: v for k, v in evidence.items() if k not in _KNOWN}
    shown.other = json.dumps(rest, ensure_ascii=False, indent=1) if rest else ""
    return shown
