"""Forms of volunteers' pages: they collect, the services decide (consent included, so that a
refusal reads the same on every front end). Choice lists are narrowed by the view to the
user's subtree (staff) or the station (citizen)."""

from django import forms
from django.utils.translation import gettext_lazy

from minyi.community.models import GridArea
from minyi.orgs.models import OrgUnit
from minyi.verification.forms import ProvenMobileForm
from minyi.volunteers.models import (
    ActivityKind,
    Availability,
    PartnerKind,
    PartnerOrganisation,
    Skill,
    VolunteerStatus,
)

_datetime = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_date = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class _AreaChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        key = gettext_lazy("（重点）") if obj.is_key else ""
        return f"{obj.station.name} · {obj.name}{key}"


def _narrow(form, **querysets) -> None:
    for name, queryset in querysets.items():
        if queryset is not None:
            form.fields[name].queryset = queryset


class _PersonFields(forms.Form):
    """What a volunteer tells about themself, on the staff form and the citizen's."""

    name = forms.CharField(label=gettext_lazy("姓名"), max_length=30)
    community = forms.ModelChoiceField(
        label=gettext_lazy("所在社区"), queryset=GridArea.objects.none(), required=False
    )
    skills = forms.MultipleChoiceField(
        label=gettext_lazy("特长"),
        choices=Skill.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    availability = forms.MultipleChoiceField(
        label=gettext_lazy("可参与时间"),
        choices=Availability.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    availability_note = forms.CharField(
        label=gettext_lazy("时间说明"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("如“每周六上午”“晚上 7 点后”。"),
    )
    public_name = forms.BooleanField(
        label=gettext_lazy("同意在表彰榜上公开姓名（不同意则只显示姓氏，如“张**”）"),
        required=False,
    )


class VolunteerForm(_PersonFields):
    unit = _UnitChoice(label=gettext_lazy("所属派出所"), queryset=OrgUnit.objects.none())
    mobile = forms.CharField(
        label=gettext_lazy("手机号码"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    organisation = forms.ModelChoiceField(
        label=gettext_lazy("所属合作单位"),
        queryset=PartnerOrganisation.objects.none(),
        required=False,
    )
    consent = forms.BooleanField(
        label=gettext_lazy("本人已同意（已向本人宣读志愿者个人信息告知书）"), required=False
    )
    field_order = ["unit", "name", "mobile", "community", "organisation"]

    def __init__(self, *args, stations=None, communities=None, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        _narrow(self, unit=stations, community=communities, organisation=organisations)


class VolunteerFilterForm(forms.Form):
    unit = _UnitChoice(
        label=gettext_lazy("派出所"), queryset=OrgUnit.objects.none(), required=False
    )
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        choices=[("", gettext_lazy("全部状态")), *VolunteerStatus.choices],
        required=False,
    )
    skill = forms.ChoiceField(
        label=gettext_lazy("特长"),
        choices=[("", gettext_lazy("全部特长")), *Skill.choices],
        required=False,
    )
    organisation = forms.ModelChoiceField(
        label=gettext_lazy("合作单位"),
        queryset=PartnerOrganisation.objects.none(),
        required=False,
        empty_label=gettext_lazy("全部合作单位"),
    )
    mobile = forms.CharField(label=gettext_lazy("手机号码"), max_length=20, required=False)

    def __init__(self, *args, stations=None, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        _narrow(self, unit=stations, organisation=organisations)


class OrganisationForm(forms.Form):
    unit = _UnitChoice(label=gettext_lazy("所属派出所"), queryset=OrgUnit.objects.none())
    name = forms.CharField(label=gettext_lazy("单位名称"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("类别"), choices=PartnerKind.choices)
    contact_name = forms.CharField(label=gettext_lazy("联系人"), max_length=30, required=False)
    contact_mobile = forms.CharField(label=gettext_lazy("联系电话"), max_length=20, required=False)
    active = forms.BooleanField(label=gettext_lazy("合作中"), required=False, initial=True)

    def __init__(self, *args, stations=None, **kwargs):
        super().__init__(*args, **kwargs)
        _narrow(self, unit=stations)


class ActivityForm(forms.Form):
    unit = _UnitChoice(label=gettext_lazy("发布单位"), queryset=OrgUnit.objects.none())
    title = forms.CharField(label=gettext_lazy("活动名称"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("类别"), choices=ActivityKind.choices)
    area = _AreaChoice(
        label=gettext_lazy("网格（巡逻区域）"),
        queryset=GridArea.objects.none(),
        required=False,
        help_text=gettext_lazy("巡逻活动必填；巡逻重点路段、重点区域的到场记录计入巡逻见警率。"),
    )
    place = forms.CharField(label=gettext_lazy("集合地点"), max_length=100, required=False)
    starts_at = forms.DateTimeField(label=gettext_lazy("开始时间"), widget=_datetime)
    ends_at = forms.DateTimeField(label=gettext_lazy("结束时间"), widget=_datetime)
    capacity = forms.IntegerField(label=gettext_lazy("招募人数"), min_value=1, initial=10)
    description = forms.CharField(
        label=gettext_lazy("活动说明"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, stations=None, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        _narrow(self, unit=stations, area=areas)


class PeriodForm(forms.Form):
    first = forms.DateField(label=gettext_lazy("起"), required=False, widget=_date)
    last = forms.DateField(label=gettext_lazy("止"), required=False, widget=_date)
    unit = _UnitChoice(
        label=gettext_lazy("派出所"), queryset=OrgUnit.objects.none(), required=False
    )

    def __init__(self, *args, stations=None, **kwargs):
        super().__init__(*args, **kwargs)
        _narrow(self, unit=stations)

    def clean(self):
        data = super().clean()
        if data.get("first") and data.get("last") and data["first"] > data["last"]:
            self.add_error("last", gettext_lazy("截止日期不能早于起始日期。"))
        return data


# --- Citizen forms ------------------------------------------------------------------------------


class JoinForm(_PersonFields, ProvenMobileForm):
    """Join as a volunteer (报名成为志愿者), with a proven mobile and the consent."""

    consent = forms.BooleanField(
        label=gettext_lazy("我已阅读并同意《志愿者个人信息告知书》"), required=False
    )

    def __init__(self, *args, communities=None, **kwargs):
        super().__init__(*args, **kwargs)
        _narrow(self, community=communities)


class SignupForm(ProvenMobileForm):
    """Sign up for an activity with the mobile the volunteer registered."""
