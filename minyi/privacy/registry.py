"""Where personal data lives (个人信息分布), in one place: per retention category, the models and
fields that hold it, the date its period runs from, and how a mobile number finds a person's
rows for an export. A new field of personal data is added here, or it is never purged.

What the purge does per category (docs/security.md, "Retention and deletion (PIPL)"):
- mobile: the ciphertext (and names, ID numbers and addresses held beside it) is blanked; the
  keyed hash (HMAC, `*_hash`) is kept, a pseudonym that still keeps opt-outs, the cool-off and
  repeat-contact (跑多次) rules working and lets a later access request find the rows;
- text, poll_answer: the citizen's (or staff's, about a citizen) words become REDACTED;
- media: the file is deleted from storage and the field blanked;
- audit, processing_record: rows older than the period are deleted.
Ratings, statuses, units and dates stay: every figure (the rollups and the live part the
dashboards add to them) is computed from those, never from the words or the number.
"""

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from django.apps import apps
from django.db.models import Q

from minyi.cases.models import public_cases_q
from minyi.core.pii import lookup_hash
from minyi.privacy.conf import MEDIA, MOBILE, POLL_ANSWER, TEXT
from minyi.votes.keys import voter_key

REDACTED = "[已按保存期限删除]"

# Outbound SMS the gateway is done with: queued or in-flight ones may still be (re)sent.
_SMS_DONE = Q(status__in=["sent", "delivered", "failed"])
# A case the parties no longer follow: closed (结案) or not filed (不予立案); `stage_at` is then
# the moment it ended.
_CASE_ENDED = Q(case__stage__in=["closed", "not_filed"])
_CAMPAIGN_OVER = Q(campaign__status__in=["closed", "published"])


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
    # A case's parties (案件当事人): name, ID number and mobile, a year after the case ended;
    # the ID number's keyed hash stays (one party per case and ID number).
    Holding(
        MOBILE, "cases.CaseParty", ("name", "id_number", "mobile"), "case__stage_at", _CASE_ENDED
    ),
    # A volunteer's name and number run from when they left: an active one has no
    # `withdrawn_at`, and registering again brings both back with a new consent.
    Holding(
        MOBILE,
        "volunteers.Volunteer",
        ("name", "mobile"),
        "withdrawn_at",
        Q(status="withdrawn"),
    ),
    # Votes, a period after the campaign closed: the chain hashes `voter_key`, never the number
    # (minyi/votes/chain.py), and `voter_key` alone keeps one ballot per mobile per campaign.
    # While a campaign runs the stuffing review reads the numbers.
    Holding(MOBILE, "votes.Ballot", ("mobile",), "campaign__closes_at", _CAMPAIGN_OVER),
    # A keying once its sheet is settled, or once the results are out (no keying after that).
    Holding(
        MOBILE,
        "votes.PaperEntry",
        ("mobile", "id_number"),
        "sheet__campaign__closes_at",
        Q(sheet__status__in=["counted", "rejected"]) | Q(sheet__campaign__status="published"),
    ),
    # Subscriptions run from when they stopped; an active one keeps its number, and
    # subscribing again stores it anew.
    Holding(MOBILE, "votes.ActionFollower", ("mobile",), "stopped_at"),
    Holding(MOBILE, "community.NoticeSubscription", ("mobile",), "stopped_at"),
    # A reminder's item from its due date (never in the past when imported): every reminder
    # goes before it.
    Holding(MOBILE, "reminders.DueItem", ("mobile",), "due_date"),
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
    # A progress step's note, shown to the parties: the clerk may have written a number in it.
    Holding(TEXT, "cases.CaseProgress", ("note",), "case__stage_at", _CASE_ENDED),
    Holding(TEXT, "workorders.WorkOrder", ("problem", "feedback_text"), "closed_at"),
    Holding(TEXT, "earlywarning.WarningReply", ("text",), "created_at"),
    Holding(TEXT, "appointments.Appointment", ("note", "outcome"), "created_at"),
    # Uploaded photos and evidence.
    Holding(MEDIA, "workorders.Evidence", ("file",), "created_at"),
    Holding(MEDIA, "opinions.OpinionPhoto", ("file",), "created_at"),
    # A poll's answers stay (the poll's figures are weighted from them); the comment goes.
    Holding(POLL_ANSWER, "polls.PollRespondent", ("comment",), "answered_on"),
)


def _ballots_of(mobile: str) -> Q:
    """A ballot holds the campaign's own key of the number (`voter_key`), not the lookup hash:
    one key per campaign."""
    campaigns = apps.get_model("votes.Campaign").objects.only("pk", "code")
    return reduce(
        operator.or_,
        (Q(campaign_id=c.pk, voter_key=voter_key(c, mobile)) for c in campaigns),
        Q(pk__in=[]),
    )


@dataclass(frozen=True)
class Source:
    """Rows a mobile number's keyed hash finds, for an access request (查阅复制)."""

    model: str
    hash_field: str  # the lookup hash of the number; "" when `match` finds the rows
    unit_prefix: str  # how the row reaches its OrgUnit, for scoping ("unit__", "survey__unit__")
    fields: tuple[str, ...]
    # Only the rows this matches are exported (not the parties of a confidential case).
    condition: Q | None = None
    match: Callable[[str], Q] | None = None  # the normalised number → the rows' filter

    def model_class(self):
        return apps.get_model(self.model)

    def rows_of(self, mobile: str):
        """This source's rows for the normalised number `mobile`, unscoped."""
        found = (
            self.match(mobile)
            if self.match
            else Q(**{self.hash_field: lookup_hash("mobile", mobile)})
        )
        rows = self.model_class().objects.filter(found)
        return rows if self.condition is None else rows.filter(self.condition)


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
    # Parties of a confidential or private case are left out: the portal does not admit the
    # case exists either (PIPL art. 18, 35: where telling would impede the bureau's duties).
    Source(
        "cases.CaseParty",
        "mobile_hash",
        "case__unit__",
        ("case__number", "case__case_type", "role", "name", "id_number", "mobile", "notify"),
        condition=public_cases_q("case__"),
    ),
    Source(
        "volunteers.Volunteer",
        "mobile_hash",
        "unit__",
        ("unit__name", "name", "mobile", "status", "consent_at", "consent_version", "withdrawn_at"),
    ),
    # How someone voted is not exported (the ballot is secret even from the staff who run the
    # export); the receipt lets the voter find their ballot in the published receipts.
    Source(
        "votes.Ballot",
        "",
        "campaign__unit__",
        ("campaign__title", "channel", "mobile", "receipt", "cast_at"),
        match=_ballots_of,
    ),
    Source(
        "votes.PaperEntry",
        "mobile_hash",
        "sheet__campaign__unit__",
        ("sheet__campaign__title", "sheet__serial", "mobile", "id_number", "keyed_at"),
    ),
    Source(
        "votes.ActionFollower",
        "mobile_hash",
        "plan__unit__",
        ("plan__option__title", "mobile", "created_at", "stopped_at"),
    ),
    Source(
        "community.NoticeSubscription",
        "mobile_hash",
        "area__station__",
        ("area__name", "mobile", "created_at", "stopped_at"),
    ),
    Source(
        "reminders.DueItem",
        "mobile_hash",
        "unit__",
        ("kind", "item_label", "unit__name", "mobile", "due_date", "created_at", "cancelled"),
    ),
)
