"""Forms of the work-order pages. They only collect input: the services check it (length,
file type and size, state), and the views put a service's refusal on the field it names."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from minyi.orgs.selectors import orgunit_list_visible_to
from minyi.perception.models import BusinessType
from minyi.workorders.services import MAX_EVIDENCE_FILES

EVIDENCE_ACCEPT = "image/jpeg,image/png,application/pdf"
TOO_LARGE = _("上传内容过大：一次提交合计不能超过 %(mb)d MB，请减少或压缩文件后重试。")


class ListFilterForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=_("单位"), required=False, queryset=None, empty_label=_("全部单位")
    )
    business_type = forms.ModelChoiceField(
        label=_("业务类型"),
        required=False,
        queryset=BusinessType.objects.order_by("code"),
        empty_label=_("全部业务"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = orgunit_list_visible_to(user)
        self.fields["unit"].label_from_instance = lambda u: u.display_name

    def value(self, name):
        return self.cleaned_data.get(name) if self.is_valid() else None


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": EVIDENCE_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class FeedbackForm(forms.Form):
    feedback_text = forms.CharField(
        label=_("整改情况"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": 5000}),
    )
    evidence = MultipleFileField(label=_("整改佐证（照片或 PDF）"), required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "feedback_%s")
        super().__init__(*args, **kwargs)
        self.fields["evidence"].help_text = _(
            "JPG、PNG 或 PDF，最多 %(n)d 个，每个不超过 %(each)d MB，合计不超过 %(total)d MB。"
        ) % {
            "n": MAX_EVIDENCE_FILES,
            "each": settings.EVIDENCE_MAX_BYTES // 2**20,
            "total": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20,
        }
        # The page's script warns before sending what the server would refuse anyway.
        self.fields["evidence"].widget.attrs.update(
            {
                "data-max-files": MAX_EVIDENCE_FILES,
                "data-max-bytes": settings.EVIDENCE_MAX_BYTES,
                "data-max-total": settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
                "data-msg-files": _("最多上传 %(n)d 个佐证文件。") % {"n": MAX_EVIDENCE_FILES},
                "data-msg-size": _("文件“{name}”超过 %(mb)d MB。")
                % {"mb": settings.EVIDENCE_MAX_BYTES // 2**20},
                "data-msg-total": TOO_LARGE % {"mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20},
            }
        )


class AppealForm(forms.Form):
    reason = forms.CharField(
        label=_("申诉理由"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "appeal_%s")
        super().__init__(*args, **kwargs)


class CloseForm(forms.Form):
    note = forms.CharField(
        label=_("审核意见（选填）"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 1000}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "close_%s")
        super().__init__(*args, **kwargs)


class ReturnForm(forms.Form):
    note = forms.CharField(
        label=_("退回原因"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 1000}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "return_%s")
        super().__init__(*args, **kwargs)


class AppealDecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("复核结论"),
        choices=[
            ("uphold", _("申诉成立（撤销工单，该评价不计入单位成绩）")),
            ("reject", _("申诉驳回")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择复核结论。")},
    )
    note = forms.CharField(
        label=_("复核意见"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "decide_%s")
        super().__init__(*args, **kwargs)


class RatingAppealDecideForm(AppealDecideForm):
    """The decision on an appeal of an unreasonable-demand rating: there is no order to
    cancel, only the rating to take out of the figures."""

    decision = forms.ChoiceField(
        label=_("复核结论"),
        choices=[
            ("uphold", _("申诉成立（该评价不计入单位和民警成绩）")),
            ("reject", _("申诉驳回")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择复核结论。")},
    )
