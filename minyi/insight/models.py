"""Insight (capability 7): the reason tagger's trained models, kept as plain JSON."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TaggerModel(models.Model):
    """One training run of the reason tagger: its JSON weights, what it was trained on and how
    well it did on held-out confirmed data. At most one is active (used for suggestions)."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    trained_at = models.DateTimeField(_("训练时间"), default=timezone.now)
    trained_by = models.ForeignKey(
        "orgs.User",
        verbose_name=_("训练人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    n_train = models.PositiveIntegerField(_("训练样本数"), default=0)
    n_test = models.PositiveIntegerField(_("测试样本数"), default=0)
    # {"model": {"tags": {tag: {precision, recall, f1, support, predicted}}, "micro", "macro"},
    #  "rules": the same for the keyword rules alone, "sources": {tag: model|rules|fallback}}
    metrics = models.JSONField(_("评估指标"), default=dict)
    params = models.JSONField(_("训练参数"), default=dict)
    # Terms, idf, per-tag coefficients, intercept and threshold (tagging.CompiledModel).
    weights = models.JSONField(_("模型参数"), default=dict)
    is_active = models.BooleanField(_("启用"), default=False)
    # Why a model was not activated, for the history table ("" when it was).
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("原因标签模型")
        verbose_name_plural = _("原因标签模型")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="tagger_model_one_active",
            )
        ]

    def __str__(self):
        return f"原因标签模型 v{self.version}"

    @property
    def learned_tags(self) -> list[str]:
        return [t for t, source in self.metrics.get("sources", {}).items() if source == "model"]
