"""Forms of mobile service appointments: the citizen's booking and look-up (each carries a
mobile and its one-time code, OtpPurpose.APPOINTMENT) and the staff's slots and outcomes."""

from datetime import time

from django import forms
from django.utils.translation import gettext_lazy

from minyi.appointments.models import Applicant, ServiceKind, VisitPlace
from minyi.verification.forms import ProvenMobileForm

# The two periods a week of slots is usually made of (上午 / 下午).
PERIODS = {
    "am": (time(9, 0), time(11, 30)),
    "pm": (time(14, 0), time(17, 0)),
    "eve": (time(18, 30), time(20, 0)),
}
PERIOD_CHOICES = [
    ("am", gettext_lazy("上午 09:00–11:30")),
    ("pm", gettext_lazy("下午 14:00–17:00")),
    ("eve", gettext_lazy("晚间 18:30–20:00")),
]
WEEKDAY_CHOICES = [
    (0, gettext_lazy("周一")),
    (1, gettext_lazy("周二")),
    (2, gettext_lazy("周三")),
    (3, gettext_lazy("周四")),
    (4, gettext_lazy("周五")),
    (5, gettext_lazy("周六")),
    (6, gettext_lazy("周日")),
]


class FinderForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("派出所或社区名称"), required=False, max_length=30)


class BookingForm(ProvenMobileForm):
    """The slot is validated by the service (past, full, closed, another station's), so that
    a stale choice comes back with its own message and everything else typed is kept."""

    slot = forms.CharField(
        label=gettext_lazy("预约时段"),
        error_messages={"required": gettext_lazy("请选择预约时段。")},
    )
    applicant = forms.ChoiceField(
        label=gettext_lazy("服务对象"),
        choices=Applicant.choices,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择服务对象。")},
    )
    service = forms.ChoiceField(
        label=gettext_lazy("办理事项"),
        choices=ServiceKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择办理事项。")},
    )
    place = forms.ChoiceField(
        label=gettext_lazy("办理地点"),
        choices=VisitPlace.choices,
        widget=forms.RadioSelect,
        initial=VisitPlace.HOME,
        error_messages={"required": gettext_lazy("请选择办理地点。")},
    )
    name = forms.CharField(
        label=gettext_lazy("姓名"),
        max_length=30,
        error_messages={"required": gettext_lazy("请填写姓名。")},
    )
    address = forms.CharField(
        label=gettext_lazy("上门地址"),
        max_length=200,
        error_messages={"required": gettext_lazy("请填写上门地址。")},
    )
    note = forms.CharField(
        label=gettext_lazy("补充说明（选填）"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )
    field_order = ["slot", "applicant", "service", "place", "name", "address", "note"]


class LookupForm(ProvenMobileForm):
    number = forms.CharField(
        label=gettext_lazy("预约编号"),
        max_length=20,
        error_messages={"required": gettext_lazy("请填写预约编号。")},
    )
    field_order = ["number", "mobile", "code"]


class SlotWeekForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=gettext_lazy("派出所"),
        queryset=None,
        error_messages={"required": gettext_lazy("请选择派出所。")},
    )
    week_start = forms.DateField(
        label=gettext_lazy("起始日期"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": gettext_lazy("请选择起始日期。")},
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("星期"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        initial=[0, 1, 2, 3, 4],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("请至少选择一天。")},
    )
    periods = forms.MultipleChoiceField(
        label=gettext_lazy("时段"),
        choices=PERIOD_CHOICES,
        initial=["am", "pm"],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("请至少选择一个时段。")},
    )
    capacity = forms.IntegerField(
        label=gettext_lazy("每个时段可预约数"), min_value=1, max_value=50, initial=3
    )
    note = forms.CharField(label=gettext_lazy("说明（选填）"), required=False, max_length=100)

    def __init__(self, *args, stations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = stations
        only = list(stations[:2])
        if len(only) == 1:
            self.fields["unit"].initial = only[0].pk


class OutcomeForm(forms.Form):
    DONE, NO_SHOW, CANCEL = "done", "no_show", "cancel"
    result = forms.ChoiceField(
        label=gettext_lazy("办理结果"),
        choices=[
            (DONE, gettext_lazy("已办结")),
            (NO_SHOW, gettext_lazy("未办成")),
            (CANCEL, gettext_lazy("取消预约")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择办理结果。")},
    )
    text = forms.CharField(
        label=gettext_lazy("情况说明（未办成、取消时必填）"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )
