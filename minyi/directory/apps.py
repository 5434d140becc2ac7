from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "minyi.directory"
    verbose_name = _("警官名录")
