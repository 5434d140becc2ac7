"""Pages of the collection in Minyi (平台短信测评): the citizen's anonymous H5 questionnaire
(/q/<token>) and the staff page that samples, invites and watches progress."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from minyi.core.errors import ApplicationError
from minyi.core.imports import MAX_BYTES, table_read
from minyi.orgs.access import staff_view
from minyi.polls.collection import (
    LIST_COLUMNS,
    MAX_UNIT_TARGET,
    collection_can_manage,
    collection_units,
    invitation_for_token,
    poll_answer,
    poll_collection_close,
    poll_collection_progress,
    poll_get_for_collection,
    poll_optout,
    polls_sample,
    polls_sample_from_list,
)
from minyi.polls.models import AgeBand, PollStatus, Residence, SampleSource, Sex
from minyi.polls.services import POLL_MANAGE, POLL_VIEW

# --- Citizen: the questionnaire (/q/<token>) ---------------------------------------------

_REQUIRED = gettext_lazy("请回答这一题。")


def _yes_no(label, yes, no) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[("1", yes), ("0", no)],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        error_messages={"required": _REQUIRED, "invalid_choice": _REQUIRED},
    )


def _choice(label, choices) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("请选择一项。"),
            "invalid_choice": gettext_lazy("请选择一项。"),
        },
    )


class QuestionnaireForm(forms.Form):
    """The five indicators as yes/no questions in plain words, then the strata."""

    saw_police = _yes_no(
        gettext_lazy("近一个月您在居住地附近见过巡逻民警吗？"),
        gettext_lazy("见过"),
        gettext_lazy("没见过"),
    )
    attitude = _yes_no(
        gettext_lazy("民警服务态度您满意吗？"), gettext_lazy("满意"), gettext_lazy("不满意")
    )
    familiarity = _yes_no(
        gettext_lazy("您知道您所在社区的社区民警是谁吗？"),
        gettext_lazy("知道"),
        gettext_lazy("不知道"),
    )
    satisfaction = _yes_no(
        gettext_lazy("您对本地公安工作总体满意吗？"), gettext_lazy("满意"), gettext_lazy("不满意")
    )
    safety = _yes_no(
        gettext_lazy("您觉得本地治安安全吗？"), gettext_lazy("安全"), gettext_lazy("不安全")
    )
    age_band = _choice(gettext_lazy("您的年龄段"), AgeBand.choices)
    sex = _choice(gettext_lazy("您的性别"), Sex.choices)
    residence = _choice(
        gettext_lazy("您是本地户籍还是外来人员？"),
        [
            (Residence.REGISTERED, gettext_lazy("本地户籍")),
            (Residence.FLOATING, gettext_lazy("外来人员（流动人口）")),
        ],
    )
    comment = forms.CharField(
        label=gettext_lazy("对公安工作的意见建议（选填）"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
        error_messages={"max_length": gettext_lazy("意见建议不能超过 500 字。")},
    )

    QUESTIONS = ("saw_police", "attitude", "familiarity", "satisfaction", "safety")
    ABOUT_YOU = ("age_band", "sex", "residence")

    def clean_comment(self):
        comment = self.cleaned_data["comment"].replace("\x00", "").strip()
        return comment

    def questions(self):
        return [self[name] for name in self.QUESTIONS]

    def about_you(self):
        return [self[name] for name in self.ABOUT_YOU]


def _closed(request, reason: str, invitation=None):
    status = 404 if reason == "unknown" else 200
    return render(
        request,
        "polls/questionnaire_closed.html",
        {"reason": reason, "poll": invitation.poll if invitation else None},
        status=status,
    )


# The unguessable single-use token in the URL is the credential (as on the survey page): a
# citizen whose in-app browser blocks cookies must still be able to answer.
@csrf_exempt
def questionnaire(request, token):
    invitation, state = invitation_for_token(token)
    if request.method == "POST" and request.POST.get("action") == "optout":
        if not poll_optout(token=token):
            return _closed(request, "unknown")
        return _closed(request, "optout", invitation)
    if state != "open":
        return _closed(request, state, invitation)
    form = QuestionnaireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            poll_answer(token=token, answers=form.cleaned_data)
        except ApplicationError:
            invitation, state = invitation_for_token(token)
            return _closed(request, state, invitation)
        return redirect("questionnaire", token=token)
    return render(request, "polls/questionnaire.html", {"form": form, "poll": invitation.poll})


# --- Staff: sampling and progress -----------------------------------------------------------


class SampleForm(forms.Form):
    """Per-unit targets (目标样本量: completed questionnaires wanted) and the frame."""

    source = forms.ChoiceField(
        label=gettext_lazy("抽样来源"),
        choices=SampleSource.choices,
        initial=SampleSource.SERVICE_EVENTS,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择抽样来源。")},
    )
    file = forms.FileField(
        label=gettext_lazy("名单文件（CSV 或 Excel .xlsx）"),
        required=False,
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.units = units
        for unit in units:
            self.fields[f"unit_{unit.pk}"] = forms.IntegerField(
                label=unit.name,
                required=False,
                min_value=0,
                max_value=MAX_UNIT_TARGET,
                widget=forms.NumberInput(attrs={"min": 0, "max": MAX_UNIT_TARGET}),
                error_messages={
                    "invalid": gettext_lazy("请填写整数。"),
                    "min_value": gettext_lazy("不能小于 0。"),
                    "max_value": gettext_lazy("不能超过 %(limit_value)s。"),
                },
            )

    def target_fields(self):
        return [self[f"unit_{u.pk}"] for u in self.units]

    def clean(self):
        data = super().clean()
        targets = {u.pk: data.get(f"unit_{u.pk}") or 0 for u in self.units}
        if not self.errors and not any(targets.values()):
            raise forms.ValidationError(_("请至少为一个单位填写目标样本量。"))
        data["targets"] = targets
        if data.get("source") == SampleSource.IMPORTED_LIST:
            upload = data.get("file")
            if upload is None:
                self.add_error("file", _("选择“导入名单”时请上传名单文件。"))
            else:
                try:
                    data["table"] = table_read(upload.read(MAX_BYTES + 1), columns=LIST_COLUMNS)
                except ApplicationError as exc:
                    self.add_error("file", str(exc.message))
        return data


def _detail(request, poll, *, form=None, report=None, result=None, status=200):
    can_manage = collection_can_manage(request.user) and poll.status != PollStatus.CLOSED
    units = collection_units(request.user, poll) if can_manage else []
    if can_manage and form is None:
        form = SampleForm(units=units)
    return render(
        request,
        "polls/collection_detail.html",
        {
            "poll": poll,
            "rows": poll_collection_progress(request.user, poll),
            "form": form if can_manage else None,
            "can_manage": can_manage,
            "can_close": can_manage
            and poll.status == PollStatus.COLLECTING
            and (request.user.is_superuser or request.user.unit.contains(poll.unit)),
            "report": report,
            "result": result,
            "columns": LIST_COLUMNS,
        },
        status=status,
    )


@staff_view(POLL_VIEW)
def collection_detail(request, pk):
    return _detail(request, poll_get_for_collection(request.user, pk))


@staff_view(POLL_MANAGE)
@require_POST
def collection_sample(request, pk):
    poll = poll_get_for_collection(request.user, pk)
    form = SampleForm(request.POST, request.FILES, units=collection_units(request.user, poll))
    if not form.is_valid():
        return _detail(request, poll, form=form, status=400)
    data = form.cleaned_data
    try:
        if data["source"] == SampleSource.IMPORTED_LIST:
            report, result = polls_sample_from_list(
                poll=poll, actor=request.user, table=data["table"], unit_targets=data["targets"]
            )
            if result is None:
                return _detail(request, poll, form=form, report=report, status=400)
        else:
            result = polls_sample(
                poll=poll,
                actor=request.user,
                unit_targets=data["targets"],
                source=data["source"],
            )
    except ApplicationError as exc:
        form.add_error(None, str(exc.message))
        return _detail(request, poll, form=form, status=exc.status)
    short = sum(1 for r in result["units"].values() if r["short"])
    text = _("已抽取 %(n)d 个号码，将在非静默时段发送邀请短信。") % {"n": result["invited"]}
    if short:
        text += _("其中 %(k)d 个单位的可抽样号码不足，请另行导入名单补充。") % {"k": short}
    messages.success(request, text)
    return redirect("polls:collection_detail", pk=poll.pk)


@staff_view(POLL_MANAGE)
@require_POST
def collection_close(request, pk):
    poll = poll_get_for_collection(request.user, pk)
    result = poll_collection_close(poll=poll, actor=request.user)
    messages.success(
        request,
        _("已结束收集：取消未发送邀请 %(c)d 条，关闭未作答链接 %(e)d 条。")
        % {"c": result["cancelled"], "e": result["expired"]},
    )
    if result["weigh_error"]:
        messages.error(request, _("加权计算未完成：%(e)s") % {"e": result["weigh_error"]})
    else:
        messages.success(request, _("已按人口结构加权并计算各单位结果。"))
    return redirect("polls:collection_detail", pk=poll.pk)
