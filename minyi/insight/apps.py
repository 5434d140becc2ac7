from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightConfig(AppConfig):
    name = "minyi.insight"
    verbose_name = _("民意洞察")
