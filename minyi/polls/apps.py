from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PollsConfig(AppConfig):
    name = "minyi.polls"
    verbose_name = _("民意测评")
