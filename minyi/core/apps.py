from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "minyi.core"
    verbose_name = _("基础数据")

    def ready(self):
        from minyi.core.wording import use_project_wording

        use_project_wording()
