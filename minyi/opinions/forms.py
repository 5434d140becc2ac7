"""Forms of the staff opinion pages. They only collect input: the services check it (length,
amount, state, scope), and the views put a service's refusal on the field it names."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from minyi.core.errors import ApplicationError
from minyi.opinions.models import ONLINE_CHANNELS, OpinionChannel, OpinionKind, TipVerdict
from minyi.opinions.public_forms import MultipleFileField
from minyi.opinions.services.intake import (
    KEY_IN_MAX_AGE_DAYS,
    KEYED_CONTENT_MAX,
    POSTAL_ADDRESS_MAX,
    opinion_photos_check,
    received_too_old_message,
)
from minyi.orgs.selectors import orgunit_list_visible_to

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
OFFLINE_CHANNELS = [(v, label) for v, label in OpinionChannel.choices if v not in ONLINE_CHANNELS]


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


class KeyInForm(forms.Form):
    """An opinion from an offline channel, typed in by staff (线下录入). The service decides
    (scope of the unit, lengths, the mobile); the form catches what a clerk most often
    forgets: the channel, a time in the future or too long ago (a mistyped year), a contact
    without the citizen's consent."""

    channel = forms.ChoiceField(
        label=_("受理渠道"),
        choices=[("", _("请选择")), *OFFLINE_CHANNELS],
        error_messages={
            "required": _("请选择受理渠道。"),
            "invalid_choice": _("请选择受理渠道。"),
        },
    )
    kind = forms.ChoiceField(
        label=_("诉求类别"),
        choices=OpinionKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择诉求类别。")},
    )
    received_at = forms.DateTimeField(
        label=_("收到时间"),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        error_messages={
            "required": _("请填写收到时间。"),
            "invalid": _("请填写正确的日期和时间。"),
        },
    )
    content = forms.CharField(
        label=_("诉求内容"),
        required=False,
        help_text=_("照录群众原话；纸质原件请拍照上传。"),
        widget=forms.Textarea(attrs={"rows": 7, "maxlength": KEYED_CONTENT_MAX}),
    )
    paper = MultipleFileField(label=_("纸质原件照片（选填，最多 3 张 JPG/PNG）"), required=False)
    contact_name = forms.CharField(
        label=_("群众姓名（选填）"),
        required=False,
        max_length=30,
        error_messages={"max_length": _("姓名不能超过 30 个字。")},
    )
    mobile = forms.CharField(
        label=_("手机号码（选填）"),
        required=False,
        max_length=20,
        help_text=_("有手机号的，受理和答复均以短信告知。"),
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    postal_address = forms.CharField(
        label=_("通信地址（选填）"),
        required=False,
        max_length=POSTAL_ADDRESS_MAX,
        help_text=_("没有手机号、只有地址的，答复后打印书面回函寄出。"),
    )
    consent = forms.BooleanField(label=_("群众同意留存以上联系方式，用于答复"), required=False)
    area = forms.CharField(
        label=_("涉及地点或区域（选填）"),
        required=False,
        max_length=100,
        error_messages={"max_length": _("地点不能超过 100 个字。")},
    )
    unit = forms.ModelChoiceField(
        label=_("承办单位（选填）"),
        required=False,
        queryset=None,
        empty_label=_("按地点自动分派"),
        error_messages={"invalid_choice": _("只能交给本单位及下级单位办理。")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = orgunit_list_visible_to(user).filter(is_active=True)
        self.fields["unit"].label_from_instance = lambda unit: unit.name
        # Built here, in the request's language (a lazy string formatted with % at import
        # time would be frozen in the language active then).
        self.fields["postal_address"].error_messages["max_length"] = gettext(
            "通信地址不能超过 %(n)d 个字。"
        ) % {"n": POSTAL_ADDRESS_MAX}
        if not self.is_bound:
            self.initial.setdefault("received_at", timezone.localtime().replace(second=0))

    def clean_received_at(self):
        value = self.cleaned_data["received_at"]
        now = timezone.now()
        # A minute's grace: the clock on the clerk's screen and ours may differ a little.
        if value > now + timedelta(minutes=1):
            raise forms.ValidationError(_("收到时间不能晚于现在。"))
        if value < now - timedelta(days=KEY_IN_MAX_AGE_DAYS):
            raise forms.ValidationError(received_too_old_message())
        return value

    def clean_paper(self):
        paper = self.cleaned_data["paper"]
        try:
            opinion_photos_check(paper)
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from exc
        return paper

    def clean(self):
        data = super().clean()
        has_contact = any(data.get(name) for name in ("contact_name", "mobile", "postal_address"))
        if has_contact and not data.get("consent"):
            self.add_error(
                "consent",
                _("留存群众的姓名、手机或地址须经本人同意；未同意的，请勾选同意或清空联系方式。"),
            )
        return data

    @property
    def no_contact(self) -> bool:
        """Whether the (valid) form carries no contact at all: then no answer can be sent."""
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(name) for name in ("mobile", "postal_address"))


class ChannelRatesForm(forms.Form):
    """The period of the reply-rate table: the last 30 days unless chosen."""

    start = forms.DateField(
        label=_("开始日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("请填写正确的日期。")},
    )
    end = forms.DateField(
        label=_("结束日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("请填写正确的日期。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.initial.setdefault("start", today - timedelta(days=29))
        self.initial.setdefault("end", today)

    def period(self):
        """(first day, last day) chosen, or the last 30 days when nothing valid is."""
        start, end = self.initial["start"], self.initial["end"]
        if self.is_valid():
            end = self.cleaned_data.get("end") or end
            start = self.cleaned_data.get("start") or end - timedelta(days=29)
        return start, end

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("结束日期不能早于开始日期。"))
        if start and end and (end - start).days > 366:
            self.add_error("end", _("统计期间最长一年。"))
        return data
