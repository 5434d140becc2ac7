"""Where citizens' texts live, one entry per TextSource: which rows hold a final text, the order
they are read in, and how a row gives its text, unit, day and source.

The texts stay encrypted in their own rows; insight reads them to tag, to train and to quote
(masked), and keeps only tags and topic terms (TaggedText).
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from minyi.callbacks.models import Callback, CallbackStatus
from minyi.insight.models import TextSource
from minyi.meetings.models import MeetingQuestion
from minyi.opinions.models import Opinion, OpinionKind
from minyi.perception.models import Survey
from minyi.polls.models import PollRespondent


@dataclass(frozen=True)
class Source:
    """One kind of row holding citizens' words. `cursor` is the field rows are read in order
    of (with the primary key): a row's text is final once that field is set."""

    name: str  # the TextSource of its rows, or "opinion" for the three opinion sources
    model: type[Model]
    text_field: str
    cursor: str
    final: Q

    def rows(self) -> QuerySet:
        qs = self.model.objects.filter(self.final)
        if self.model is Opinion:
            qs = qs.annotate(
                is_meeting=Exists(MeetingQuestion.objects.filter(opinion=OuterRef("pk")))
            )
        return qs

    def fields(self) -> list[str]:
        extra = {
            Callback: ["tags", "completed_by_id"],
            Opinion: ["case_id", "is_meeting"],
        }.get(self.model, [])
        return ["pk", "unit_id", self.cursor, self.text_field, *extra]


SOURCES: tuple[Source, ...] = (
    # An evaluator's note is final when the callback is done; its tags are confirmed then.
    Source(
        TextSource.CALLBACK,
        Callback,
        "reason_text",
        "completed_at",
        Q(status=CallbackStatus.DONE, completed_at__isnull=False),
    ),
    Source(TextSource.SURVEY, Survey, "comment", "answered_at", Q(answered_at__isnull=False)),
    # Opinions, case complaints and meeting questions: one table. A tip (线索举报) is a report
    # of a crime, not an opinion of the police, and its words may identify the tipster: never
    # read.
    Source(
        TextSource.OPINION,
        Opinion,
        "content",
        "submitted_at",
        ~Q(kind=OpinionKind.TIP),
    ),
    Source(TextSource.POLL, PollRespondent, "comment", "pk", Q()),
)

BY_MODEL_SOURCE = {
    TextSource.CALLBACK: SOURCES[0],
    TextSource.SURVEY: SOURCES[1],
    TextSource.OPINION: SOURCES[2],
    TextSource.CASE: SOURCES[2],
    TextSource.MEETING: SOURCES[2],
    TextSource.POLL: SOURCES[3],
}


def source_of(source: Source, row: dict) -> str:
    if source.model is Opinion:
        if row["is_meeting"]:
            return TextSource.MEETING
        if row["case_id"]:
            return TextSource.CASE
    return source.name


def day_of(source: Source, row: dict) -> date:
    if source.model is PollRespondent:
        return row["answered_on"]
    return timezone.localdate(row[source.cursor])


def values_fields(source: Source) -> list[str]:
    fields = source.fields()
    if source.model is PollRespondent:
        fields.append("answered_on")
    return fields


def texts_by_key(keys: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The texts of (source, object_id) pairs, decrypted, one query per table."""
    wanted: dict[Source, set[int]] = {}
    for name, object_id in keys:
        wanted.setdefault(BY_MODEL_SOURCE[name], set()).add(object_id)
    found: dict[tuple[Source, int], str] = {}
    for source, ids in wanted.items():
        rows = source.model.objects.filter(pk__in=ids).values_list("pk", source.text_field)
        for pk, text in rows.iterator(chunk_size=2000):
            found[(source, pk)] = text or ""
    return {(n, i): found.get((BY_MODEL_SOURCE[n], i), "") for n, i in keys}


def row_values(source: Source, qs: QuerySet) -> Any:
    return qs.values(*values_fields(source))
