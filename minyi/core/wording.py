"""The project's words where Django has its own defaults, set once at start-up (CoreConfig)."""

from django.core import validators
from django.db.models import fields as model_fields
from django.forms import models as form_models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy


def use_project_wording():
    """Length errors in the project's words on every form (console, citizen pages, admin):
    "最多 200 字，当前 230 字。", not Django's "确保该值不超过 200 个字符（现在有 230 个）"."""
    validators.MaxLengthValidator.message = ngettext_lazy(
        "最多 %(limit_value)d 字，当前 %(show_value)d 字。",
        "最多 %(limit_value)d 字，当前 %(show_value)d 字。",
        "limit_value",
    )
    validators.MinLengthValidator.message = ngettext_lazy(
        "至少 %(limit_value)d 字，当前 %(show_value)d 字。",
        "至少 %(limit_value)d 字，当前 %(show_value)d 字。",
        "limit_value",
    )
    # Selects start with a prompt, not "---------": a form's foreign keys (ModelChoiceField's
    # default empty_label) and a model field's choices (BLANK_CHOICE_DASH, the default argument
    # of Field.get_choices, changed in place so that default sees it too).
    form_models.ModelChoiceField.__init__.__kwdefaults__ = {
        **(form_models.ModelChoiceField.__init__.__kwdefaults__ or {}),
        "empty_label": _("请选择…"),
    }
    model_fields.BLANK_CHOICE_DASH[:] = [("", _("请选择…"))]
