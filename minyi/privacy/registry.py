"""Where personal data lives (个人信息分布), in one place: per retention category, the models and
fields that hold it, the date its period runs from, and how a mobile number finds a person's
rows for an export. A new field of personal data is added here, or it is never purged.

What the purge does per category (docs/security.md, "Retention and deletion (PIPL)"):
- mobile: the ciphertext (and names and addresses given as contact details) is blanked; the
  keyed hash (HMAC, `*_hash`) is kept, a pseudonym that still keeps opt-outs, the cool-off and
  repeat-contact (跑多次) rules working and lets a later access request find the rows;
- text, poll_answer: the citizen's (or staff's, about a citizen) words become REDACTED;
- media: the file is deleted from storage and the field blanked;
- audit, processing_record: rows older than the period are deleted.
Ratings, statuses, units and dates stay: every figure (the rollups and the live part the
dashboards add to them) is computed from those, never from the words or the number.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Q

from minyi.privacy.conf import MEDIA, MOBILE, POLL_ANSWER, TEXT

REDACTED = "[已按保存期限删除]"

# Outbound SMS the gateway is done with: queued or in-flight ones may still be (re)sent.
_SMS_DONE = Q(status__in=["sent", "delivered", "failed"])


@dataclass(frozen=True)
class Holding:
    category: str
    model: str  # "app_label.ModelName"
    fields: tuple[str, ...]
    # The period runs from this moment. Set once and never moved (received, created, closed),
    # so the purge can keep a watermark per holding and never read a row twice.
    date_field: str
    condition: Q | None = None

    @property
    def key(self) -> str:
        return f"{self.category}:{self.model}"

    def model_class(self):
        return apps.get_model(self.model)


HOLDINGS = (
    # Mobile numbers and contact details.
    Holding(MOBILE, "perception.ServiceEvent", ("citizen_mobile",), "received_at"),
    Holding(MOBILE, "sms.OutboundSms", ("to_mobile",), "created_at", _SMS_DONE),
    Holding(MOBILE, "sms.InboundSms", ("from_mobile", "from_raw"), "received_at"),
    Holding(MOBILE, "polls.PollInvitation", ("mobile",), "created_at"),
    # An opinion's period runs from its close: an open one is still being worked on.
    Holding(MOBILE, "opinions.Opinion", ("mobile", "contact_name", "postal_address"), "closed_at"),
    Holding(
        MOBILE,
        "appointments.Appointment",
        ("citizen_name", "citizen_mobile", "address"),
        "created_at",
    ),
    # Free text citizens wrote, and text staff wrote about them.
    Holding(TEXT, "perception.Survey", ("comment",), "created_at"),
    Holding(TEXT, "perception.SurveyReply", ("text", "comment"), "created_at"),
    Holding(TEXT, "sms.InboundSms", ("text",), "received_at"),
    # Survey invitations and acknowledgements name the officer and the citizen's business.
    Holding(TEXT, "sms.OutboundSms", ("body",), "created_at", _SMS_DONE),
    Holding(
        TEXT,
        "opinions.Opinion",
        ("content", "area", "answer", "rating_comment", "tip_verdict_note"),
        "closed_at",
    ),
    Holding(TEXT, "callbacks.Callback", ("reason_text",), "created_at"),
    Holding(TEXT, "callbacks.CallbackAttempt", ("note",), "created_at"),
    Holding(TEXT, "workorders.WorkOrder", ("problem", "feedback_text"), "closed_at"),
    Holding(TEXT, "earlywarning.WarningReply", ("text",), "created_at"),
    Holding(TEXT, "appointments.Appointment", ("note", "outcome"), "created_at"),
    # Uploaded photos and evidence.
    Holding(MEDIA, "workorders.Evidence", ("file",), "created_at"),
    Holding(MEDIA, "opinions.OpinionPhoto", ("file",), "created_at"),
    # A poll's answers stay (the poll's figures are weighted from them); the comment goes.
    Holding(POLL_ANSWER, "polls.PollRespondent", ("comment",), "answered_on"),
)


@dataclass(frozen=True)
class Source:
    """Rows a mobile number's keyed hash finds, for an access request (查阅复制)."""

    model: str
    hash_field: str
    unit_prefix: str  # how the row reaches its OrgUnit, for scoping ("unit__", "survey__unit__")
    fields: tuple[str, ...]

    def model_class(self):
        return apps.get_model(self.model)


SOURCES = (
    Source(
        "perception.ServiceEvent",
        "citizen_mobile_hash",
        "unit__",
        (
            "source",
            "external_id",
            "business_type__name",
            "unit__name",
            "citizen_mobile",
            "occurred_at",
            "received_at",
        ),
    ),
    Source(
        "perception.Survey",
        "mobile_hash",
        "unit__",
        (
            "unit__name",
            "business_type__name",
            "contact_at",
            "status",
            "rating",
            "comment",
            "sent_at",
            "answered_at",
            "answered_via",
        ),
    ),
    Source(
        "perception.SurveyReply",
        "survey__mobile_hash",
        "survey__unit__",
        ("survey_id", "channel", "text", "rating", "comment", "created_at"),
    ),
    Source(
        "callbacks.Callback",
        "survey__mobile_hash",
        "unit__",
        ("survey_id", "kind", "status", "reason_text", "created_at", "completed_at"),
    ),
    Source(
        "polls.PollInvitation",
        "mobile_hash",
        "unit__",
        ("poll__title", "mobile", "status", "sent_at", "answered_at"),
    ),
    Source(
        "sms.OutboundSms",
        "to_mobile_hash",
        "survey__unit__",
        ("to_mobile", "body", "purpose", "status", "created_at", "sent_at"),
    ),
    Source(
        "sms.InboundSms",
        "from_mobile_hash",
        "unit__",
        ("from_mobile", "text", "received_at", "status"),
    ),
    Source(
        "opinions.Opinion",
        "mobile_hash",
        "unit__",
        (
            "unit__name",
            "contact_name",
            "mobile",
            "postal_address",
            "content",
            "area",
            "answer",
            "rating_comment",
            "submitted_at",
            "closed_at",
        ),
    ),
    Source(
        "appointments.Appointment",
        "citizen_mobile_hash",
        "unit__",
        (
            "number",
            "unit__name",
            "citizen_name",
            "citizen_mobile",
            "address",
            "note",
            "outcome",
            "created_at",
        ),
    ),
)
