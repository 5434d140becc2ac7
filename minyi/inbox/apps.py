from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "minyi.inbox"
    verbose_name = _("短信收件箱")
