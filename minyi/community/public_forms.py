"""Forms of the citizen pages of community safety: the subscription form carries a mobile and
its one-time code (OtpPurpose.NOTICE_SUBSCRIBE, subject = the community's grid code)."""

from django import forms
from django.utils.translation import gettext_lazy


class SubscribeForm(forms.Form):
    mobile = forms.CharField(
        label=gettext_lazy("手机号码"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    code = forms.CharField(
        label=gettext_lazy("短信验证码"),
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class FinderForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("社区名称"), required=False, max_length=30)
