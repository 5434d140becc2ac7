from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightConfig(AppConfig):
    name = "minyi.insight"
    verbose_name = _("民意洞察")

    def ready(self):
        from minyi.callbacks.hooks import reason_tags_suggest
        from minyi.insight.tagging import suggest_tags

        reason_tags_suggest.connect(suggest_tags)
