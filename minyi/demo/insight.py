"""Demo: insight (capability 7) on the demo city's citizen texts, through the real services.

1. Case complaints: some parties of the demo cases complain about their case (立案, 不作为,
   通报, 关系) in their own words (minyi.demo.corpus), as the case lookup page files them.
2. An emerging topic: in one station's area, electric-bike batteries stolen (电动车电瓶被偷):
   a steady trickle of portal opinions over the 12 weeks before the dashboard's two-week
   window (the last two whole weeks: 14 to 20 days), then three times that rate from the
   window's first day to now, and the station's surveys still open answered with a comment
   on it.
3. Every citizen text is tagged (texts_tag_pending); evaluators' callback tags are copied.
4. A believable share of each source is confirmed by whoever would confirm it (an evaluator
   for survey comments, the opinion's handler at its unit, the poll's creator for poll
   comments) with the texts' true tags from the corpus, about one in eight read otherwise
   (DISAGREE); texts the corpus did not write (the hand-written meeting questions,
   consultations) are left to the suggestion.
5. The tagger is trained on what was confirmed, when that changed since the last model.
6. Last month's monthly report (民意分析报告) for the city bureau and each bureau under it, as
   the schedule would have made it on the month's first working day, where missing.

Everything is dated relative to `now`; running it again adds nothing already there.
"""

import random
import zlib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.utils import timezone

from minyi.cases.models import Case, CaseParty, CaseProgress
from minyi.cases.services import case_complaint_file
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.pii import lookup_hash
from minyi.demo.city import closest_account
from minyi.demo.city_plan import DEFAULT_SEED
from minyi.demo.contacts import new_mobile
from minyi.demo.corpus import corpus_texts, label_of, topic_texts
from minyi.insight.models import TaggedText, TaggerModel, TextSource
from minyi.insight.selectors import Windows, confirmed_examples
from minyi.insight.services import tagger_train, text_confirm, texts_tag_pending
from minyi.insight.sources import texts_by_key
from minyi.opinions.models import Opinion, OpinionKind
from minyi.opinions.services.intake import CONTENT_MAX, opinion_submit
from minyi.orgs.choices import Role
from minyi.orgs.models import OrgUnit, User
from minyi.perception.models import Survey, SurveyStatus
from minyi.perception.services.replies import survey_answer
from minyi.polls.models import PollRespondent
from minyi.reports.figures import bureaus, previous_month
from minyi.reports.models import MonthlyReport
from minyi.reports.services import monthly_report_generate

TOPIC_STATION = "330602001"
TOPIC_WEEKLY = 4  # texts about the topic a week before the burst
TOPIC_RISE = 3  # times that rate in the last 14 days
BASELINE_WEEKS = 12
CASE_COMPLAINT_SHARE = 0.4
# Share of each source's texts a person confirms (the rest keep the suggestion).
CONFIRM_SHARE = {
    TextSource.SURVEY: 0.45,
    TextSource.OPINION: 0.7,
    TextSource.CASE: 0.8,
    TextSource.POLL: 0.35,
    TextSource.MEETING: 0.8,
}
NAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴")


@dataclass
class DemoInsight:
    case_complaints: int = 0
    topic_opinions: int = 0
    topic_comments: int = 0
    tagged: dict = field(default_factory=dict)
    confirmed: dict = field(default_factory=dict)
    model: TaggerModel | None = None
    reports: int = 0

    def summary(self) -> str:
        tagged = sum(self.tagged.values())
        confirmed = ", ".join(f"{s} {n}" for s, n in sorted(self.confirmed.items())) or "none"
        if self.model is None:
            model = "tagger not retrained"
        else:
            state = "active" if self.model.is_active else f"not active: {self.model.note}"
            model = f"tagger v{self.model.version} ({state})"
        return (
            f"Insight demo: {self.case_complaints} case complaints; emerging topic at "
            f"{TOPIC_STATION}: {self.topic_opinions} opinions, {self.topic_comments} survey "
            f"comments; {tagged} texts tagged; confirmed {confirmed}; {model}; "
            f"{self.reports} monthly reports."
        )


def _topic_mobiles(seed: int, n: int) -> list[str]:
    rng = random.Random(f"{seed}:insight-topic-mobiles")  # noqa: S311 (demo data)
    return [new_mobile(rng) for _ in range(n)]


def _topic_written(seed: int) -> bool:
    first = _topic_mobiles(seed, 1)[0]
    return Opinion.objects.filter(mobile_hash=lookup_hash("mobile", first)).exists()


def _topic(rng: random.Random, station: OrgUnit, now, seed: int, demo: DemoInsight) -> None:
    """The trickle before, the burst after: opinions on the portal, and the station's open
    surveys answered with a comment on it."""
    if _topic_written(seed):
        return
    # From the Monday the dashboard's two-week window starts on (14 to 20 days ago) to now.
    monday = Windows.at(timezone.localdate(now)).window_start
    window_start = timezone.make_aware(datetime.combine(monday, time(0, 0)))
    days = (now - window_start) / timedelta(days=1)
    before = TOPIC_WEEKLY * BASELINE_WEEKS
    burst = round(TOPIC_WEEKLY * TOPIC_RISE * days / 7)
    # Spread evenly, each at a random moment of its own slot: a steady rate, not clumps.
    moments = [
        window_start - timedelta(days=(i + rng.random()) * 7 * BASELINE_WEEKS / before)
        for i in range(before)
    ]
    open_surveys = list(
        Survey.objects.filter(
            unit=station, status=SurveyStatus.SENT, sent_at__gte=window_start, sent_at__lt=now
        ).order_by("sent_at")[: burst // 4]
    )
    for survey, (text, _tags) in zip(
        open_surveys, topic_texts(rng, len(open_surveys), survey=True), strict=True
    ):
        at = min(survey.sent_at + timedelta(minutes=rng.randint(5, 240)), now)
        try:
            survey_answer(survey=survey, rating=3, comment=text, via="h5", now=at)
        except ApplicationError:
            continue
        demo.topic_comments += 1
    moments += [
        now - timedelta(days=(i + rng.random()) * days / burst, minutes=5) for i in range(burst)
    ]
    moments.sort()
    mobiles = _topic_mobiles(seed, len(moments))
    for at, mobile, (text, _tags) in zip(
        moments, mobiles, topic_texts(rng, len(moments)), strict=True
    ):
        opinion_submit(
            kind=OpinionKind.COMPLAINT if rng.random() < 0.7 else OpinionKind.SUGGESTION,
            content=text,
            mobile=mobile,
            contact_name=rng.choice(NAMES) + rng.choice(("先生", "女士", "阿姨")),
            area=station.name,
            unit_id=station.pk,
            now=at,
        )
        demo.topic_opinions += 1


def _case_complaints(rng: random.Random, now, demo: DemoInsight) -> None:
    """Some reporters of the demo cases complain about their case, a few days after it
    started; a case complained about already is left alone."""
    cases = Case.objects.filter(source="demo").exclude(
        pk__in=Opinion.objects.filter(case__isnull=False).values("case_id")
    )
    for case in cases.order_by("pk"):
        if not _share(CASE_COMPLAINT_SHARE, "case", case.number):
            continue
        party = CaseParty.objects.filter(case=case).exclude(mobile_hash="").first()
        first = CaseProgress.objects.filter(case=case).order_by("occurred_at").first()
        if party is None or first is None or first.occurred_at >= now:
            continue
        at = first.occurred_at + (now - first.occurred_at) * rng.uniform(0.3, 0.95)
        text, _tags = corpus_texts(rng, "case", 1, max_chars=CONTENT_MAX, mood="complaint")[0]
        try:
            case_complaint_file(party=party, content=text, now=at)
        except ApplicationError:
            continue
        demo.case_complaints += 1


def _share(share: float, *key) -> bool:
    """True for about `share` of keys, the same ones on every run (a stable hash, not the
    RNG's order, so a second run picks nothing new among what it saw)."""
    return zlib.crc32(":".join(map(str, key)).encode()) % 1000 < 1000 * share


class _Confirmers:
    """Who confirms a text of each source: an evaluator for survey comments, a leader of
    the opinion's unit (its handler), the poll's creator for poll comments."""

    def __init__(self):
        users = list(User.objects.filter(is_active=True).exclude(unit=None).select_related("unit"))
        self.evaluators = [u for u in users if u.role == Role.EVALUATOR]
        self.leaders = [u for u in users if u.role == Role.UNIT_LEADER]
        self.poll_admins: dict[int, User | None] = {}

    def of(self, tagged: TaggedText):
        if tagged.source == TextSource.SURVEY:
            return closest_account(self.evaluators, tagged.unit)
        if tagged.source == TextSource.POLL:
            if tagged.object_id not in self.poll_admins:
                respondent = PollRespondent.objects.select_related("poll__created_by__unit")
                row = respondent.filter(pk=tagged.object_id).first()
                self.poll_admins[tagged.object_id] = row.poll.created_by if row else None
            return self.poll_admins[tagged.object_id]
        return closest_account(self.leaders, tagged.unit)


# People who confirm reasons do not always agree: about one text in eight is read otherwise
# than the corpus meant (the ranking swapped, or a neighbouring reason), as two evaluators
# reading the same words would. The tagger is measured against these confirmations.
DISAGREE = 0.12
NEIGHBOUR = {
    "efficiency": "response_speed",
    "response_speed": "efficiency",
    "explanation": "efficiency",
    "outcome": "explanation",
    "attitude": "conduct",
    "conduct": "attitude",
    "multiple_trips": "explanation",
    "integrity": "conduct",
    "facilities": "other",
    "other": "explanation",
}


def _read_otherwise(tags: list[str]) -> list[str]:
    if len(tags) > 1:
        return [tags[1], tags[0]]
    return [NEIGHBOUR.get(tags[0], "other")]


def _confirm(seed: int, now, demo: DemoInsight) -> None:
    pending = [
        t
        for t in TaggedText.objects.filter(confirmed_at__isnull=True)
        .exclude(source=TextSource.CALLBACK)
        .select_related("unit")
        .order_by("pk")
        if _share(CONFIRM_SHARE.get(t.source, 0), seed, t.source, t.object_id)
    ]
    texts = texts_by_key([(t.source, t.object_id) for t in pending])
    people = _Confirmers()
    for tagged in pending:
        tags = label_of(texts[(tagged.source, tagged.object_id)])
        if tags and _share(DISAGREE, seed, "disagree", tagged.source, tagged.object_id):
            tags = _read_otherwise(tags)
        actor = people.of(tagged) if tags else None
        if actor is None:
            continue
        try:
            text_confirm(actor=actor, tagged=tagged, tags=tags, now=now)
        except (ApplicationError, NotFound):
            continue
        demo.confirmed[tagged.source] = demo.confirmed.get(tagged.source, 0) + 1


def _train(seed: int) -> TaggerModel | None:
    """Train again when the confirmed texts changed since the newest model."""
    latest = TaggerModel.objects.order_by("-version").first()
    if latest is not None and latest.n_train + latest.n_test == len(confirmed_examples()):
        return None
    actor = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    try:
        return tagger_train(actor=actor, seed=seed)
    except ApplicationError:
        return None


def build_insight_demo(*, now=None, seed: int = DEFAULT_SEED) -> DemoInsight:
    """Write what is missing of the insight demo (see the module's docstring)."""
    now = now or timezone.now()
    demo = DemoInsight()
    rng = random.Random(f"{seed}:insight")  # noqa: S311 (demo data, not secrets)
    station = OrgUnit.objects.filter(code=TOPIC_STATION).first()
    _case_complaints(rng, now, demo)
    if station is not None:
        _topic(rng, station, now, seed, demo)
    demo.tagged = texts_tag_pending(full=True, now=now)
    _confirm(seed, now, demo)
    demo.model = _train(seed)
    demo.reports = _reports(now)
    return demo


def _reports(now) -> int:
    month = previous_month(timezone.localdate(now))
    done = set(MonthlyReport.objects.filter(month=month).values_list("unit_id", flat=True))
    missing = [unit for unit in bureaus() if unit.pk not in done]
    for unit in missing:
        monthly_report_generate(unit=unit, month=month, now=now)
    return len(missing)
