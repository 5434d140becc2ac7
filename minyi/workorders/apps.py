from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "minyi.workorders"
    verbose_name = _("整改工单")

    def ready(self):
        from minyi.callbacks.hooks import callback_recorded
        from minyi.workorders.services import workorder_after_callback

        callback_recorded.connect(workorder_after_callback)
