from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "minyi.appointments"
    verbose_name = _("移动办证")
