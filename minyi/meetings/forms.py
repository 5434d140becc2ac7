"""Forms of the meetings staff pages. They collect; the services in minyi/meetings/services.py
decide (scope, times, the community's station, consent) and the views put a refusal on the
field it names. Choice lists are narrowed to the user's subtree by the view."""

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from minyi.community.models import GridArea
from minyi.meetings.models import MeetingKind, MeetingStatus
from minyi.meetings.selectors import PAST, UPCOMING
from minyi.opinions.models import OpinionKind
from minyi.orgs.models import OrgUnit

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
_INVALID_WHEN = _("请填写正确的日期和时间。")


def _please_fill(label) -> str:
    return gettext("请填写%(label)s。") % {"label": label}


# Translated when a message is shown (in the request's language), not when this module loads.
_please_fill_lazy = lazy(_please_fill, str)


def _when(label):
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)
    messages = {"required": _please_fill_lazy(label), "invalid": _INVALID_WHEN}
    return forms.DateTimeField(
        label=label,
        widget=widget,
        input_formats=[LOCAL_FORMAT, "%Y-%m-%d %H:%M"],
        error_messages=messages,
    )


class _UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class _CommunityChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} · {obj.station.display_name}"


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=MeetingKind.choices)
    unit = _UnitChoice(
        label=_("主办单位"),
        queryset=OrgUnit.objects.none(),
        error_messages={"required": _("请选择主办单位。")},
    )
    community = _CommunityChoice(
        label=_("社区（选填）"),
        queryset=GridArea.objects.none(),
        required=False,
        help_text=_("恳谈会一般在社区召开；全局性的活动可不选。"),
    )
    title = forms.CharField(label=_("主题"), max_length=100)
    place = forms.CharField(label=_("地点"), max_length=100)
    starts_at = _when(_("开始时间"))
    ends_at = _when(_("结束时间"))
    agenda = forms.CharField(
        label=_("议程（公开）"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args, units=None, communities=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units
        if communities is not None:
            self.fields["community"].queryset = communities

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("结束时间须晚于开始时间。"))
        return data


class QuestionForm(forms.Form):
    """A citizen's question: their words (kept in the opinion, staff only), the public summary
    staff write without personal data, and a contact only with the citizen's consent."""

    kind = forms.ChoiceField(
        label=_("诉求类别"), choices=OpinionKind.choices, initial=OpinionKind.CONSULTATION
    )
    content = forms.CharField(
        label=_("群众原话"),
        help_text=_("照录群众所提问题，仅民警可见。"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("请填写群众所提问题。")},
    )
    summary = forms.CharField(
        label=_("问题摘要（公开）"),
        max_length=200,
        help_text=_("公开在纪要中，不要写姓名、电话、住址等个人信息。"),
        error_messages={"required": _("请填写公开的问题摘要。")},
    )
    contact_name = forms.CharField(label=_("群众姓名（选填）"), required=False, max_length=30)
    mobile = forms.CharField(
        label=_("手机号码（选填）"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel"}),
        help_text=_("留了手机号的，受理和答复以短信告知。"),
    )
    consent = forms.BooleanField(label=_("群众同意留存联系方式，用于答复"), required=False)
    answered_on_spot = forms.BooleanField(label=_("已现场解答"), required=False)
    spot_answer = forms.CharField(
        label=_("现场解答（公开）"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PublicAnswerForm(forms.Form):
    """The answer the portal shows for an answered question, written for everyone to read."""

    public_answer = forms.CharField(
        label=_("公开答复"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("公开在纪要中，写明办理结果，不要写姓名、电话、住址等个人信息；留空则不公开。"),
        error_messages={"max_length": _("公开答复不能超过 %(limit_value)d 个字。")},
    )


class AttendanceForm(forms.Form):
    citizens_count = forms.IntegerField(
        label=_("参加群众人数"),
        min_value=0,
        max_value=100000,
        error_messages={"required": _("请填写参加群众人数。")},
    )
    officers_present = forms.CharField(
        label=_("出席民警"),
        max_length=300,
        help_text=_("如：张三（所长）、李四（社区民警）"),
        error_messages={"required": _("请填写出席民警。")},
    )


class MinutesForm(forms.Form):
    minutes = forms.CharField(
        label=_("会议纪要（公开）"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    follow_up = forms.CharField(
        label=_("后续成效（公开）"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("如：公交站扒窃团伙已打掉。可在纪要公开后随时补充。"),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("取消原因"), max_length=200, error_messages={"required": _("请填写取消原因。")}
    )


class RadioScheduleForm(forms.Form):
    """The 110直播室 on the coming working days."""

    unit = _UnitChoice(label=_("主办单位"), queryset=OrgUnit.objects.none())
    start = forms.DateField(
        label=_("起始日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    days = forms.IntegerField(label=_("工作日数"), min_value=1, max_value=20, initial=5)
    at = forms.TimeField(
        label=_("开播时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    minutes = forms.IntegerField(label=_("时长（分钟）"), min_value=10, max_value=240, initial=60)
    title = forms.CharField(label=_("主题"), max_length=100, initial=_("110直播室"))
    place = forms.CharField(label=_("播出频道"), max_length=100)

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units


class FilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("类型"), required=False, choices=[("", _("全部类型")), *MeetingKind.choices]
    )
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态")), *MeetingStatus.choices]
    )
    when = forms.ChoiceField(
        label=_("时间"),
        required=False,
        choices=[("", _("全部")), (UPCOMING, _("即将召开")), (PAST, _("已过去"))],
    )
