"""Forms of the accountability pages. They only collect input: the services check it
(required, length, state, who), and the views put a service's refusal on the field it names."""

from django import forms
from django.utils.translation import gettext_lazy as _

from minyi.accountability.models import Decision
from minyi.accountability.selectors import REASON_MAX_CHARS, REPLY_MAX_CHARS


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("书面说明"),
        required=False,
        help_text=_("说明情况、原因和已采取的整改措施，不超过 2000 字。"),
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": REPLY_MAX_CHARS}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "reply_%s")
        super().__init__(*args, **kwargs)


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("处理决定"),
        choices=Decision.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择处理决定。"),
            "invalid_choice": _("请选择处理决定。"),
        },
    )
    reason = forms.CharField(
        label=_("决定理由"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": REASON_MAX_CHARS}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "decide_%s")
        super().__init__(*args, **kwargs)
