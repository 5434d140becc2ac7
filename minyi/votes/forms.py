"""Forms of the campaign staff pages. They only collect input: the services check it (the
window, the number of choices, the code, the state), and the views put a service's refusal
on the field it names."""

from django import forms
from django.utils.translation import gettext_lazy as _

from minyi.orgs.selectors import orgunit_list_visible_to
from minyi.votes.models import MAX_OPTIONS, CampaignKind

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _datetime_field(label):
    return forms.DateTimeField(
        label=label,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        error_messages={
            "required": _("请填写%(label)s。") % {"label": label},
            "invalid": _("请填写正确的日期和时间。"),
        },
    )


class CampaignEditForm(forms.Form):
    title = forms.CharField(
        label=_("标题"),
        max_length=100,
        error_messages={"required": _("请填写标题。")},
    )
    description = forms.CharField(
        label=_("说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("向群众说明本次投票的目的、规则和结果的用途。"),
    )
    kind = forms.ChoiceField(
        label=_("投票方式"),
        choices=CampaignKind.choices,
        initial=CampaignKind.SINGLE,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择投票方式。"), "invalid_choice": _("请选择投票方式。")},
    )
    max_choices = forms.IntegerField(
        label=_("最多可选"),
        min_value=1,
        max_value=MAX_OPTIONS,
        initial=1,
        help_text=_("单选投票固定为 1 项。"),
        error_messages={
            "required": _("请填写最多可选项数。"),
            "invalid": _("请填写整数。"),
            "min_value": _("最多可选项数至少为 1。"),
            "max_value": _("最多可选项数不能超过 %(limit_value)s。"),
        },
    )
    opens_at = _datetime_field(_("开始时间"))
    closes_at = _datetime_field(_("截止时间"))
    show_shares = forms.BooleanField(
        label=_("投票期间公开得票"),
        required=False,
        help_text=_("不勾选时，投票期间公众页面只显示参与人数。"),
    )
    require_id_number = forms.BooleanField(
        label=_("需要身份证号"),
        required=False,
        help_text=_("勾选后每个身份证号也只能投一次。"),
    )

    def clean(self):
        data = super().clean()
        if data.get("kind") == CampaignKind.SINGLE:
            data["max_choices"] = 1
            self.errors.pop("max_choices", None)
        return data


class CampaignForm(CampaignEditForm):
    unit = forms.ModelChoiceField(
        label=_("主办单位"),
        queryset=None,
        empty_label=None,
        error_messages={"required": _("请选择主办单位。"), "invalid_choice": _("请选择主办单位。")},
    )
    code = forms.CharField(
        label=_("链接代码"),
        max_length=20,
        required=False,
        help_text=_("公众链接 /c/votes/代码/ 中的代码，小写字母或数字；不填则自动生成。"),
    )

    field_order = ["unit", "title", "description", "kind", "max_choices", "opens_at", "closes_at"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = orgunit_list_visible_to(user)
        self.fields["unit"].label_from_instance = lambda unit: unit.name
        if user.unit_id and not self.is_bound:
            self.fields["unit"].initial = user.unit_id


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern); the service checks them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class OptionForm(forms.Form):
    title = forms.CharField(
        label=_("候选项名称"), max_length=100, error_messages={"required": _("请填写候选项名称。")}
    )
    text = forms.CharField(
        label=_("介绍"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    unit = forms.ModelChoiceField(
        label=_("单位"),
        queryset=None,
        required=False,
        help_text=_("参评的派出所，或建议承办的单位。"),
    )
    opinion_number = forms.CharField(
        label=_("来源群众建议受理编号"),
        max_length=20,
        required=False,
        help_text=_("项目来自群众建议时填写，投票页面会显示该编号。"),
    )
    photos = MultipleFileField(
        label=_("照片"), required=False, help_text=_("JPG 或 PNG，最多 3 张，每张不超过 5 MB。")
    )

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("auto_id", "option_%s")
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = orgunit_list_visible_to(user)
        self.fields["unit"].label_from_instance = lambda unit: unit.name
