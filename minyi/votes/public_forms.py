"""Forms of the citizen's vote pages (票选). They only read what was sent: the choices as
numbers, the mobile in its normal form. Whether the choices are allowed (how many, which, the
window) is ballot_cast's decision, so the page and the API refuse with the same words."""

import unicodedata

from django import forms
from django.utils.translation import gettext_lazy

from minyi.core.errors import ApplicationError
from minyi.core.pii import normalize_mobile
from minyi.votes.keys import receipt_normalize
from minyi.votes.models import MAX_OPTIONS


class ChoiceNumbersField(forms.Field):
    """The ticked options' numbers, as sent (repeats kept: the service refuses them)."""

    widget = forms.SelectMultiple

    def to_python(self, value):
        if not value:
            return []
        if not isinstance(value, (list, tuple)):
            value = [value]
        if len(value) > MAX_OPTIONS * 2:
            raise forms.ValidationError(gettext_lazy("选择的项目过多。"))
        numbers = []
        for item in value:
            text = unicodedata.normalize("NFKC", str(item)).strip()
            if not text.isascii() or not text.isdigit() or len(text) > 4:
                raise forms.ValidationError(gettext_lazy("所选项目不属于本次投票。"))
            numbers.append(int(text))
        return numbers


def _code_field() -> forms.CharField:
    """The SMS code box: otp_verify forgives spaces and full-width digits."""
    return forms.CharField(
        label=gettext_lazy("短信验证码"),
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
        error_messages={"max_length": gettext_lazy("请输入短信中的 6 位数字验证码。")},
    )


class BallotForm(forms.Form):
    choices = ChoiceNumbersField(label=gettext_lazy("您的选择"), required=False)
    mobile = forms.CharField(
        label=gettext_lazy("手机号码"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={"required": gettext_lazy("请填写手机号码，用于验证身份（一人一票）。")},
    )
    code = _code_field()
    id_number = forms.CharField(
        label=gettext_lazy("身份证号"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"max_length": gettext_lazy("身份证号为 18 位。")},
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        if not campaign.require_id_number:
            del self.fields["id_number"]

    def clean_mobile(self):
        try:
            return normalize_mobile(self.cleaned_data["mobile"])
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from exc

    def ticked(self) -> set[int]:
        """The numbers ticked, for re-rendering the form (bound or not)."""
        if not self.is_bound:
            return set()
        try:
            return set(self.fields["choices"].to_python(self.data.getlist("choices")))
        except forms.ValidationError:
            return set()


class ReceiptLookupForm(forms.Form):
    receipt = forms.CharField(
        label=gettext_lazy("回执码"),
        max_length=30,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "placeholder": "XXXX-XXXX-XX",
            }
        ),
        error_messages={"required": gettext_lazy("请输入投票后获得的回执码。")},
    )

    def clean_receipt(self):
        receipt = receipt_normalize(unicodedata.normalize("NFKC", self.cleaned_data["receipt"]))
        if not receipt:
            raise forms.ValidationError(
                gettext_lazy("回执码格式不正确：应为 10 位字母和数字，如 K7Q2-M9XD-3F。")
            )
        return receipt
