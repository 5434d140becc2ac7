"""Results of a vote campaign (计票): turnout and each option's votes, online and on paper,
counted by the database in aggregate queries, and the same figures as an Excel workbook (no
personal data: no mobile, no voter key, no receipt).

Ballots in a stuffing flag a supervisor has confirmed (刷票嫌疑“确认异常”) are never deleted
and stay in the counted figures (`total`): the hash chain, the receipts and the published
turnout all include them. They are reported apart beside the totals (`confirmed`, per option
and in the turnout), so anyone reading the results sees how many votes are in doubt. What to
do about them (discount them, void the option, run the vote again) is the organiser's
decision under a published rule, not something the count does silently. Results cannot be
published while a flag is still open (selectors.campaign_action_refusal).
"""

import io

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Value
from django.db.models.functions import Substr
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from minyi.votes.models import (
    Ballot,
    Campaign,
    ChainEntry,
    ChainHead,
    Channel,
    FlagStatus,
    Rejection,
    RejectReason,
    StuffingFlag,
)


def _chosen(number: int) -> Q:
    """The ballot chose option `number`: its selection vector has "1" at that place."""
    return Q(Exact(Substr("choices", number, 1), Value("1")))


def campaign_tally(campaign: Campaign) -> dict:
    """Turnout and votes per option, per channel and together; `share` is an option's votes
    over the ballots cast (so an approval vote's shares add up to more than 1).

    {"turnout": {"online", "paper", "total", "confirmed"},
     "options": [{"option", "online", "paper", "total", "share", "confirmed"}],
     "rejections": n, "flags_open": n}

    `confirmed`: of those, the ballots (votes) in stuffing flags confirmed on review; they are
    included in the totals and reported apart (see the module docstring).
    """
    options = list(campaign.options.order_by("number"))
    sums = {
        f"o{option.number}": Count("id", filter=_chosen(option.number), output_field=IntegerField())
        for option in options
    }
    rows = {
        row["channel"]: row
        for row in Ballot.objects.filter(campaign=campaign)
        .order_by()
        .values("channel")
        .annotate(ballots=Count("id"), **sums)
    }
    in_confirmed = Exists(
        StuffingFlag.ballots.through.objects.filter(
            ballot_id=OuterRef("pk"), stuffingflag__status=FlagStatus.CONFIRMED
        )
    )
    doubtful = (
        Ballot.objects.filter(in_confirmed, campaign=campaign)
        .order_by()
        .aggregate(ballots=Count("id"), **sums)
    )
    empty: dict = {}
    online, paper = rows.get(Channel.ONLINE, empty), rows.get(Channel.PAPER, empty)
    turnout = {"online": online.get("ballots", 0), "paper": paper.get("ballots", 0)}
    turnout["total"] = turnout["online"] + turnout["paper"]
    turnout["confirmed"] = doubtful["ballots"] or 0
    counted = []
    for option in options:
        key = f"o{option.number}"
        votes = {"online": online.get(key, 0), "paper": paper.get(key, 0)}
        votes["total"] = votes["online"] + votes["paper"]
        share = votes["total"] / turnout["total"] if turnout["total"] else 0.0
        confirmed = doubtful.get(key) or 0
        counted.append({"option": option, **votes, "share": share, "confirmed": confirmed})
    return {
        "turnout": turnout,
        "options": counted,
        "rejections": Rejection.objects.filter(campaign=campaign).count(),
        "flags_open": StuffingFlag.objects.filter(
            campaign=campaign, status=FlagStatus.OPEN
        ).count(),
    }


def rejections_by_reason(campaign: Campaign) -> list[dict]:
    """Rejections per reason and channel: [{"reason", "label", "online", "paper", "total"}]."""
    rows = (
        Rejection.objects.filter(campaign=campaign)
        .order_by()
        .values("reason")
        .annotate(
            online=Count("id", filter=Q(channel=Channel.ONLINE)),
            paper=Count("id", filter=Q(channel=Channel.PAPER)),
            total=Count("id"),
        )
        .order_by("reason")
    )
    labels = dict(RejectReason.choices)
    return [{**row, "label": str(labels.get(row["reason"], row["reason"]))} for row in rows]


def _bold_row(sheet, values) -> None:
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def campaign_export(campaign: Campaign) -> bytes:
    """The results as an Excel workbook: the options with their votes online, on paper, in
    all and their share; turnout; rejections by reason; the chain's head (the latest entry
    and the latest published head)."""
    tally = campaign_tally(campaign)
    book = Workbook()
    votes = book.active
    votes.title = _("得票")
    _bold_row(
        votes,
        [
            _("编号"),
            _("候选项"),
            _("网上投票"),
            _("纸质票选表"),
            _("合计"),
            _("得票率"),
            _("其中确认异常"),
        ],
    )
    for row in tally["options"]:
        votes.append(
            [
                row["option"].number,
                row["option"].title,
                row["online"],
                row["paper"],
                row["total"],
                round(row["share"], 4),
                row["confirmed"],
            ]
        )
        votes.cell(row=votes.max_row, column=6).number_format = "0.00%"
    votes.column_dimensions["B"].width = 40

    summary = book.create_sheet(_("投票情况"))
    summary.column_dimensions["A"].width = 30
    summary.column_dimensions["B"].width = 70
    local = timezone.localtime
    for label, value in (
        (_("投票活动"), campaign.title),
        (_("链接代码"), campaign.code),
        (_("主办单位"), campaign.unit.name),
        (_("状态"), campaign.get_status_display()),
        (_("开始时间"), local(campaign.opens_at).strftime("%Y-%m-%d %H:%M")),
        (_("截止时间"), local(campaign.closes_at).strftime("%Y-%m-%d %H:%M")),
        (
            _("公布时间"),
            local(campaign.published_at).strftime("%Y-%m-%d %H:%M")
            if campaign.published_at
            else "",
        ),
        (_("最多可选"), campaign.max_choices),
    ):
        summary.append([label, value])
    summary.append([])
    _bold_row(summary, [_("投票人数"), _("票数")])
    summary.append([_("网上投票"), tally["turnout"]["online"]])
    summary.append([_("纸质票选表"), tally["turnout"]["paper"]])
    summary.append([_("合计"), tally["turnout"]["total"]])
    summary.append([_("其中确认异常（刷票复核确认，已计入合计）"), tally["turnout"]["confirmed"]])
    summary.append([])
    _bold_row(summary, [_("无效票原因"), _("网上"), _("纸质"), _("合计")])
    for row in rejections_by_reason(campaign):
        summary.append([row["label"], row["online"], row["paper"], row["total"]])
    summary.append([_("无效票合计"), tally["rejections"]])
    summary.append([])
    _bold_row(summary, [_("存证链"), ""])
    last = ChainEntry.objects.filter(campaign=campaign).order_by("-seq").first()
    summary.append([_("记录条数"), last.seq if last else 0])
    summary.append([_("最新记录哈希"), last.hash if last else ""])
    head = ChainHead.objects.filter(campaign=campaign).order_by("-published_at", "-id").first()
    if head is not None:
        summary.append([_("最近公布的链头序号"), head.seq])
        summary.append([_("最近公布的链头哈希"), head.hash])
        summary.append([_("链头公布时间"), local(head.published_at).strftime("%Y-%m-%d %H:%M")])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
