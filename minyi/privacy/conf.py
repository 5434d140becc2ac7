"""Retention periods (保存期限) per data category, from settings.RETENTION_DAYS (environment
variables MINYI_RETENTION_*_DAYS), and the legal minimums they are checked against."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MOBILE = "mobile"
TEXT = "text"
MEDIA = "media"
POLL_ANSWER = "poll_answer"
AUDIT = "audit"
PROCESSING_RECORD = "processing_record"
CATEGORIES = (MOBILE, TEXT, MEDIA, POLL_ANSWER, AUDIT, PROCESSING_RECORD)

# 网络安全法 art. 21 / 等保2.0 level 3: network logs kept at least six months. Processing
# records (个人信息处理活动记录, PIPL art. 55-56 impact assessments and records): three years.
LEGAL_MINIMUM_DAYS = {AUDIT: 183, PROCESSING_RECORD: 1095}


def env_name(category: str) -> str:
    return f"MINYI_RETENTION_{category.upper()}_DAYS"


def retention_validate(days: dict[str, int] | None = None) -> None:
    """ImproperlyConfigured for a missing, non-positive or below-the-law period."""
    days = settings.RETENTION_DAYS if days is None else days
    for category in CATEGORIES:
        value = days.get(category)
        if not isinstance(value, int) or value < 1:
            raise ImproperlyConfigured(f"{env_name(category)} must be a positive number of days.")
        minimum = LEGAL_MINIMUM_DAYS.get(category, 1)
        if value < minimum:
            raise ImproperlyConfigured(
                f"{env_name(category)}={value} is shorter than the legal minimum of {minimum} "
                f"days ({'six months' if category == AUDIT else 'three years'}); "
                "see docs/security.md, 'Retention and deletion (PIPL)'."
            )


def retention_days(category: str) -> int:
    return settings.RETENTION_DAYS[category]
