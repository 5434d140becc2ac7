from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "minyi.core"
    verbose_name = "Core"
