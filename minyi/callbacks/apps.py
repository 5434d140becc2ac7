from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallbacksConfig(AppConfig):
    name = "minyi.callbacks"
    verbose_name = _("不满意回访")

    def ready(self):
        from minyi.callbacks.services import callback_open
        from minyi.perception.hooks import survey_unsatisfied

        survey_unsatisfied.connect(callback_open)
