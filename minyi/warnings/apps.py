from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarningsConfig(AppConfig):
    name = "minyi.warnings"
    # The app was first called earlywarning: its tables (earlywarning_*) and migration history
    # keep that label, so renaming the package moved no data.
    label = "earlywarning"
    verbose_name = _("三色预警")
