"""The SMS inbox (短信收件箱): the messages the parser could not place, and what a person makes
of each: a rating, a callback, an opinion, an SMS answer, or just read."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.core.errors import ApplicationError, NotFound
from minyi.core.ui import page_of
from minyi.inbox.selectors import (
    INBOX_ALL,
    INBOX_TODO,
    inbox_counts_visible_to,
    inbox_get_visible_to,
    inbox_list_visible_to,
    inbox_sender_context,
)
from minyi.inbox.services import (
    INBOX_REPLY_MAX,
    inbox_message_review,
    inbox_open_callback,
    inbox_record_rating,
    inbox_reply,
    opinion_from_inbound,
)
from minyi.opinions.models import OpinionKind
from minyi.orgs.access import staff_view
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import UNSATISFIED_RATINGS, Rating


@staff_view(Perm.INBOX_VIEW)
def inbox(request):
    show = INBOX_ALL if request.GET.get("show") == INBOX_ALL else INBOX_TODO
    page = page_of(request, inbox_list_visible_to(request.user, show=show))
    return render(
        request,
        "inbox/inbox.html",
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
    return render(request, "inbox/inbox_detail.html", context, status=status)


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
    return redirect("inbox:inbox")


@staff_view(Perm.INBOX_VIEW)
@require_POST
def inbox_mark_read(request, pk):
    inbound = inbox_list_visible_to(request.user).filter(pk=pk).first()
    if inbound is None:
        raise NotFound()
    inbox_message_review(actor=request.user, inbound=inbound)
    messages.success(request, _("已标记为已查看。"))
    return redirect("inbox:inbox")
