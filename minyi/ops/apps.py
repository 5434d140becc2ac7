from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "minyi.ops"
    verbose_name = "Operations: health, readiness, metrics, logs"
