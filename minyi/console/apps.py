from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy


class ConsoleConfig(AppConfig):
    name = "minyi.console"
    verbose_name = _("工作台")

    def ready(self):
        _use_project_wording()


def _use_project_wording():
    """Length errors in the project's words on every form (console, citizen pages, admin):
    "最多 200 字，当前 230 字。", not Django's "确保该值不超过 200 个字符（现在有 230 个）"."""
    from django.core import validators

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
    from django.db.models import fields as model_fields
    from django.forms import models as form_models

    form_models.ModelChoiceField.__init__.__kwdefaults__ = {
        **(form_models.ModelChoiceField.__init__.__kwdefaults__ or {}),
        "empty_label": _("请选择…"),
    }
    model_fields.BLANK_CHOICE_DASH[:] = [("", _("请选择…"))]
