from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerceptionConfig(AppConfig):
    name = "minyi.perception"
    verbose_name = _("民意感知")

    def ready(self):
        # Hooks are connected once the app registry is ready (services import models).
        from minyi.integrations.sms.hooks import inbound_stored
        from minyi.perception.services.replies import reply_record_sms

        inbound_stored.connect(reply_record_sms)
