from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "minyi.assessment"
    verbose_name = _("综合考评")
