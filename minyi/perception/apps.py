from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerceptionConfig(AppConfig):
    name = "minyi.perception"
    verbose_name = _("民意感知")
