from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpinionsConfig(AppConfig):
    name = "minyi.opinions"
    verbose_name = _("群众诉求")
