from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EarlywarningConfig(AppConfig):
    name = "minyi.earlywarning"
    verbose_name = _("三色预警")
