"""Forms of the staff opinion pages. They only collect input: the services check it (length,
amount, state, scope), and the views put a service's refusal on the field it names."""

from django import forms
from django.utils.translation import gettext_lazy as _

from minyi.opinions.models import TipVerdict


class _Prefixed(forms.Form):
    """Each action's form on the one page gets its own ids (answer_note, transfer_note …)."""

    prefix_id = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.prefix_id}_%s")
        super().__init__(*args, **kwargs)


class AnswerForm(_Prefixed):
    prefix_id = "answer"
    answer = forms.CharField(
        label=_("答复内容"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": 5000}),
    )


class TransferForm(_Prefixed):
    prefix_id = "transfer"
    unit = forms.ModelChoiceField(
        label=_("转办至"),
        queryset=None,
        empty_label=_("请选择单位"),
        error_messages={
            "required": _("请选择转办单位。"),
            "invalid_choice": _("只能转办给本单位及下级单位。"),
        },
    )
    note = forms.CharField(
        label=_("转办说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500}),
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].label_from_instance = lambda u: u.display_name


class VerdictForm(_Prefixed):
    prefix_id = "verdict"
    verdict = forms.ChoiceField(
        label=_("核实结果"),
        choices=[
            (TipVerdict.VERIFIED, _("属实")),
            (TipVerdict.UNFOUNDED, _("不实")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择核实结果。")},
    )
    note = forms.CharField(
        label=_("核实情况"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )


class RewardProposeForm(_Prefixed):
    prefix_id = "reward"
    amount = forms.CharField(
        label=_("奖励金额（元）"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    reason = forms.CharField(
        label=_("奖励理由"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}),
    )


class RewardDecideForm(_Prefixed):
    prefix_id = "decide"
    decision = forms.ChoiceField(
        label=_("审批结论"),
        choices=[("approve", _("批准")), ("refuse", _("不予批准"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择审批结论。")},
    )
    note = forms.CharField(
        label=_("审批意见"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 1000}),
    )


class RewardPayForm(_Prefixed):
    prefix_id = "pay"
    reference = forms.CharField(
        label=_("发放凭证号"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 60}),
    )


class WallForm(_Prefixed):
    """Take a suggestion off the public wall (民意墙) or put it back; the button says which."""

    prefix_id = "wall"
    hide = forms.TypedChoiceField(
        choices=[("1", _("撤下")), ("0", _("恢复"))],
        coerce=lambda value: value == "1",
        widget=forms.HiddenInput,
        error_messages={"required": _("请选择撤下或恢复。")},
    )
    reason = forms.CharField(
        label=_("撤下理由"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 200}),
    )
