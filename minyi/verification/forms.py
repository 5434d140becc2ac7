"""The citizen's proof of a mobile on a page: the number and, once sent, its one-time code."""

from django import forms
from django.utils.translation import gettext_lazy


class ProvenMobileForm(forms.Form):
    """A mobile and its code (blank while the citizen first asks for one): following an
    action, subscribing to a community's notices."""

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
