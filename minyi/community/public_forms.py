"""Forms of the citizen pages of community safety: the subscription form carries a mobile and
its one-time code (OtpPurpose.NOTICE_SUBSCRIBE, subject = the community's grid code)."""

from django import forms
from django.utils.translation import gettext_lazy

from minyi.verification.forms import ProvenMobileForm


class SubscribeForm(ProvenMobileForm):
    """Subscribe to a community's safety notices (or stop them)."""


class FinderForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("社区名称"), required=False, max_length=30)
