from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "minyi.meetings"
    verbose_name = _("恳谈会与直播")
