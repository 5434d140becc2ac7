from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "minyi.orgs"
    verbose_name = _("组织与人员")

    def ready(self):
        from minyi.orgs import signals  # noqa: F401  (audit of logins)
