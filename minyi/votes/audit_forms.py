"""Forms of the votes audit pages: paper keying, the third keying of a mismatch, a stuffing
flag's decision. They only collect input: the services check it and the views put a refusal
on the field it names."""

from django import forms
from django.utils.translation import gettext_lazy as _

from minyi.votes.models import Channel, FlagStatus, RejectReason
from minyi.votes.stuffing import NOTE_MAX_CHARS


class _SheetForm(forms.Form):
    mobile = forms.CharField(
        label=_("手机号"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    unreadable = forms.BooleanField(label=_("无法辨认"), required=False)
    # Only on a campaign that requires an ID number (身份证号); removed otherwise.
    id_number = forms.CharField(
        label=_("身份证号"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    id_unreadable = forms.BooleanField(
        label=_("身份证号无法辨认"),
        required=False,
        help_text=_("身份证号无法辨认或未填写的票选表判为无效票。"),
    )
    choices = forms.TypedMultipleChoiceField(
        label=_("所选候选项"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("按票选表勾选；票选表上的选择超过限选数量时也照实录入，系统会判为无效票。"),
    )

    def __init__(self, *args, options=(), require_id_number=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["choices"].choices = [(o.number, f"{o.number}. {o.title}") for o in options]
        if not require_id_number:
            del self.fields["id_number"]
            del self.fields["id_unreadable"]

    def sheet_data(self) -> dict:
        """The keyword arguments of paper.sheet_key / sheet_resolve (serial aside)."""
        data = self.cleaned_data
        return {
            "mobile": data["mobile"],
            "unreadable": data["unreadable"],
            "id_number": data.get("id_number", ""),
            "id_unreadable": data.get("id_unreadable", False),
            "choices": data["choices"],
        }


class PaperKeyForm(_SheetForm):
    serial = forms.CharField(label=_("票号"), max_length=30)
    field_order = ["serial", "mobile", "unreadable", "id_number", "id_unreadable", "choices"]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "key_%s")
        super().__init__(*args, **kwargs)


class ResolveForm(_SheetForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "resolve_%s")
        super().__init__(*args, **kwargs)


class FlagDecideForm(forms.Form):
    status = forms.ChoiceField(
        label=_("复核结论"),
        choices=[
            (FlagStatus.CLEARED, FlagStatus.CLEARED.label),
            (FlagStatus.CONFIRMED, FlagStatus.CONFIRMED.label),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择复核结论。"), "invalid_choice": _("请选择复核结论。")},
    )
    note = forms.CharField(
        label=_("复核意见"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": NOTE_MAX_CHARS}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "decide_%s")
        super().__init__(*args, **kwargs)


class RejectionFilterForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("原因"), required=False, choices=[("", _("全部原因")), *RejectReason.choices]
    )
    channel = forms.ChoiceField(
        label=_("渠道"), required=False, choices=[("", _("全部渠道")), *Channel.choices]
    )
