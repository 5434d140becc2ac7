from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from minyi.privacy.conf import retention_validate


class PrivacyConfig(AppConfig):
    name = "minyi.privacy"
    verbose_name = _("个人信息保护")

    def ready(self):
        # Start-up is where a retention shorter than the law allows must stop the process.
        retention_validate()
