"""Perception pages: the citizen's H5 survey, and the staff callback queue, inbox and import."""

import csv
import io

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from minyi.orgs.access import staff_view
from minyi.core.errors import ApplicationError, NotFound
from minyi.opinions.models import OpinionKind
from minyi.opinions.services import opinion_from_inbound
from minyi.orgs.models import Officer, OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.imports import CSV_COLUMNS, events_import_rows
from minyi.perception.models import (
    UNSATISFIED_RATINGS,
    Attribution,
    CallbackKind,
    CallbackStatus,
    CallOutcome,
    Rating,
    ReasonTag,
    Survey,
    SurveyStatus,
)
from minyi.perception.selectors import (
    INBOX_ALL,
    INBOX_TODO,
    callback_counts_visible_to,
    callback_get_visible_to,
    callback_list_visible_to,
    citizen_history_visible_to,
    inbox_counts_visible_to,
    inbox_get_visible_to,
    inbox_list_visible_to,
    inbox_sender_context,
)
from minyi.perception.services import (
    INBOX_REPLY_MAX,
    callback_claim,
    callback_claim_next,
    callback_record,
    callback_release,
    callback_reveal_mobile,
    inbox_message_review,
    inbox_open_callback,
    inbox_record_rating,
    inbox_reply,
    survey_answer_h5,
)

PAGE_SIZE = 50

# --- Citizen: the H5 survey (/s/<token>) -------------------------------------------------


class SurveyForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("您对本次服务的评价"),
        choices=Rating.choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择一项评价。")},
    )
    comment = forms.CharField(
        label=gettext_lazy("想对我们说的话（选填）"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 500}),
    )


# The unguessable single-use token in the URL is the credential, so a forged cross-site post
# would need it; without cookies (some in-app browsers block them) a citizen must still be
# able to answer, not meet a CSRF error page.
@csrf_exempt
def survey_h5(request, token):
    survey = (
        Survey.objects.select_related("event", "unit", "business_type").filter(token=token).first()
    )
    if survey is None or survey.status == SurveyStatus.SCHEDULED:
        return render(request, "perception/survey_closed.html", {"reason": "unknown"}, status=404)
    if survey.status != SurveyStatus.SENT:
        return render(
            request, "perception/survey_closed.html", {"reason": survey.status, "survey": survey}
        )
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey_answer_h5(
                token=token,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except ApplicationError:
            survey.refresh_from_db()
            return render(
                request,
                "perception/survey_closed.html",
                {"reason": survey.status, "survey": survey},
            )
        return redirect("survey_h5", token=token)
    occurred = timezone.localtime(survey.event.occurred_at)
    return render(
        request, "perception/survey.html", {"survey": survey, "form": form, "occurred": occurred}
    )


# --- Staff: callback queue, inbox, manual import -------------------------------------------


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
    page = Paginator(callbacks, PAGE_SIZE).get_page(request.GET.get("page"))
    held = callback_list_visible_to(request.user, status=CallbackStatus.IN_PROGRESS).filter(
        assignee=request.user
    )
    return render(
        request,
        "perception/callback_list.html",
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
        return redirect("perception:callback_list")
    return redirect("perception:callback_detail", pk=callback.pk)


@staff_view(Perm.CALLBACK_WORK)
@require_POST
def callback_claim_view(request, pk):
    callback = callback_get_visible_to(request.user, pk)
    try:
        callback_claim(actor=request.user, callback=callback)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("perception:callback_detail", pk=pk)


@staff_view(Perm.CALLBACK_WORK)
@require_POST
def callback_release_view(request, pk):
    callback = callback_get_visible_to(request.user, pk)
    callback_release(actor=request.user, callback=callback)
    messages.success(request, _("任务已放回队列。"))
    return redirect("perception:callback_list")


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
    held = callback.status == CallbackStatus.IN_PROGRESS and callback.assignee_id == request.user.pk
    survey = callback.survey
    first = (
        callback
        if callback.kind == CallbackKind.FIRST
        else survey.callbacks.filter(kind=CallbackKind.FIRST).first()
    )
    return render(
        request,
        "perception/callback_detail.html",
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
            "held": held,
            "can_work": has_perm(request.user, Perm.CALLBACK_WORK),
            "can_reveal": has_perm(request.user, Perm.CALLBACK_REVEAL_MOBILE),
            "max_attempts": settings.CALLBACK_MAX_ATTEMPTS,
            "now": timezone.now(),
        },
        status=status,
    )


@staff_view(Perm.CALLBACK_VIEW)
def callback_detail(request, pk):
    """One screen for one call: the citizen's rating, words and history, and the record form."""
    callback = callback_get_visible_to(request.user, pk)
    from minyi.insight.tagging import suggest_tags

    initial = {"tags": callback.suggested_tags}
    if not callback.suggested_tags and callback.survey.comment:
        initial["tags"] = suggest_tags(callback.survey.comment)
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
    return redirect("perception:callback_list")


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


@staff_view(Perm.INBOX_VIEW)
def inbox(request):
    show = INBOX_ALL if request.GET.get("show") == INBOX_ALL else INBOX_TODO
    page = Paginator(inbox_list_visible_to(request.user, show=show), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "perception/inbox.html",
        {
            "page": page,
            "show": show,
            "counts": inbox_counts_visible_to(request.user),
            "can_handle": has_perm(request.user, Perm.INBOX_HANDLE),
        },
    )


# The four things a person can make of a message (短信收件箱), each a form of its own.
INBOX_ACTIONS = ("rating", "callback", "opinion", "reply")


class InboxRatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("群众的评价"),
        choices=Rating.choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择这条短信表达的评价。")},
    )


class InboxOpinionForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("留言类别"),
        choices=OpinionKind.choices,
        initial=OpinionKind.COMPLAINT,
        error_messages={"required": gettext_lazy("请选择留言类别。")},
    )
    unit = forms.ModelChoiceField(
        label=gettext_lazy("承办单位"),
        queryset=OrgUnit.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": gettext_lazy("请选择您管辖范围内的承办单位。")},
    )

    def __init__(self, *args, user, inbound, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = OrgUnit.objects.filter(
            scope_q(user, ""), is_active=True
        ).order_by("path")
        self.fields["unit"].initial = inbound.unit_id


class InboxReplyForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("回复内容（短信，自动加签名）"),
        max_length=INBOX_REPLY_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": INBOX_REPLY_MAX}),
        error_messages={"required": gettext_lazy("请填写回复内容。")},
    )


def _inbox_forms(request, inbound, action: str = ""):
    def bound(name):
        return request.POST if action == name else None

    return {
        "rating_form": InboxRatingForm(bound("rating"), prefix="rating"),
        "opinion_form": InboxOpinionForm(
            bound("opinion"), prefix="opinion", user=request.user, inbound=inbound
        ),
        "reply_form": InboxReplyForm(bound("reply"), prefix="reply"),
    }


def _inbox_page(request, inbound, forms_=None, error=None, status=200):
    context = {
        "m": inbound,
        "can_handle": has_perm(request.user, Perm.INBOX_HANDLE),
        "error": error,
        **inbox_sender_context(request.user, inbound),
        **(forms_ or _inbox_forms(request, inbound)),
    }
    return render(request, "perception/inbox_detail.html", context, status=status)


@staff_view(Perm.INBOX_VIEW)
def inbox_detail(request, pk):
    return _inbox_page(request, inbox_get_visible_to(request.user, pk))


def _inbox_act(request, inbound, action: str, forms_: dict) -> str | None:
    """Run the chosen action; the success message, or None if its form is invalid."""
    user = request.user
    if action == "callback":
        callback = inbox_open_callback(actor=user, inbound=inbound)
        return _("已开启回访任务 #%(id)d，进入回访队列。") % {"id": callback.pk}
    form = forms_[f"{action}_form"]
    if not form.is_valid():
        return None
    data = form.cleaned_data
    if action == "rating":
        survey = inbox_record_rating(actor=user, inbound=inbound, rating=data["rating"])
        text = _("已记为评价：%(label)s。") % {"label": Rating(data["rating"]).label}
        if survey.rating in UNSATISFIED_RATINGS:
            text += _("不满意评价已开启回访。")
        return text
    if action == "opinion":
        opinion = opinion_from_inbound(
            actor=user, inbound=inbound, kind=data["kind"], unit=data["unit"]
        )
        return _("已转为留言 %(no)s，承办单位：%(unit)s。") % {
            "no": opinion.number,
            "unit": opinion.unit.name,
        }
    message = inbox_reply(actor=user, inbound=inbound, text=data["text"])
    if message.not_before > timezone.now():
        return _("回复已排队：现在是免打扰时段，将于 %(at)s 发出。") % {
            "at": timezone.localtime(message.not_before).strftime("%m-%d %H:%M")
        }
    return _("回复短信已发出。")


@staff_view(Perm.INBOX_HANDLE)
@require_POST
def inbox_handle(request, pk):
    inbound = inbox_get_visible_to(request.user, pk)
    action = request.POST.get("action", "")
    forms_ = _inbox_forms(request, inbound, action)
    if action not in INBOX_ACTIONS:
        return _inbox_page(request, inbound, forms_, _("请选择一种处理方式。"), status=400)
    try:
        text = _inbox_act(request, inbound, action, forms_)
    except ApplicationError as exc:
        field = f"{action}_form"
        if exc.field and field in forms_ and exc.field in forms_[field].fields:
            forms_[field].add_error(exc.field, str(exc.message))
            return _inbox_page(request, inbound, forms_, status=400)
        return _inbox_page(request, inbound, forms_, str(exc.message), status=exc.status)
    if text is None:
        return _inbox_page(request, inbound, forms_, status=400)
    messages.success(request, text)
    return redirect("perception:inbox")


@staff_view(Perm.INBOX_VIEW)
@require_POST
def inbox_mark_read(request, pk):
    inbound = inbox_list_visible_to(request.user).filter(pk=pk).first()
    if inbound is None:
        raise NotFound()
    inbox_message_review(actor=request.user, inbound=inbound)
    messages.success(request, _("已标记为已查看。"))
    return redirect("perception:inbox")


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV 文件（UTF-8）"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError(_("文件不能超过 5 MB。"))
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("文件不是 UTF-8 编码的 CSV。")) from exc
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise forms.ValidationError(_("缺少列：%(cols)s") % {"cols": ", ".join(missing)})
        return list(reader)


@staff_view(Perm.EVENT_IMPORT)
def event_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    results = None
    if request.method == "POST" and form.is_valid():
        results = events_import_rows(actor=request.user, rows=form.cleaned_data["file"])
    return render(
        request,
        "perception/event_import.html",
        {"form": form, "results": results, "columns": CSV_COLUMNS},
    )
