"""Staff pages of the votes audit (票选监督): paper keying (票选表录入) and the mismatch queue,
the rejections log (无效票), stuffing flags (刷票嫌疑) and their review, and the hash chain's
verification (存证核验). Every page hangs from a campaign the user may see (its organising
unit in the user's subtree); outside it the campaign does not exist (404)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.core.errors import ApplicationError, NotFound
from minyi.core.pii import mask_id_number, mask_mobile
from minyi.core.ui import ALL, Tabs, console_list, page_of
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm
from minyi.votes.audit_forms import FlagDecideForm, PaperKeyForm, RejectionFilterForm, ResolveForm
from minyi.votes.chain import chain_verify
from minyi.votes.models import (
    ChainHead,
    FlagKind,
    FlagStatus,
    PaperEntry,
    PaperSheet,
    Rejection,
    SheetStatus,
    StuffingFlag,
)
from minyi.votes.paper import sheet_key, sheet_resolve
from minyi.votes.selectors import campaign_get_visible_to, campaign_options
from minyi.votes.stuffing import NOTE_MAX_CHARS, flag_decide, flag_explanation

VOTE_VIEW = Perm.VOTE_VIEW
VOTE_KEY = Perm.VOTE_KEY
VOTE_AUDIT = Perm.VOTE_AUDIT

KEYED_MESSAGES = {
    SheetStatus.PENDING: gettext_lazy(
        "票号 %(serial)s 第一次录入完成，等待另一名录入员第二次录入。"
    ),
    SheetStatus.COUNTED: gettext_lazy("票号 %(serial)s 两次录入一致，已计票。"),
    SheetStatus.REJECTED: gettext_lazy(
        "票号 %(serial)s 两次录入一致，判为无效票（见无效票记录）。"
    ),
    SheetStatus.MISMATCH: gettext_lazy(
        "票号 %(serial)s 两次录入不一致，已转入待核对队列，由督察对照原票核对。"
    ),
}


def _entry_view(entry: PaperEntry) -> dict:
    return {
        "entry": entry,
        "mobile": _("无法辨认") if entry.unreadable else mask_mobile(entry.mobile),
        "id_number": _("无法辨认") if entry.id_unreadable else mask_id_number(entry.id_number),
        "numbers": [i + 1 for i, c in enumerate(entry.choices) if c == "1"],
    }


def _form_kwargs(campaign) -> dict:
    return {
        "options": campaign_options(campaign),
        "require_id_number": campaign.require_id_number,
    }


def _render(request, template, context, status=200):
    """render() with the audit pages' navigation: each link only for who may open it."""
    user = request.user
    context["nav"] = {"key": has_perm(user, VOTE_KEY), "audit": has_perm(user, VOTE_AUDIT)}
    return render(request, template, context, status=status)


def _add_error(form, exc: ApplicationError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))


# --- Paper keying ---------------------------------------------------------------------------


@staff_view(VOTE_KEY)
def paper_key(request, pk):
    campaign = campaign_get_visible_to(request.user, pk)
    form_kwargs = _form_kwargs(campaign)
    status = 200
    if request.method == "POST":
        form = PaperKeyForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                sheet = sheet_key(
                    request.user, campaign, serial=form.cleaned_data["serial"], **form.sheet_data()
                )
            except NotFound:
                raise
            except ApplicationError as exc:
                _add_error(form, exc)
                status = exc.status
            else:
                messages.success(request, KEYED_MESSAGES[sheet.status] % {"serial": sheet.serial})
                return redirect("votes:paper_key", pk=campaign.pk)
        else:
            status = 400
    else:
        form = PaperKeyForm(**form_kwargs)
    form.fields["serial"].widget.attrs["autofocus"] = True
    mine = (
        PaperSheet.objects.filter(campaign=campaign, entries__clerk=request.user)
        .distinct()
        .order_by("-entries__keyed_at")[:20]
    )
    counts = {
        s: PaperSheet.objects.filter(campaign=campaign, status=s).count()
        for s in SheetStatus.values
    }
    return _render(
        request,
        "votes/paper_key.html",
        {"campaign": campaign, "form": form, "mine": mine, "counts": counts},
        status=status,
    )


def _mismatch_rows(campaign, sheets):
    rows = []
    for sheet in sheets:
        entries = [
            _entry_view(e) for e in sheet.entries.filter(resolution=False).select_related("clerk")
        ]
        rows.append({"sheet": sheet, "entries": entries})
    return rows


# Clerks' page: it shows each keying's masked mobile beside its choices. The supervisor who
# settles a mismatch sees the same on the sheet's own page (paper_resolve).
@staff_view(VOTE_KEY)
def paper_queue(request, pk):
    campaign = campaign_get_visible_to(request.user, pk)
    sheets = PaperSheet.objects.filter(campaign=campaign, status=SheetStatus.MISMATCH).order_by(
        "serial"
    )
    page = page_of(request, sheets)
    return _render(
        request,
        "votes/paper_queue.html",
        {
            "campaign": campaign,
            "page": page,
            "rows": _mismatch_rows(campaign, page.object_list),
            "can_resolve": has_perm(request.user, VOTE_AUDIT),
        },
    )


# The supervisor's way through the mismatches: sheet 0 is "the next one waiting" (the queue
# page itself is the clerks'); the page lists the waiting serials only, no personal data.
NEXT_SHEET = 0


@staff_view(VOTE_AUDIT)
def paper_resolve(request, pk, sheet_pk):
    campaign = campaign_get_visible_to(request.user, pk)
    waiting = PaperSheet.objects.filter(campaign=campaign, status=SheetStatus.MISMATCH).order_by(
        "serial"
    )
    if sheet_pk == NEXT_SHEET:
        sheet = waiting.first()
        if sheet is None:
            return _render(
                request, "votes/paper_resolve.html", {"campaign": campaign, "sheet": None}
            )
        return redirect("votes:paper_resolve", pk=campaign.pk, sheet_pk=sheet.pk)
    sheet = PaperSheet.objects.filter(campaign=campaign, pk=sheet_pk).first()
    if sheet is None:
        raise NotFound()
    form_kwargs = _form_kwargs(campaign)
    status = 200
    if request.method == "POST":
        form = ResolveForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                sheet = sheet_resolve(request.user, sheet, **form.sheet_data())
            except NotFound:
                raise
            except ApplicationError as exc:
                _add_error(form, exc)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("票号 %(serial)s 已核对：%(status)s。")
                    % {"serial": sheet.serial, "status": sheet.get_status_display()},
                )
                return redirect("votes:paper_resolve", pk=campaign.pk, sheet_pk=NEXT_SHEET)
        else:
            status = 400
    else:
        form = ResolveForm(**form_kwargs)
    entries = [_entry_view(e) for e in sheet.entries.select_related("clerk")]
    return _render(
        request,
        "votes/paper_resolve.html",
        {
            "campaign": campaign,
            "sheet": sheet,
            "entries": entries,
            "form": form,
            "waiting": waiting.exclude(pk=sheet.pk).values("pk", "serial")[:100],
        },
        status=status,
    )


# --- Rejections -----------------------------------------------------------------------------


@staff_view(VOTE_VIEW)
def rejection_list(request, pk):
    campaign = campaign_get_visible_to(request.user, pk)
    form = RejectionFilterForm(request.GET or None)
    rows = Rejection.objects.filter(campaign=campaign).select_related("sheet", "actor")
    if form.is_valid():
        if form.cleaned_data["reason"]:
            rows = rows.filter(reason=form.cleaned_data["reason"])
        if form.cleaned_data["channel"]:
            rows = rows.filter(channel=form.cleaned_data["channel"])
    return _render(
        request,
        "votes/audit_rejections.html",
        {
            "campaign": campaign,
            "form": form,
            "page": page_of(request, rows.order_by("-seq")),
        },
    )


# --- Stuffing flags -------------------------------------------------------------------------

FLAG_TABS = Tabs(
    choices=(
        (FlagStatus.OPEN, FlagStatus.OPEN.label),
        (FlagStatus.CONFIRMED, FlagStatus.CONFIRMED.label),
        (FlagStatus.CLEARED, FlagStatus.CLEARED.label),
        (ALL, gettext_lazy("全部")),
    ),
    default=FlagStatus.OPEN,
)


# Supervisors only (督察): a flag's ballots are a small group whose masked mobiles or choices,
# beside their times, could be matched to the public receipts.
@staff_view(VOTE_AUDIT)
def flag_list(request, pk):
    campaign = campaign_get_visible_to(request.user, pk)
    current = FLAG_TABS.current(request)
    flags = StuffingFlag.objects.filter(campaign=campaign)
    counts = {value: flags.filter(status=value).count() for value in FlagStatus.values}
    counts[ALL] = flags.count()
    value = FLAG_TABS.filter_value(current)
    if value:
        flags = flags.filter(status=value)
    context = console_list(
        request,
        flags.order_by("-created_at", "-id"),
        tabs=FLAG_TABS,
        current=current,
        counts=counts,
    )
    context["campaign"] = campaign
    return _render(request, "votes/audit_flags.html", context)


def _flag(user, pk, flag_pk) -> tuple:
    campaign = campaign_get_visible_to(user, pk)
    flag = StuffingFlag.objects.filter(campaign=campaign, pk=flag_pk).first()
    if flag is None:
        raise NotFound()
    return campaign, flag


def _flag_ballots(flag) -> dict:
    """The flag's ballots as the page may show them: never a masked mobile and the choices on
    one page (with the times they could single out a receipt), and no sequence number. The
    choices only for an identical-ballot flag (every ballot the same anyway), the masked
    mobiles only for a run of consecutive mobiles (the run is the evidence)."""
    show_choices = flag.kind == FlagKind.IDENTICAL_BURST
    show_mobile = flag.kind == FlagKind.MOBILE_RUN
    rows = []
    for ballot in flag.ballots.order_by("cast_at", "seq")[:200]:
        rows.append(
            {
                "channel": ballot.get_channel_display(),
                "mobile": mask_mobile(ballot.mobile) if show_mobile else "",
                "choices": ballot.chosen_numbers if show_choices else (),
                "cast_at": ballot.cast_at,
            }
        )
    return {"ballots": rows, "show_choices": show_choices, "show_mobile": show_mobile}


def _flag_page(request, campaign, flag, *, form=None, status=200):
    return _render(
        request,
        "votes/audit_flag_detail.html",
        {
            "campaign": campaign,
            "flag": flag,
            "explanation": flag_explanation(flag),
            "history": (flag.evidence or {}).get("history", []),
            **_flag_ballots(flag),
            "ballot_total": flag.ballots.count(),
            "can_decide": flag.status == FlagStatus.OPEN and has_perm(request.user, VOTE_AUDIT),
            "form": form or FlagDecideForm(),
            "note_max": NOTE_MAX_CHARS,
        },
        status=status,
    )


@staff_view(VOTE_AUDIT)
def flag_detail(request, pk, flag_pk):
    campaign, flag = _flag(request.user, pk, flag_pk)
    return _flag_page(request, campaign, flag)


@staff_view(VOTE_AUDIT)
@require_POST
def flag_decide_view(request, pk, flag_pk):
    campaign, flag = _flag(request.user, pk, flag_pk)
    form = FlagDecideForm(request.POST)
    if not form.is_valid():
        return _flag_page(request, campaign, flag, form=form, status=400)
    try:
        flag_decide(
            request.user, flag, status=form.cleaned_data["status"], note=form.cleaned_data["note"]
        )
    except NotFound:
        raise
    except ApplicationError as exc:
        _add_error(form, exc)
        flag.refresh_from_db()
        return _flag_page(request, campaign, flag, form=form, status=exc.status)
    messages.success(request, _("复核结论已保存。"))
    return redirect("votes:flag_detail", pk=campaign.pk, flag_pk=flag.pk)


# --- Chain verification ---------------------------------------------------------------------


@staff_view(VOTE_AUDIT)
def chain_verify_view(request, pk):
    campaign = campaign_get_visible_to(request.user, pk)
    report = chain_verify(campaign) if request.method == "POST" else None
    heads = ChainHead.objects.filter(campaign=campaign).order_by("-published_at", "-id")[:50]
    return _render(
        request,
        "votes/audit_chain.html",
        {"campaign": campaign, "report": report, "heads": heads},
    )
