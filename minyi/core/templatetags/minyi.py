from django import template
from django.utils.translation import gettext_lazy as _

from minyi.core import pii

register = template.Library()

register.filter("mask_mobile", pii.mask_mobile)
register.filter("mask_id_number", pii.mask_id_number)
register.filter("mask_text", pii.mask_text)

_REVIEW_REASONS = {
    "unparsed": _("无法识别"),
    "no_open_survey": _("无对应回访"),
    "invalid_sender": _("号码异常"),
}


@register.filter
def review_reason(code):
    return _REVIEW_REASONS.get(code, code)


@register.filter
def percent(value, digits=1):
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f}%"


# Codes kept as plain strings in the data (an API's vocabulary), shown by their Chinese names.
_CODE_LABELS = {
    "channel": {"sms": _("短信"), "h5": _("网页"), "paper": _("纸质"), "phone": _("电话")},
    "import_status": {
        "accepted": _("已导入"),
        "duplicate": _("重复，已跳过"),
        "rejected": _("未导入"),
    },
}


@register.filter
def code_label(code, kind):
    """`{{ reply.channel|code_label:"channel" }}` → 短信. An unknown code shows as it is."""
    return _CODE_LABELS.get(kind, {}).get(code, code)
