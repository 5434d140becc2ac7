from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "minyi.workorders"
    verbose_name = _("整改工单")
