"""The callback workbench (回访工作台): the queue, one screen per call, claim, release, reveal
the number (audited), record the call."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.callbacks.hooks import reason_tags_suggest
from minyi.callbacks.models import Attribution, CallbackKind, CallbackStatus, CallOutcome
from minyi.callbacks.selectors import (
    callback_actions_for,
    callback_counts_visible_to,
    callback_get_visible_to,
    callback_list_visible_to,
    citizen_history_visible_to,
)
from minyi.callbacks.services import (
    callback_claim,
    callback_claim_next,
    callback_record,
    callback_release,
    callback_reveal_mobile,
)
from minyi.core.errors import ApplicationError
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view
from minyi.orgs.models import Officer
from minyi.orgs.roles import Perm, has_perm
from minyi.perception.models import Rating, ReasonTag

CALLBACK_TABS = [
    (CallbackStatus.OPEN, gettext_lazy("待回访")),
    (CallbackStatus.IN_PROGRESS, gettext_lazy("回访中")),
    (CallbackStatus.DONE, gettext_lazy("已完成")),
]


@staff_view(Perm.CALLBACK_VIEW)
def callback_list(request):
    """The queue (回访工作台): due first, overdue marked; "take the next one" on top."""
    status = request.GET.get("status", CallbackStatus.OPEN)
    if status not in CallbackStatus.values:
        status = CallbackStatus.OPEN
    kind = request.GET.get("kind", "")
    if kind not in CallbackKind.values:
        kind = ""
    callbacks = callback_list_visible_to(request.user, status=status, kind=kind)
    page = page_of(request, callbacks)
    held = callback_list_visible_to(request.user, status=CallbackStatus.IN_PROGRESS).filter(
        assignee=request.user
    )
    return render(
        request,
        "callbacks/callback_list.html",
        {
            "page": page,
            "now": timezone.now(),
            "status": status,
            "kind": kind,
            "tabs": CALLBACK_TABS,
            "kinds": CallbackKind.choices,
            "counts": callback_counts_visible_to(request.user),
            "held": list(held[:5]),
            "can_work": has_perm(request.user, Perm.CALLBACK_WORK),
        },
    )


@staff_view(Perm.CALLBACK_WORK)
@require_POST
def callback_take_next(request):
    callback = callback_claim_next(actor=request.user)
    if callback is None:
        messages.info(request, _("队列中暂无可领取的回访任务。"))
        return redirect("callbacks:callback_list")
    return redirect("callbacks:callback_detail", pk=callback.pk)


@staff_view(Perm.CALLBACK_WORK)
@require_POST
def callback_claim_view(request, pk):
    callback = callback_get_visible_to(request.user, pk)
    try:
        callback_claim(actor=request.user, callback=callback)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("callbacks:callback_detail", pk=pk)


@staff_view(Perm.CALLBACK_WORK)
@require_POST
def callback_release_view(request, pk):
    callback = callback_get_visible_to(request.user, pk)
    callback_release(actor=request.user, callback=callback)
    messages.success(request, _("任务已放回队列。"))
    return redirect("callbacks:callback_list")


@staff_view(Perm.CALLBACK_REVEAL_MOBILE)
@require_POST
def callback_reveal(request, pk):
    callback = callback_get_visible_to(request.user, pk)
    value = callback_reveal_mobile(actor=request.user, callback=callback, request=request)
    response = render(request, "console/_revealed.html", {"value": value})
    response["Cache-Control"] = "private, no-store"
    return response


class CallbackRecordForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("拨打结果"),
        choices=CallOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择拨打结果。")},
    )
    note = forms.CharField(label=gettext_lazy("通话备注"), required=False, max_length=200)
    reason_text = forms.CharField(
        label=gettext_lazy("不满意原因"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
    )
    tags = forms.MultipleChoiceField(
        label=gettext_lazy("原因标签"),
        required=False,
        choices=ReasonTag.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    attribution = forms.ChoiceField(
        label=gettext_lazy("责任认定"),
        required=False,
        choices=[c for c in Attribution.choices if c[0] != Attribution.UNREACHABLE],
        widget=forms.RadioSelect,
    )
    officer = forms.ModelChoiceField(
        label=gettext_lazy("责任民警"),
        required=False,
        queryset=Officer.objects.none(),
        empty_label=gettext_lazy("请选择…"),
    )
    follow_up_rating = forms.TypedChoiceField(
        label=gettext_lazy("群众追评"),
        required=False,
        choices=Rating.choices,
        coerce=int,
        empty_value=None,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, callback, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = callback.survey.event.officers.all()
        if callback.kind == CallbackKind.FOLLOW_UP:
            for name in ("tags", "attribution", "officer"):
                del self.fields[name]
            self.fields["reason_text"].label = _("群众意见")
        else:
            del self.fields["follow_up_rating"]


def _callback_page(request, callback, form, *, status=200):
    actions = callback_actions_for(request.user, callback)
    survey = callback.survey
    first = (
        callback
        if callback.kind == CallbackKind.FIRST
        else survey.callbacks.filter(kind=CallbackKind.FIRST).first()
    )
    return render(
        request,
        "callbacks/callback_detail.html",
        {
            "callback": callback,
            "survey": survey,
            "event": survey.event,
            "first": first,
            "officers": survey.event.officers.all(),
            "replies": survey.replies.order_by("created_at"),
            "calls": callback.calls.select_related("evaluator"),
            "events": callback.history.select_related("actor"),
            "history": citizen_history_visible_to(request.user, callback),
            "form": form,
            "actions": actions,
            "held": "record" in actions,
            "max_attempts": settings.CALLBACK_MAX_ATTEMPTS,
            "now": timezone.now(),
        },
        status=status,
    )


@staff_view(Perm.CALLBACK_VIEW)
def callback_detail(request, pk):
    """One screen for one call: the citizen's rating, words and history, and the record form."""
    callback = callback_get_visible_to(request.user, pk)
    initial = {"tags": callback.suggested_tags}
    if not callback.suggested_tags and callback.survey.comment:
        initial["tags"] = reason_tags_suggest(callback.survey.comment)
    form = CallbackRecordForm(callback=callback, initial=initial)
    return _callback_page(request, callback, form)


@staff_view(Perm.CALLBACK_WORK)
@require_POST
def callback_record_view(request, pk):
    callback = callback_get_visible_to(request.user, pk)
    form = CallbackRecordForm(request.POST, callback=callback)
    if not form.is_valid():
        return _callback_page(request, callback, form, status=400)
    data = form.cleaned_data
    try:
        callback = callback_record(
            actor=request.user,
            callback=callback,
            outcome=data["outcome"],
            note=data["note"],
            reason_text=data["reason_text"],
            tags=data.get("tags", []),
            attribution=data.get("attribution", ""),
            officer=data.get("officer"),
            follow_up_rating=data.get("follow_up_rating"),
        )
    except ApplicationError as exc:
        if exc.field and exc.field in form.fields:
            form.add_error(exc.field, str(exc.message))
        else:
            # Not about one field (the task was taken over, or is done): said on top of the
            # page, which shows the form only to the evaluator holding the task.
            form.add_error(None, str(exc.message))
            messages.error(request, exc.message)
        callback.refresh_from_db()
        return _callback_page(request, callback, form, status=exc.status)
    if callback.status == CallbackStatus.DONE:
        summary = _done_summary(callback)
        messages.success(request, format_html(_("回访已完成：{what}"), what=summary))
    else:
        messages.info(
            request,
            _("已记录第 %(n)d 次拨打（未接通），任务已放回队列，%(time)s 后可再拨。")
            % {
                "n": callback.attempts,
                "time": timezone.localtime(callback.not_before).strftime("%H:%M"),
            },
        )
    if "next" in request.POST:
        return callback_take_next(request)
    return redirect("callbacks:callback_list")


def _done_summary(callback) -> str:
    if callback.kind == CallbackKind.FOLLOW_UP:
        if callback.follow_up_rating:
            return _("追评 %(r)s") % {"r": callback.get_follow_up_rating_display()}
        return callback.get_attribution_display()
    text = callback.get_attribution_display()
    if callback.attribution == Attribution.AT_FAULT:
        order = getattr(callback, "work_order_created", None)
        if order is not None:
            # The number is a link: the evaluator may want to see what was sent.
            link = format_html(
                '<a href="{}" data-testid="order-link">{}</a>',
                reverse("workorders:order_detail", args=[order.pk]),
                order.number,
            )
            return format_html(_("{text}，已派发整改工单 {order}"), text=text, order=link)
    return text
