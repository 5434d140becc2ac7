"""Forms of the citizen's opinion pages (警务e广场). They check the shape of what was typed
before a one-time code is spent on it; the services stay the authority on every rule."""

import re
import unicodedata

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minyi.core.errors import ApplicationError
from minyi.core.pii import normalize_mobile
from minyi.opinions.models import OpinionKind
from minyi.opinions.services.intake import opinion_content_check, opinion_photos_check
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.perception.models import Rating

# The units a citizen may address directly; anything else goes through the perception centre.
ADDRESSABLE_KINDS = (
    UnitKind.POLICE_STATION,
    UnitKind.TRAFFIC_BRIGADE,
    UnitKind.CRIMINAL_BRIGADE,
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name; the list is checked as a whole in the form."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


def _code_field() -> forms.CharField:
    """The SMS code box. Roomy: a citizen may type "123 456" or full-width digits, which
    otp_verify forgives; it is the service that says whether the code is right."""
    return forms.CharField(
        label=gettext_lazy("短信验证码"),
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
        error_messages={"max_length": gettext_lazy("请输入短信中的 6 位数字验证码。")},
    )


def unit_choices() -> list:
    """Active stations and brigades, grouped under their district (one query each level)."""
    units = list(
        OrgUnit.objects.filter(is_active=True, kind__in=ADDRESSABLE_KINDS).order_by("path")
    )
    steplen = OrgUnit.steplen
    parent_paths = {unit.path[:-steplen] for unit in units if unit.depth > 1}
    parents = {unit.path: unit.name for unit in OrgUnit.objects.filter(path__in=parent_paths)}
    groups: dict[str, list] = {}
    for unit in units:
        group = parents.get(unit.path[:-steplen], "")
        groups.setdefault(group, []).append((str(unit.pk), unit.name))
    choices = [("", _("不清楚，由公安机关分派"))]
    for group, members in groups.items():
        if group:
            choices.append((group, members))
        else:
            choices.extend(members)
    return choices


class OpinionForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("留言类别"),
        choices=OpinionKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择留言类别。")},
    )
    content = forms.CharField(
        label=gettext_lazy("留言内容"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    area = forms.CharField(
        label=gettext_lazy("涉及地点或区域（选填）"),
        required=False,
        max_length=100,
        error_messages={"max_length": gettext_lazy("地点不能超过 100 个字。")},
    )
    unit = forms.ChoiceField(label=gettext_lazy("反映给哪个单位（选填）"), required=False)
    photos = MultipleFileField(
        label=gettext_lazy("照片（选填，最多 3 张 JPG/PNG）"), required=False
    )
    anonymous = forms.BooleanField(label=gettext_lazy("匿名留言"), required=False)
    contact_name = forms.CharField(
        label=gettext_lazy("姓名"),
        required=False,
        max_length=30,
        error_messages={"max_length": gettext_lazy("姓名不能超过 30 个字。")},
    )
    mobile = forms.CharField(
        label=gettext_lazy("手机号码"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={"required": gettext_lazy("请填写手机号码，答复将通过短信通知您。")},
    )
    code = _code_field()
    wall_consent = forms.BooleanField(
        label=gettext_lazy("同意在民意墙公开（隐去个人信息）"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = unit_choices()

    def clean_content(self):
        try:
            return opinion_content_check(self.cleaned_data["content"])
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from exc

    def clean_mobile(self):
        try:
            return normalize_mobile(self.cleaned_data["mobile"])
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from exc

    def clean_photos(self):
        photos = self.cleaned_data["photos"]
        try:
            opinion_photos_check(photos)
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from exc
        return photos

    def clean(self):
        data = super().clean()
        if (
            not data.get("anonymous")
            and not data.get("contact_name")
            and "contact_name" not in (self.errors)
        ):
            self.add_error("contact_name", _("实名留言请填写姓名，或选择匿名。"))
        return data


class LookupForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("留言编号（选填）"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "MY…"}),
        error_messages={"max_length": gettext_lazy("留言编号不超过 20 个字符。")},
    )
    mobile = forms.CharField(
        label=gettext_lazy("提交留言时的手机号码"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={"required": gettext_lazy("请填写手机号码。")},
    )
    code = _code_field()

    def clean_number(self):
        return clean_number(self.cleaned_data["number"])

    def clean_mobile(self):
        try:
            return normalize_mobile(self.cleaned_data["mobile"])
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from exc


def clean_number(value: str) -> str:
    """A tracking number as typed from an SMS: full-width letters and digits, spaces and
    lower case are forgiven ("my 2612 …" is MY2612…)."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", value or "")).upper()[:20]


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("您对答复是否满意"),
        choices=Rating.choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择评价等级。")},
    )
    comment = forms.CharField(
        label=gettext_lazy("评价意见（选填）"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": gettext_lazy("评价意见不能超过 500 个字。")},
    )
