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


class TextSource(models.TextChoices):
    """Where a citizen's text came from (文本来源). An opinion about a case is a case
    complaint and a question keyed in at a meeting is a meeting question: the same taxonomy
    tags them all, and quality is reported per source."""

    CALLBACK = "callback", _("回访原因")
    SURVEY = "survey", _("回访留言")
    OPINION = "opinion", _("意见投诉")
    CASE = "case", _("案件投诉")
    POLL = "poll", _("测评意见")
    MEETING = "meeting", _("恳谈会提问")


class TaggedText(models.Model):
    """One citizen text, tagged (原因标签). The words stay in their source row (encrypted);
    this row holds only what the tagger found: up to two reason tags, ranked (primary first),
    and the topic terms that emerging-topic detection counts. `confirmed` is what an
    evaluator or a handler confirmed (ranked the same way); it is what training and the
    quality figures read, and what counts once present."""

    source = models.CharField(_("来源"), max_length=10, choices=TextSource.choices)
    object_id = models.PositiveBigIntegerField()
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("日期"))
    length = models.PositiveIntegerField(_("字数"), default=0)
    suggested = models.JSONField(_("建议标签"), default=list)
    # The TaggerModel version that suggested (None: the keyword rules alone).
    tagger_version = models.PositiveIntegerField(null=True, blank=True)
    rules_version = models.PositiveSmallIntegerField(default=0)
    # Topic words (jieba, Chinese characters only: no number is ever kept), at most 30.
    terms = models.JSONField(default=list)
    confirmed = models.JSONField(_("确认标签"), default=list)
    confirmed_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    tagged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("文本标签")
        verbose_name_plural = _("文本标签")
        constraints = [
            models.UniqueConstraint(fields=["source", "object_id"], name="tagged_text_unique")
        ]
        indexes = [
            models.Index(fields=["unit", "day"], name="tagged_text_unit_day"),
            models.Index(
                fields=["source", "confirmed_at"],
                name="tagged_text_confirmed",
                condition=models.Q(confirmed_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.get_source_display()} #{self.object_id}"

    @property
    def tags(self) -> list[str]:
        """What counts: the confirmed tags once confirmed, else the suggestion."""
        return list(self.confirmed if self.confirmed_at else self.suggested)


class TopicKind(models.TextChoices):
    TAG = "tag", _("原因标签")
    TERM = "term", _("关键词")


class TopicWeek(models.Model):
    """Rollup: texts per unit, week (Monday) and reason tag or topic term, kept current as
    texts are tagged (and suggested again by a new model, or moved with a transferred
    opinion). Tags are the tagger's suggestions, never the confirmed ones: confirmations come
    unevenly over time (the newest first), and a rise must be one in what citizens wrote,
    not in how much of it was read. Emerging-topic detection reads this, never the texts."""

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+")
    week = models.DateField()
    kind = models.CharField(max_length=4, choices=TopicKind.choices)
    key = models.CharField(max_length=40)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "week", "kind", "key"], name="topic_week_unique"
            )
        ]
        indexes = [models.Index(fields=["week", "kind"], name="topic_week_week_kind")]

    def __str__(self):
        return f"{self.week} {self.kind}:{self.key} = {self.n}"


class TextCursor(models.Model):
    """How far the tagging pass has read each source (its cursor field and primary key), so a
    pass reads new rows only; rows without words are not stored, and are not read again."""

    source = models.CharField(max_length=10, primary_key=True)
    last_at = models.DateTimeField(null=True, blank=True)
    last_pk = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.source}: {self.last_at or self.last_pk}"
