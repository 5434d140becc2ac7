"""Forms of community officers' work (社区民警工作): they collect, the services in
minyi/community/work.py decide. Choice lists are narrowed to the user's subtree by the view."""

from django import forms
from django.utils.translation import gettext_lazy

from minyi.community.models import GridArea, NoticeKind, VisitTopic
from minyi.orgs.models import Officer

_date = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _AreaChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        if obj.community_id and obj.community_id != obj.pk:
            return f"{obj.community.name} · {obj.name}"
        return obj.name


class _OfficerChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.police_number}）· {obj.unit.display_name}"


class DutyForm(forms.Form):
    officer = _OfficerChoice(label=gettext_lazy("社区民警"), queryset=Officer.objects.none())
    duties = forms.CharField(
        label=gettext_lazy("责任清单"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy(
            "每行一项，如“每月走访辖区出租房屋”。公开后显示在民警信息卡和社区页面上。"
        ),
    )
    published = forms.BooleanField(label=gettext_lazy("向群众公开"), required=False, initial=True)
    since = forms.DateField(label=gettext_lazy("任职日期"), required=False, widget=_date)

    def __init__(self, *args, officers=None, **kwargs):
        super().__init__(*args, **kwargs)
        if officers is not None:
            self.fields["officer"].queryset = officers


class VisitForm(forms.Form):
    area = _AreaChoice(label=gettext_lazy("走访网格"), queryset=GridArea.objects.none())
    officer = _OfficerChoice(
        label=gettext_lazy("走访民警"), queryset=Officer.objects.none(), required=False
    )
    visited_on = forms.DateField(label=gettext_lazy("走访日期"), widget=_date)
    topic = forms.ChoiceField(label=gettext_lazy("事由"), choices=VisitTopic.choices)
    households = forms.IntegerField(
        label=gettext_lazy("走访户数"), min_value=1, max_value=500, initial=1
    )
    note = forms.CharField(
        label=gettext_lazy("情况"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    follow_up = forms.CharField(
        label=gettext_lazy("后续事项"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("需要跟进的事项；办结后在走访记录中标记。"),
    )

    def __init__(self, *args, areas=None, officers=None, **kwargs):
        super().__init__(*args, **kwargs)
        if areas is not None:
            self.fields["area"].queryset = areas
        if officers is not None:
            self.fields["officer"].queryset = officers


class VisitFilterForm(forms.Form):
    community = forms.ModelChoiceField(
        label=gettext_lazy("社区"), queryset=GridArea.objects.none(), required=False
    )
    topic = forms.ChoiceField(
        label=gettext_lazy("事由"),
        choices=[("", gettext_lazy("全部")), *VisitTopic.choices],
        required=False,
    )
    month = forms.DateField(
        label=gettext_lazy("月份"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    pending = forms.BooleanField(label=gettext_lazy("仅看后续未办结"), required=False)

    def __init__(self, *args, communities=None, **kwargs):
        super().__init__(*args, **kwargs)
        if communities is not None:
            self.fields["community"].queryset = communities


class MonthForm(forms.Form):
    month = forms.DateField(
        label=gettext_lazy("月份"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )


class NoticeForm(forms.Form):
    area = forms.ModelChoiceField(
        label=gettext_lazy("社区"), queryset=GridArea.objects.none(), empty_label=None
    )
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=NoticeKind.choices)
    title = forms.CharField(label=gettext_lazy("标题"), max_length=60)
    body = forms.CharField(
        label=gettext_lazy("内容"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "短信发给订阅本社区提醒的群众，并在社区公开页面显示。请勿写入个人信息或具体案发地点。"
        ),
    )

    def __init__(self, *args, communities=None, **kwargs):
        super().__init__(*args, **kwargs)
        if communities is not None:
            self.fields["area"].queryset = communities
