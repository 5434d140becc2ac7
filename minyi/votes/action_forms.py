"""Forms of the chosen actions' pages (惠民实事落实): staff forms collect, the services in
minyi/votes/actions.py decide; the citizen's follow form carries a mobile and its code."""

from django import forms
from django.utils.translation import gettext_lazy

from minyi.opinions.public_forms import MultipleFileField
from minyi.orgs.models import OrgUnit
from minyi.verification.forms import ProvenMobileForm
from minyi.votes.actions import TARGET_MAX, TEXT_MAX

_date = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PlanForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=gettext_lazy("责任单位"), queryset=OrgUnit.objects.none(), empty_label=None
    )
    target = forms.CharField(
        label=gettext_lazy("目标"),
        required=False,
        max_length=TARGET_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("向群众公开，如“年底前新增 20 个电动自行车集中充电点”。"),
    )

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units


class MilestoneForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("节点"), max_length=100)
    due_on = forms.DateField(label=gettext_lazy("计划完成"), widget=_date)


class MilestoneDoneForm(forms.Form):
    done_on = forms.DateField(label=gettext_lazy("实际完成"), widget=_date)


class UpdateForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("进展情况"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    percent_done = forms.IntegerField(
        label=gettext_lazy("完成进度（%）"), min_value=0, max_value=100
    )
    lower_reason = forms.CharField(
        label=gettext_lazy("进度下调说明"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("进度低于上次公布时必填，将随进展一并公开。"),
    )
    figure_label = forms.CharField(
        label=gettext_lazy("数据名称"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("可选，如“受益群众（人）”。"),
    )
    figure_value = forms.DecimalField(
        label=gettext_lazy("数据"), required=False, max_digits=12, decimal_places=2
    )
    photos = MultipleFileField(
        label=gettext_lazy("照片"),
        required=False,
        help_text=gettext_lazy("最多 3 张 JPG 或 PNG 照片。"),
    )


class FollowForm(ProvenMobileForm):
    """Follow an action's updates by SMS."""
