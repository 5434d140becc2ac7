"""Three-colour warning pages: the list of current warnings, one warning's evidence and
history, and the reply (申辩). Thin: selectors read, the service writes."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.accountability.access import ACCOUNTABILITY_DECIDE
from minyi.accountability.selectors import case_for_key
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view
from minyi.orgs.choices import UnitKind
from minyi.orgs.roles import Perm, has_perm
from minyi.warnings.models import WarningColour, WarningSubject
from minyi.warnings.selectors import (
    FLAGGED,
    warning_counts_with_green,
    warning_get_visible,
    warning_history_visible_to,
    warning_list_visible_to,
    warning_replies,
)
from minyi.warnings.services import (
    REPLY_MAX_CHARS,
    warning_case_open,
    warning_case_refusal,
    warning_reply,
)


@staff_view(Perm.WARNING_VIEW)
def warning_list(request):
    colour = request.GET.get("colour", "")
    colour = colour if colour in FLAGGED else ""
    subject = request.GET.get("kind", "")
    subject = subject if subject in WarningSubject.values else ""
    warnings = warning_list_visible_to(request.user, colour=colour, subject=subject)
    page = page_of(request, warnings)
    for warning in page:
        warning.lead = warning_lead(warning)
    counts = warning_counts_with_green(request.user)
    return render(
        request,
        "warnings/warning_list.html",
        {
            "page": page,
            "counts": counts,
            "colour": colour,
            "kind": subject,
            "colours": [(c, WarningColour(c).label) for c in FLAGGED],
            "kinds": WarningSubject.choices,
        },
    )


def _chart(warning) -> dict | None:
    evidence = warning.evidence
    if warning.subject == WarningSubject.OFFICER:
        if not evidence.get("path"):
            return None
        return {
            "type": "cusum",
            "path": evidence["path"],
            "h": warning.threshold,
            "orange": warning.threshold / 2,
            "labels": {"s": _("累积和 S"), "red": _("红色阈值 h"), "orange": _("橙色阈值 h/2")},
        }
    if not evidence.get("evaluated"):
        return None
    return {
        "type": "funnel",
        "peers": evidence["funnel"]["peers"],
        "limits": evidence["funnel"]["limits"],
        # Peers and limits are on the business-mix-adjusted rate; so is this unit's point.
        "this": [evidence["answered"], evidence.get("adjusted_rate", evidence["rate"])],
        "target": evidence["target"],
        "labels": {
            "peers": _("同类单位"),
            "this": warning.unit.display_name,
            "target": _("同类平均"),
            "l95": _("95% 控制限"),
            "l998": _("99.8% 控制限"),
            "x": _("参评数"),
            "y": _("满意率"),
        },
    }


def _pct(value) -> str:
    return f"{value * 100:.1f}%" if value is not None else "—"


def warning_lead(warning) -> str:
    """The warning in one sentence a leader reads first; z, S, h and the funnel stay in the
    计算方法 fold below it."""
    e = warning.evidence or {}
    colour = {
        WarningColour.RED: _("红色：须重点督导"),
        WarningColour.ORANGE: _("橙色：须关注"),
        WarningColour.GREEN: _("绿色：正常"),
    }.get(warning.colour, warning.get_colour_display())
    if warning.subject == WarningSubject.OFFICER:
        if not e.get("ratings"):
            return str(colour)
        return _(
            "近 %(days)d 天 %(n)d 条有效评价中，经回访认定民警责任的不满意 %(k)d 条（%(rate)s），"
            "全市平均 %(p0)s。%(colour)s。"
        ) % {
            "days": warning.window_days,
            "n": e["ratings"],
            "k": e.get("at_fault", 0),
            "rate": _pct(e.get("rate")),
            "p0": _pct(e.get("p0")),
            "colour": colour,
        }
    if not e.get("evaluated"):
        return _("评价不足，未与同类单位比较。")
    peers = e.get("funnel", {}).get("peers", [])
    own = e.get("adjusted_rate", e["rate"])  # peers are placed by the mix-adjusted rate
    rank = 1 + sum(1 for _n, rate in peers if rate > own)
    return _("满意率 %(rate)s，同类单位平均 %(target)s，排名 %(rank)d/%(total)d。%(colour)s。") % {
        "rate": _pct(e.get("rate")),
        "target": _pct(e.get("target")),
        "rank": rank,
        "total": len(peers) + 1,
        "colour": colour,
    }


def _detail(
    request, warning, *, reply_text: str = "", reply_error=None, case_error=None, status=200
):
    evidence = warning.evidence
    kind = evidence.get("peer_kind", "")
    return render(
        request,
        "warnings/warning_detail.html",
        {
            "warning": warning,
            "lead": warning_lead(warning),
            "evidence": evidence,
            "peer_kind": UnitKind(kind).label if kind in UnitKind.values else kind,
            "chart": _chart(warning),
            "history": warning_history_visible_to(request.user, warning),
            "replies": warning_replies(warning),
            "can_reply": has_perm(request.user, Perm.WARNING_REPLY) and warning.is_flagged,
            "reply_text": reply_text,
            "reply_error": reply_error,
            "reply_max": REPLY_MAX_CHARS,
            "case": case_for_key(request.user, f"warning:{warning.pk}"),
            "can_open_case": warning_case_refusal(request.user, warning) is None,
            "case_error": case_error,
        },
        status=status,
    )


@staff_view(Perm.WARNING_VIEW)
def warning_detail(request, pk):
    return _detail(request, warning_get_visible(request.user, pk))


@staff_view(Perm.WARNING_REPLY)
@require_POST
def warning_reply_view(request, pk):
    warning = warning_get_visible(request.user, pk)
    text = request.POST.get("text", "")
    try:
        warning_reply(actor=request.user, warning=warning, text=text)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        # The form again, with what was typed and why it was refused.
        return _detail(request, warning, reply_text=text[: REPLY_MAX_CHARS * 2], reply_error=exc)
    messages.success(request, _("申辩已提交。"))
    return redirect("warnings:warning_detail", pk=warning.pk)


@staff_view(ACCOUNTABILITY_DECIDE)
@require_POST
def warning_case_open_view(request, pk):
    """启动问责: a supervisor above the unit opens an accountability case from a red warning."""
    warning = warning_get_visible(request.user, pk)
    try:
        case = warning_case_open(actor=request.user, warning=warning)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        return _detail(request, warning, case_error=exc, status=exc.status)
    messages.success(request, _("已启动问责，等待被问责单位负责人提交书面说明。"))
    return redirect("accountability:case_detail", pk=case.pk)
