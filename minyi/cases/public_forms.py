"""Forms of the party's case pages (阳光警务). They check the shape of what was typed; the
services decide (checksum, case found, code right)."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minyi.opinions.services.intake import CONTENT_MAX, CONTENT_MIN


class UnechoedTextInput(forms.TextInput):
    """A text input that never writes what was typed back into the page: an ID number must
    not stay on the screen of a shared phone (or in its page cache) after a refusal."""

    def format_value(self, value):
        return None


class LookupForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("案件编号"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        error_messages={
            "required": gettext_lazy("请输入案件编号。"),
            "max_length": gettext_lazy("案件编号不超过 40 个字符。"),
        },
    )
    id_number = forms.CharField(
        label=gettext_lazy("身份证号码"),
        max_length=30,
        widget=UnechoedTextInput(attrs={"autocomplete": "off", "maxlength": 18}),
        error_messages={
            "required": gettext_lazy("请输入当事人身份证号码。"),
            "max_length": gettext_lazy("身份证号码应为 18 位。"),
        },
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("短信验证码"),
        required=False,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
        error_messages={"max_length": gettext_lazy("请输入短信中的 6 位数字验证码。")},
    )


class ComplaintForm(forms.Form):
    """A complaint about a case is never anonymous: the case names the party to any unit that
    can open it. It goes in the party's name, to the unit above the handling unit."""

    content = forms.CharField(
        label=gettext_lazy("投诉内容"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def clean_content(self):
        content = self.cleaned_data["content"].strip()
        if len(content) < CONTENT_MIN:
            raise forms.ValidationError(_("内容至少 %(n)d 个字。") % {"n": CONTENT_MIN})
        if len(content) > CONTENT_MAX:
            raise forms.ValidationError(
                _("内容不能超过 %(n)d 个字（现有 %(len)d 个字）。")
                % {"n": CONTENT_MAX, "len": len(content)}
            )
        return content
