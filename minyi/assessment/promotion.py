"""The promotion review sheet (干部竞聘考察表, DOMAIN.md capability 2; issue 14 item 6): for a
candidate officer, every unit they led (assessment.Tenure) and, per tenure, that unit's
public figures: each poll wave's estimate per indicator (weighted rate with its Wilson
interval, n and the effective sample size n_eff) and each approved or published assessment
(composite with its interval, rank with its 90% rank interval among the peer group). Every
figure has its interval and sample beside it; a cell under the minimum sample says so and
shows no rate.

Supervisors only (督察/局领导); the officer must be in the reviewer's subtree, and the figures
of a unit outside it are not shown (a higher tier sees them). The sheet is a page, an Excel
workbook and a PDF; each download is audited (AuditAction.EXPORT).
"""

import io
from dataclasses import dataclass, field
from datetime import date
from html import escape

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import include, path
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from minyi.assessment.models import Assessment, AssessmentResult, AssessmentStatus, Tenure
from minyi.core.audit import audit_record
from minyi.core.errors import NotFound
from minyi.core.models import AuditAction
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view
from minyi.orgs.models import Officer
from minyi.orgs.roles import Perm
from minyi.orgs.selectors import officer_list_visible_to, scope_q
from minyi.polls.models import Indicator, Poll, PollEstimate

# Supervisors review candidates (orgs.roles).
PROMOTION_REVIEW = Perm.PROMOTION_REVIEW
# Assessments a promotion may cite: approved by a supervisor (published ones included).
CITED_STATUSES = (AssessmentStatus.APPROVED, AssessmentStatus.PUBLISHED)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_FONT = "STSong-Light"  # reportlab's built-in CID font for Simplified Chinese
pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))


# --- The sheet's data -----------------------------------------------------------------------


@dataclass
class PollFigure:
    """One unit × indicator × wave estimate."""

    wave: str
    fielded: str
    indicator: str
    n: int
    n_eff: float
    rate: float | None
    low: float | None
    high: float | None
    adequate: bool  # n_eff at or above the minimum: the rate may be read
    partial: bool  # fielded partly outside the tenure


@dataclass
class Standing:
    """One unit in one cited assessment: the stored result (composite with its interval, rank
    with its 90% interval, n_eff; no rank when not ranked), with its peers counted."""

    result: AssessmentResult
    peers: int  # ranked units of the result's peer group in that assessment
    partial: bool  # the assessment's period runs partly outside the tenure

    @property
    def label(self) -> str:
        return self.result.assessment.label

    @property
    def period(self) -> str:
        a = self.result.assessment
        return _period(a.period_start, a.period_end)

    @property
    def ranked(self) -> bool:
        return self.result.ranked and self.result.median_rank is not None


@dataclass
class TenureBlock:
    tenure: Tenure
    in_scope: bool  # the unit lies in the reviewer's subtree: its figures are shown
    polls: list[PollFigure] = field(default_factory=list)
    standings: list[Standing] = field(default_factory=list)

    @property
    def period(self) -> str:
        return _period(self.tenure.started_on, self.tenure.ended_on)


@dataclass
class PromotionSheet:
    officer: Officer
    blocks: list[TenureBlock]
    min_n_eff: int
    generated_at: object


def _period(start: date, end: date | None) -> str:
    return f"{start:%Y-%m-%d} — {f'{end:%Y-%m-%d}' if end else _('至今')}"


def _overlaps(start: date, end: date | None) -> Q:
    """Rows whose [period_start, period_end] meets the tenure (prefix: field names)."""
    q = Q(period_end__gte=start)
    return q & Q(period_start__lte=end) if end else q


def promotion_officers(user, *, search: str = "") -> QuerySet[Officer]:
    """Officers of the reviewer's subtree, those with recorded tenures first."""
    tenures = (
        Tenure.objects.filter(officer=OuterRef("pk"))
        .values("officer")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        officer_list_visible_to(user, search=search)
        .annotate(tenure_count=Coalesce(Subquery(tenures, output_field=IntegerField()), Value(0)))
        .order_by("-tenure_count", "unit__path", "name", "pk")
    )


def promotion_officer_get(user, pk) -> Officer:
    officer = Officer.objects.filter(scope_q(user), pk=pk).select_related("unit").first()
    if officer is None:
        raise NotFound()
    return officer


def _poll_figures(tenure: Tenure, min_n_eff: int) -> list[PollFigure]:
    start, end = tenure.started_on, tenure.ended_on
    polls = Q(poll__fielded_to__gte=start, poll__weighted_at__isnull=False)
    if end:
        polls &= Q(poll__fielded_from__lte=end)
    estimates = (
        PollEstimate.objects.filter(polls, unit_id=tenure.unit_id)
        .select_related("poll")
        .order_by("poll__year", "poll__wave", "poll_id")
    )
    order = {value: i for i, value in enumerate(Indicator.values)}
    rows = sorted(
        estimates, key=lambda e: (e.poll.year, e.poll.wave, e.poll_id, order[e.indicator])
    )
    figures = []
    for e in rows:
        poll: Poll = e.poll
        adequate = e.rate is not None and e.n_eff >= min_n_eff
        figures.append(
            PollFigure(
                wave=f"{poll.title}（{poll.year} 第{poll.wave}轮）",
                fielded=_period(poll.fielded_from, poll.fielded_to),
                indicator=str(Indicator(e.indicator).label),
                n=e.n,
                n_eff=e.n_eff,
                rate=e.rate if adequate else None,
                low=e.low if adequate else None,
                high=e.high if adequate else None,
                adequate=adequate,
                partial=poll.fielded_from < start or (end is not None and poll.fielded_to > end),
            )
        )
    return figures


def _standings(tenure: Tenure) -> list[Standing]:
    start, end = tenure.started_on, tenure.ended_on
    cited = Assessment.objects.filter(_overlaps(start, end), status__in=CITED_STATUSES)
    results = list(
        AssessmentResult.objects.filter(assessment__in=cited, unit_id=tenure.unit_id)
        .select_related("assessment")
        .order_by("assessment__period_end", "assessment_id")
    )
    peers = {
        (row["assessment_id"], row["peer_group_id"]): row["n"]
        for row in AssessmentResult.objects.filter(
            assessment_id__in=[r.assessment_id for r in results], ranked=True
        )
        .values("assessment_id", "peer_group_id")
        .annotate(n=Count("id"))
    }
    return [
        Standing(
            result=r,
            peers=peers.get((r.assessment_id, r.peer_group_id), 0),
            partial=r.assessment.period_start < start
            or (end is not None and r.assessment.period_end > end),
        )
        for r in results
    ]


def promotion_sheet(user, officer: Officer) -> PromotionSheet:
    """The review sheet of `officer` (already read through promotion_officer_get)."""
    min_n_eff = settings.POLL_MIN_N_EFF
    visible = scope_q(user, "unit__")
    in_scope = set(Tenure.objects.filter(visible, officer=officer).values_list("pk", flat=True))
    blocks = []
    for tenure in Tenure.objects.filter(officer=officer).select_related("unit"):
        block = TenureBlock(tenure=tenure, in_scope=tenure.pk in in_scope)
        if block.in_scope:
            block.polls = _poll_figures(tenure, min_n_eff)
            block.standings = _standings(tenure)
        blocks.append(block)
    return PromotionSheet(
        officer=officer, blocks=blocks, min_n_eff=min_n_eff, generated_at=timezone.now()
    )


# --- The same rows for Excel and PDF --------------------------------------------------------


def _pct(value) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _interval(low, high, *, rate: bool) -> str:
    if low is None or high is None:
        return ""
    if rate:
        return f"{low * 100:.1f}%–{high * 100:.1f}%"
    return f"{low:.2f}–{high:.2f}"


def sheet_headers() -> list[str]:
    return [
        _("任职单位"),
        _("任职期间"),
        _("类别"),
        _("测评轮次 / 考评"),
        _("指标"),
        _("数值"),
        _("95%区间"),
        _("样本量 n"),
        _("有效样本量"),
        _("名次（90%区间）/ 同类单位数"),
        _("说明"),
    ]


def sheet_rows(sheet: PromotionSheet) -> list[list]:
    """One row per figure: text, except the rate and composite (numbers, for Excel)."""
    rows: list[list] = []
    too_few = _("有效样本量不足 %(n)d，不显示比率") % {"n": sheet.min_n_eff}
    for block in sheet.blocks:
        unit, period = block.tenure.unit.name, block.period
        if not block.in_scope:
            rows.append([unit, period, "", "", "", "", "", "", "", "", _("不在本级管辖范围")])
            continue
        if not block.polls and not block.standings:
            rows.append([unit, period, "", "", "", "", "", "", "", "", _("任期内无测评和考评数据")])
        for f in block.polls:
            notes = [] if f.adequate else [too_few]
            if f.partial:
                notes.append(_("测评期部分在任期外"))
            rows.append(
                [
                    unit,
                    period,
                    _("民意测评"),
                    f.wave,
                    f.indicator,
                    round(f.rate, 4) if f.adequate else _("样本不足"),
                    _interval(f.low, f.high, rate=True),
                    f.n,
                    round(f.n_eff, 1),
                    "",
                    "；".join(notes),
                ]
            )
        for s in block.standings:
            r = s.result
            notes = [r.assessment.get_status_display()]
            if not s.ranked:
                notes.append(_("样本不足，未排名"))
            if s.partial:
                notes.append(_("考评期部分在任期外"))
            rank = (
                f"{r.median_rank:.0f}（{r.rank_low}–{r.rank_high}）/ {s.peers}" if s.ranked else ""
            )
            rows.append(
                [
                    unit,
                    period,
                    _("综合考评"),
                    s.label,
                    _("综合得分"),
                    round(r.composite, 3) if r.composite is not None else "",
                    _interval(r.composite_low, r.composite_high, rate=False),
                    "",
                    round(r.n_eff, 1) if r.n_eff is not None else "",
                    rank,
                    "；".join(notes),
                ]
            )
    return rows


def _title(sheet: PromotionSheet) -> str:
    o = sheet.officer
    return _("干部竞聘考察表：%(name)s（警号 %(no)s，%(unit)s）") % {
        "name": o.name,
        "no": o.police_number,
        "unit": o.unit.name,
    }


def _note(sheet: PromotionSheet) -> str:
    return _(
        "比率为加权后的群众正面评价比例，括号区间为 Wilson 95%% 置信区间（按有效样本量计算）；"
        "有效样本量不足 %(n)d 的格子不显示比率。综合得分为同类单位内标准化后的加权得分，"
        "名次为经验贝叶斯模拟的中位名次及 90%% 区间。生成时间 %(t)s。"
    ) % {"n": sheet.min_n_eff, "t": f"{timezone.localtime(sheet.generated_at):%Y-%m-%d %H:%M}"}


def promotion_xlsx(sheet: PromotionSheet) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    ws.title = _("考察表")
    ws.append([_title(sheet)])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(sheet_headers())
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in sheet_rows(sheet):
        ws.append(row)
        value = ws.cell(row=ws.max_row, column=6)
        if isinstance(value.value, float):
            value.number_format = "0.0%" if row[2] == _("民意测评") else "0.000"
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula
    ws.append([])
    ws.append([_note(sheet)])
    ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=False)
    for column, width in zip(
        "ABCDEFGHIJK", (18, 24, 10, 30, 10, 10, 16, 9, 10, 22, 30), strict=True
    ):
        ws.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def promotion_pdf(sheet: PromotionSheet) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title="Minyi promotion review",
    )
    title = ParagraphStyle("t", fontName=PDF_FONT, fontSize=14, leading=18)
    cell = ParagraphStyle("c", fontName=PDF_FONT, fontSize=7.5, leading=9.5)
    note = ParagraphStyle("n", fontName=PDF_FONT, fontSize=8, leading=11)

    def text(value, *, rate: bool = False) -> Paragraph:
        if isinstance(value, float):
            value = f"{value * 100:.1f}%" if rate else f"{value:.3f}"
        return Paragraph(escape(str(value)), cell)

    poll = _("民意测评")
    data = [[text(h) for h in sheet_headers()]] + [
        [text(v, rate=i == 5 and row[2] == poll) for i, v in enumerate(row)]
        for row in sheet_rows(sheet)
    ]
    widths = [30, 34, 15, 40, 16, 17, 25, 15, 17, 30, 38]
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    doc.build(
        [
            Paragraph(_title(sheet), title),
            Spacer(1, 4 * mm),
            table,
            Spacer(1, 3 * mm),
            Paragraph(_note(sheet), note),
        ]
    )
    return out.getvalue()


# --- Pages ----------------------------------------------------------------------------------


@staff_view(PROMOTION_REVIEW)
def promotion_pick(request):
    """选择考察对象: officers of the reviewer's subtree, those with tenures first."""
    search = request.GET.get("q", "")
    officers = promotion_officers(request.user, search=search)
    return render(
        request,
        "assessment/promotion_pick.html",
        {"page": page_of(request, officers), "q": search},
    )


@staff_view(PROMOTION_REVIEW)
def promotion_sheet_view(request, pk):
    officer = promotion_officer_get(request.user, pk)
    sheet = promotion_sheet(request.user, officer)
    return render(
        request,
        "assessment/promotion_sheet.html",
        {"sheet": sheet, "officer": officer, "note": _note(sheet)},
    )


@staff_view(PROMOTION_REVIEW)
def promotion_export(request, pk, fmt):
    """The sheet as Excel or PDF, with the export in the audit log."""
    if fmt not in ("xlsx", "pdf"):
        raise Http404()
    officer = promotion_officer_get(request.user, pk)
    sheet = promotion_sheet(request.user, officer)
    body = promotion_xlsx(sheet) if fmt == "xlsx" else promotion_pdf(sheet)
    audit_record(
        action=AuditAction.EXPORT,
        actor=request.user,
        request=request,
        obj=officer,
        detail={"table": "promotion", "format": fmt, "rows": len(sheet_rows(sheet))},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        io.BytesIO(body),
        as_attachment=True,
        filename=f"minyi-promotion-{officer.police_number}-{stamp}.{fmt}",
        content_type=XLSX if fmt == "xlsx" else "application/pdf",
    )


# Included by assessment/urls.py as one line: path("promotion/", promotion_urls).
promotion_urls = include(
    [
        path("", promotion_pick, name="promotion_pick"),
        path("<int:pk>/", promotion_sheet_view, name="promotion_sheet"),
        path("<int:pk>/<str:fmt>", promotion_export, name="promotion_export"),
    ]
)
