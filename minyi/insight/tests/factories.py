"""Confirmed callbacks (done, with a reason and evaluator-confirmed tags) for training, tagged
(TaggedText) as the worker's pass would."""

from datetime import timedelta
from itertools import count

from django.utils import timezone

from minyi.callbacks.models import Callback, CallbackStatus
from minyi.insight.services import texts_tag_pending
from minyi.perception.models import (
    BusinessCategory,
    BusinessType,
    ServiceEvent,
    Survey,
    SurveyStatus,
)

_serial = count(1)


def confirmed_callbacks(unit, reasons, *, status=CallbackStatus.DONE) -> list[Callback]:
    """One answered survey and one callback per (reason text, tags), written in bulk."""
    business_type, _ = BusinessType.objects.get_or_create(
        code="insight_window", defaults={"name": "窗口办证", "category": BusinessCategory.WINDOW}
    )
    now = timezone.now()
    serials = [next(_serial) for _ in reasons]
    events = ServiceEvent.objects.bulk_create(
        ServiceEvent(
            source="insight-test",
            external_id=f"R{n}",
            business_type=business_type,
            unit=unit,
            occurred_at=now - timedelta(days=2),
        )
        for n in serials
    )
    surveys = Survey.objects.bulk_create(
        Survey(
            event=event,
            mobile_hash=f"hash{n}",
            unit=unit,
            business_type=business_type,
            contact_at=event.occurred_at,
            token=f"insight{n}",
            status=SurveyStatus.ANSWERED,
            send_at=now - timedelta(days=1),
            rating=5,
        )
        for event, n in zip(events, serials, strict=True)
    )
    callbacks = Callback.objects.bulk_create(
        Callback(
            survey=survey,
            centre=unit,
            unit=unit,
            due_at=now,
            status=status,
            reason_text=text,
            tags=list(tags),
            completed_at=now if status == CallbackStatus.DONE else None,
        )
        for survey, (text, tags) in zip(surveys, reasons, strict=True)
    )
    texts_tag_pending()
    return callbacks


# Phrasings the keyword rules do not know, one set per tag: a model trained on confirmed
# examples learns them, the rules cannot (a test set where the model must do better).
_NOVEL = {
    "attitude": ("横眉竖眼", "眼皮都不抬一下", "拿鼻孔看人", "像我欠了他的"),
    "efficiency": ("等到花儿都谢了", "像蜗牛一样", "磨磨唧唧", "半天盖不了一个章"),
    "multiple_trips": ("腿都跑断了", "前前后后折返", "三番五次上门", "鞋都磨破了"),
    "conduct": ("连证件都不亮", "上来就扣人", "按着我的头", "手机抢过去删照片"),
    "outcome": ("钱一分没退", "石沉大海", "小偷还逍遥", "东西至今下落不明"),
    "response_speed": ("黄花菜都凉了", "人影都见不着", "打完电话一个钟头", "小偷早跑远了"),
    "integrity": ("递了包烟就放行", "塞了两条烟", "吃了顿饭就翻篇", "收了购物卡"),
    "explanation": ("稀里糊涂", "一头雾水", "说了等于没说", "到底为啥谁也说不上来"),
    "facilities": ("闷得像蒸笼", "牌子看不明白", "缺胳膊少腿的凳子", "墙皮掉了一地"),
}
_BEFORE = ("那天去办事，", "说实话，", "")
_AFTER = ("，很失望", "")


def learnable_reasons() -> list[tuple[str, list[str]]]:
    """Texts the keyword rules find nothing in, each with its one true tag: 9 tags × 4
    phrasings × 3 openings × 2 endings, deterministic."""
    return [
        (f"{before}{phrase}{after}", [tag])
        for tag, phrases in _NOVEL.items()
        for phrase in phrases
        for before in _BEFORE
        for after in _AFTER
    ]
