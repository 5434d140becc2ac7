from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "minyi.cases"
    verbose_name = _("阳光警务")
