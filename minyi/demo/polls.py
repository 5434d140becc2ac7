"""Demo: public-opinion polls (民意测评, DOMAIN.md capability 2) for the demo city.

The city bureau fixes three peer groups (all stations together, traffic and criminal brigades
apart) and keeps each unit's population structure (常住人口结构: age band, sex, registered or
floating) for this year and last. A polling firm fields a wave every quarter: the waves from
the start of the previous completed half-year up to the last completed quarter are imported
(the latest with its CSV file kept for audit), ~310–370 respondents per station and fewer per
brigade, reached by phone as such firms do: older and registered residents answer more often
than young and floating ones, so the raw sample leans away from the margins and raking
matters. The current quarter's wave is being collected in Minyi by SMS: invitations in every
state, quotas per station, the first answers.

Every station has its own true rate per indicator (small differences); two stations are
clearly weaker (`WEAK_TWICE`, `WEAK_ONCE`): the first in both half-years, the second in the
previous one only, so that the assessment marks the first last twice and opens a case.
Brigades get ~100–130 respondents a wave: ranked among their peers, but under the gate's
n_eff ≥ 300, so never marked last on so few answers.

Deterministic: the same seed and day give the same rows. Years and waves are computed from
the day the demo is built, so the demo works on any day of the year.
"""

import bisect
import csv
import hashlib
import io
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from minyi.assessment.services import peer_group_save
from minyi.core.audit import audit_record
from minyi.core.models import AuditAction, ImportFile, ImportStatus
from minyi.core.pii import lookup_hash
from minyi.demo.city_plan import DEFAULT_SEED, DISTRICTS, ROOT_CODE
from minyi.demo.contacts import new_mobile
from minyi.demo.corpus import corpus_texts
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit, PeerGroup, User
from minyi.polls.imports import KIND_RESPONDENTS
from minyi.polls.models import (
    AgeBand,
    Dimension,
    Indicator,
    InvitationStatus,
    Poll,
    PollInvitation,
    PollQuota,
    PollRespondent,
    PollSource,
    PollStatus,
    PopulationMargin,
    Residence,
    SampleSource,
    Sex,
)

POLLSTER = "浙江某第三方调查公司"
# 塔山派出所 (its leader has a demo account, tashan_leader): weaker in both half-years.
# 华舍派出所: weaker in the previous half-year only (one mark: no case).
WEAK_TWICE = "330602002"
WEAK_ONCE = "330603003"

PEER_GROUPS = (
    ("全市派出所", UnitKind.POLICE_STATION),
    ("全市交警大队", UnitKind.TRAFFIC_BRIGADE),
    ("全市刑侦大队", UnitKind.CRIMINAL_BRIGADE),
)

# A city-wide level per indicator: 见警率 and 熟悉率 lower than satisfaction and safety, as
# in Zhejiang's published surveys.
BASE_RATE = {
    Indicator.SAW_POLICE: 0.83,
    Indicator.ATTITUDE: 0.91,
    Indicator.FAMILIARITY: 0.80,
    Indicator.SATISFACTION: 0.90,
    Indicator.SAFETY: 0.94,
}
WEAK_GAP = 0.11  # a weak station's rates lie this much below its own level
# How residents differ (added to the rate): floating residents know the community officer
# less and are a little less satisfied; the young know them least, the old best.
STRATUM_SHIFT = {
    Residence.FLOATING: {Indicator.FAMILIARITY: -0.12, Indicator.SATISFACTION: -0.04,
                         Indicator.SAW_POLICE: -0.04, Indicator.ATTITUDE: -0.02},
    AgeBand.UNDER_30: {Indicator.FAMILIARITY: -0.06, Indicator.SAFETY: -0.02},
    AgeBand.FROM_60: {Indicator.FAMILIARITY: 0.05, Indicator.SATISFACTION: 0.02},
}  # fmt: skip
# How much more (or less) often each stratum answers a phone poll than its population share.
AGE_REACH = {AgeBand.UNDER_30: 0.55, AgeBand.FROM_30: 0.9, AgeBand.FROM_45: 1.25,
             AgeBand.FROM_60: 1.4}  # fmt: skip
SEX_REACH = {Sex.MALE: 0.9, Sex.FEMALE: 1.1}
RESIDENCE_REACH = {Residence.REGISTERED: 1.15, Residence.FLOATING: 0.6}
NOT_ANSWERED = 0.015  # an indicator left blank (不清楚)
COMMENT_SHARE = 0.05

# The weak unit's own story; other comments come from minyi.demo.corpus.
WEAK_COMPLAINTS = (
    "塔山这边晚上几乎看不到民警，夜市周边经常有人喝酒闹事。",
    "打派出所电话经常没人接，反映的事情也没有回音。",
    "窗口排队时间太长，民警态度冷淡。",
)


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date


@dataclass(frozen=True)
class DemoCalendar:
    """The demo's periods, from the day it is built: the two last completed half-years (the
    assessments), the imported quarterly waves covering them up to the last completed
    quarter, and the current quarter (the wave being collected)."""

    today: date
    waves: tuple[tuple[int, int], ...]  # (year, quarter), oldest first
    halves: tuple[Period, Period]  # previous, latest
    current: tuple[int, int]


def quarter_start(year: int, quarter: int) -> date:
    return date(year, 3 * quarter - 2, 1)


def quarter_end(year: int, quarter: int) -> date:
    if quarter == 4:
        return date(year, 12, 31)
    return quarter_start(year, quarter + 1) - timedelta(days=1)


def _half(year: int, half: int) -> Period:
    if half == 1:
        return Period(f"{year}年上半年", date(year, 1, 1), date(year, 6, 30))
    return Period(f"{year}年下半年", date(year, 7, 1), date(year, 12, 31))


def half_of(day: date) -> Period:
    """The half-year `day` falls in."""
    return _half(day.year, 1 if day.month <= 6 else 2)


def demo_calendar(today: date) -> DemoCalendar:
    quarter = (today.month - 1) // 3 + 1
    latest = (today.year, 1) if today.month >= 7 else (today.year - 1, 2)
    previous = (latest[0], 1) if latest[1] == 2 else (latest[0] - 1, 2)
    last_done = (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)
    waves = []
    year, q = previous[0], 1 if previous[1] == 1 else 3
    while (year, q) <= last_done:
        waves.append((year, q))
        year, q = (year, q + 1) if q < 4 else (year + 1, 1)
    return DemoCalendar(
        today=today,
        waves=tuple(waves),
        halves=(_half(*previous), _half(*latest)),
        current=(today.year, quarter),
    )


def _urban_stations() -> set[str]:
    """Codes of the stations of streets (街道, urban) rather than towns (镇)."""
    urban = set()
    for district in DISTRICTS:
        for index in range(1, 1000):
            town = district.towns[(index - 1) % len(district.towns)]
            if town.endswith("街道"):
                urban.add(f"{district.code}{index:03d}")
    return urban


# --- Peer groups --------------------------------------------------------------------------------


def peer_groups_create(*, actor, root: OrgUnit) -> list[PeerGroup]:
    """The city bureau's three peer groups, through the real service; each unit in one."""
    units = OrgUnit.objects.filter(path__startswith=root.path, is_active=True).order_by("path")
    return [
        peer_group_save(actor=actor, owner=root, name=name, members=units.filter(kind=kind))
        for name, kind in PEER_GROUPS
    ]


# --- Population margins -------------------------------------------------------------------------


def _station_structure(rng: random.Random, urban: bool) -> tuple[int, float, float]:
    """(residents, floating share, male share) of one station's area."""
    if urban:
        total, floating = rng.randint(32_000, 60_000), rng.uniform(0.30, 0.50)
    else:
        total, floating = rng.randint(20_000, 38_000), rng.uniform(0.12, 0.28)
    return total, floating, 0.5 + 0.06 * floating


def _age_shares(floating: float) -> dict[str, float]:
    """Age structure: the more floating residents (mostly young workers), the younger."""
    ages = {
        AgeBand.UNDER_30: 0.14 + 0.25 * floating,
        AgeBand.FROM_30: 0.26 + 0.10 * floating,
        AgeBand.FROM_45: 0.30 - 0.15 * floating,
    }
    ages[AgeBand.FROM_60] = 1 - sum(ages.values())
    return ages


def _margin_rows(unit_id: int, year: int, total: int, floating: float, male: float) -> list:
    ages = _age_shares(floating)
    shares = {
        (Dimension.AGE_BAND, age): share for age, share in ages.items()
    } | {
        (Dimension.SEX, Sex.MALE): male,
        (Dimension.SEX, Sex.FEMALE): 1 - male,
        (Dimension.RESIDENCE, Residence.REGISTERED): 1 - floating,
        (Dimension.RESIDENCE, Residence.FLOATING): floating,
    }  # fmt: skip
    return [
        PopulationMargin(
            unit_id=unit_id, year=year, dimension=dimension, category=category,
            population=round(total * share),
        )
        for (dimension, category), share in shares.items()
    ]  # fmt: skip


def margins_create(*, units: list[OrgUnit], years: list[int], rng: random.Random) -> dict:
    """Each unit's population structure for `years` (the last one as drawn, earlier years a
    little smaller). Brigades serve their district's stations' residents, the city's
    detachments the whole city's. Returns {unit id: (floating share, male share)} of the
    last year, which the polls draw their samples from."""
    urban = _urban_stations()
    structure = {}
    for unit in units:
        if unit.kind == UnitKind.POLICE_STATION:
            structure[unit.code] = _station_structure(rng, unit.code in urban)
    for unit in units:
        if unit.kind == UnitKind.POLICE_STATION:
            continue
        city_wide = unit.code.startswith(ROOT_CODE)  # a detachment of the city bureau
        parts = [
            s
            for code, s in structure.items()
            if len(code) == 9 and (city_wide or code.startswith(unit.code[:6]))
        ]
        total = sum(p[0] for p in parts)
        floating = sum(p[0] * p[1] for p in parts) / total
        structure[unit.code] = (total, floating, 0.5 + 0.06 * floating)
    rows = []
    last = max(years)
    for unit in units:
        total, floating, male = structure[unit.code]
        for year in years:
            shrink = 0.985 ** (last - year)
            drift = 0.01 * (last - year)
            rows += _margin_rows(unit.pk, year, round(total * shrink), floating - drift, male)
    PopulationMargin.objects.bulk_create(rows, batch_size=1000)
    return {unit.pk: structure[unit.code][1:] for unit in units}


# --- Respondents --------------------------------------------------------------------------------


def _strata_table(floating: float, male: float) -> tuple[list, list]:
    """The strata cells and how likely a respondent of the poll falls in each: population
    share (margins treated as independent) times how often the stratum answers."""
    ages = _age_shares(floating)
    cells, weights = [], []
    for age, age_share in ages.items():
        for sex, sex_share in ((Sex.MALE, male), (Sex.FEMALE, 1 - male)):
            for residence, res_share in (
                (Residence.REGISTERED, 1 - floating),
                (Residence.FLOATING, floating),
            ):
                cells.append((age, sex, residence))
                weights.append(
                    age_share * AGE_REACH[age] * sex_share * SEX_REACH[sex]
                    * res_share * RESIDENCE_REACH[residence]
                )  # fmt: skip
    total = sum(weights)
    cumulative, running = [], 0.0
    for weight in weights:
        running += weight / total
        cumulative.append(running)
    return cells, cumulative


def unit_levels(units: list[OrgUnit], *, seed: int) -> dict[int, dict[str, float]]:
    """Each unit's own true rate per indicator (before the weak stations' gap)."""
    rng = random.Random(f"{seed}:polls:levels")  # noqa: S311 (demo data)
    levels = {}
    for unit in units:
        common = rng.gauss(0, 0.008)
        levels[unit.pk] = {
            indicator: BASE_RATE[indicator] + common + rng.gauss(0, 0.006)
            for indicator in Indicator
        }
    return levels


def _rate_table(cells: list, level: dict[str, float], shift: float) -> list[list[float]]:
    """The true rate of each indicator (in `Indicator` order) for each stratum cell."""
    table = []
    for age, _sex, residence in cells:
        shifts = (STRATUM_SHIFT.get(age, {}), STRATUM_SHIFT.get(residence, {}))
        table.append(
            [
                min(max(level[i] + shift + sum(s.get(i, 0.0) for s in shifts), 0.3), 0.99)
                for i in Indicator
            ]
        )
    return table


@dataclass
class _Drawn:
    rows: list
    csv_rows: list


def _respondents(
    rng: random.Random,
    *,
    poll: Poll,
    unit: OrgUnit,
    count: int,
    strata: tuple[list, list],
    level: dict[str, float],
    gap: float,
    ref_prefix: str,
    first: int,
    days: tuple[date, int],
    drawn: _Drawn,
    keep_csv: bool,
) -> None:
    cells, cumulative = strata
    start, span = days
    fields = [i.value for i in Indicator]
    table = _rate_table(cells, level, rng.gauss(0, 0.004) - gap)
    last = len(cells) - 1
    answered = 1 - NOT_ANSWERED
    for i in range(count):
        index = min(bisect.bisect_left(cumulative, rng.random()), last)
        age, sex, residence = cells[index]
        answers = {}
        # One draw per indicator: the lowest NOT_ANSWERED of it is a blank (不清楚).
        for field, rate in zip(fields, table[index], strict=True):
            u = rng.random() - NOT_ANSWERED
            answers[field] = None if u < 0 else u < rate * answered
        comment = ""
        if rng.random() < COMMENT_SHARE:
            negative = (
                answers[Indicator.SATISFACTION] is False or answers[Indicator.SAFETY] is False
            )
            if negative and gap and rng.random() < 0.5:
                comment = rng.choice(WEAK_COMPLAINTS)
            else:
                mood = "complaint" if negative else None
                comment = corpus_texts(rng, "poll", 1, mood=mood)[0][0]
        answered_on = start + timedelta(days=rng.randrange(span))
        ref = f"{ref_prefix}{first + i:06d}"
        drawn.rows.append(
            PollRespondent(
                poll_id=poll.pk, unit_id=unit.pk, respondent_ref=ref, age_band=age, sex=sex,
                residence=residence, comment=comment, answered_on=answered_on, **answers,
            )
        )  # fmt: skip
        if keep_csv:
            drawn.csv_rows.append(
                (ref, unit.code, age, sex, residence, answers, comment, answered_on)
            )


CSV_HEADER = ("样本编号", "单位代码", "年龄段", "性别", "户籍", "见警率", "服务态度", "熟悉率",
              "满意度", "安全感", "意见建议", "答卷日期")  # fmt: skip
_YES_NO = {True: "是", False: "否", None: ""}


def _csv(rows: list) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for ref, code, age, sex, residence, answers, comment, answered_on in rows:
        writer.writerow(
            (ref, code, age, Sex(sex).label, Residence(residence).label,
             *(_YES_NO[answers[i.value]] for i in Indicator), comment, answered_on.isoformat())
        )  # fmt: skip
    return out.getvalue().encode("utf-8-sig")


def _import_file(*, actor, root: OrgUnit, poll: Poll, rows: list, now: datetime) -> ImportFile:
    """The wave's file as the polling firm delivered it, kept for audit like an upload."""
    data = _csv(rows)
    name = f"民意测评_{poll.year}年第{poll.wave}季度_{POLLSTER}.csv"
    record = ImportFile(
        kind=KIND_RESPONDENTS,
        unit=root,
        uploaded_by=actor,
        filename=name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        target={"poll": poll.pk},
        status=ImportStatus.DONE,
        stage="store",
        rows_total=len(rows),
        rows_done=len(rows),
        result={"respondents": len(rows)},
        finished_at=now,
    )
    record.file.save(name, ContentFile(data), save=False)
    record.save()
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=record,
        detail={"kind": KIND_RESPONDENTS, "sha256": record.sha256, "size": record.size,
                **record.target},
    )  # fmt: skip
    return record


def _wave_dates(year: int, quarter: int) -> tuple[date, date]:
    """A firm fields in the quarter's last six weeks and delivers before it ends."""
    end = quarter_end(year, quarter)
    return end - timedelta(days=45), end - timedelta(days=10)


def imported_polls_create(
    *,
    actor,
    root: OrgUnit,
    units: list[OrgUnit],
    structure: dict,
    calendar: DemoCalendar,
    seed: int,
    now: datetime,
) -> list[Poll]:
    """One imported wave per quarter of `calendar.waves`; the latest keeps its CSV file."""
    levels = unit_levels(units, seed=seed)
    strata = {unit.pk: _strata_table(*structure[unit.pk]) for unit in units}
    previous = calendar.halves[0]
    polls = []
    for year, quarter in calendar.waves:
        fielded_from, fielded_to = _wave_dates(year, quarter)
        poll = Poll.objects.create(
            title=f"{year}年第{quarter}季度公众安全感和满意度测评",
            year=year, wave=quarter, source=PollSource.IMPORTED, status=PollStatus.CLOSED,
            unit=root, fielded_from=fielded_from, fielded_to=fielded_to, pollster=POLLSTER,
            created_by=actor,
        )  # fmt: skip
        rng = random.Random(f"{seed}:polls:{year}:{quarter}")  # noqa: S311
        latest = (year, quarter) == calendar.waves[-1]
        drawn = _Drawn([], [])
        in_previous = previous.start <= fielded_to <= previous.end
        span = (fielded_from, (fielded_to - fielded_from).days + 1)
        for unit in units:
            station = unit.kind == UnitKind.POLICE_STATION
            count = rng.randint(310, 370) if station else rng.randint(100, 130)
            gap = 0.0
            if unit.code == WEAK_TWICE or (unit.code == WEAK_ONCE and in_previous):
                gap = WEAK_GAP
            _respondents(
                rng, poll=poll, unit=unit, count=count, strata=strata[unit.pk],
                level=levels[unit.pk], gap=gap, ref_prefix=f"ZJ{year}Q{quarter}-",
                first=len(drawn.rows) + 1, days=span, drawn=drawn, keep_csv=latest,
            )  # fmt: skip
        if latest:
            record = _import_file(actor=actor, root=root, poll=poll, rows=drawn.csv_rows, now=now)
            for row in drawn.rows:
                row.source_import_id = record.pk
        PollRespondent.objects.bulk_create(drawn.rows, batch_size=2000)
        polls.append(poll)
    return polls


# --- The wave being collected in Minyi ----------------------------------------------------------


def _daytime(day: date, rng: random.Random) -> datetime:
    """A moment between 09:00 and 19:00 of `day`, local time (outside quiet hours)."""
    moment = datetime.combine(day, dtime(9), tzinfo=timezone.get_current_timezone())
    return moment + timedelta(seconds=rng.randrange(10 * 3600))


def collected_poll_create(
    *,
    actor,
    root: OrgUnit,
    stations: list[OrgUnit],
    structure: dict,
    calendar: DemoCalendar,
    seed: int,
    now: datetime,
) -> Poll:
    """The current quarter's wave, collected in Minyi by SMS, two weeks in: quotas for
    every station, invitations (answered, sent, reminded, expired, opted out, scheduled for
    the next morning) to the stations of 越城, and the answers so far (no link back)."""
    year, quarter = calendar.current
    today = calendar.today
    poll = Poll.objects.create(
        title=f"{year}年第{quarter}季度平台短信民意测评",
        year=year, wave=quarter, source=PollSource.COLLECTED, status=PollStatus.COLLECTING,
        unit=root, fielded_from=today - timedelta(days=14),
        fielded_to=max(quarter_end(year, quarter), today + timedelta(days=14)),
        created_by=actor,
    )  # fmt: skip
    rng = random.Random(f"{seed}:polls:collected")  # noqa: S311
    quotas = []
    for unit in stations:
        floating = structure[unit.pk][0]
        target_floating = round(400 * floating)
        quotas += [
            PollQuota(poll=poll, unit=unit, target=400),
            PollQuota(poll=poll, unit=unit, dimension=Dimension.RESIDENCE,
                      category=Residence.REGISTERED, target=400 - target_floating),
            PollQuota(poll=poll, unit=unit, dimension=Dimension.RESIDENCE,
                      category=Residence.FLOATING, target=target_floating),
        ]  # fmt: skip
    PollQuota.objects.bulk_create(quotas)

    invitations, answers = [], []
    reminder = timedelta(hours=settings.POLL_REMINDER_HOURS)
    expiry = timedelta(days=settings.POLL_EXPIRY_DAYS)
    tomorrow = today + timedelta(days=1)
    levels = unit_levels(stations, seed=seed)
    yuecheng = [u for u in stations if u.code.startswith("330602")]
    for unit in yuecheng:
        strata = _strata_table(*structure[unit.pk])
        for i in range(rng.randint(50, 70)):
            mobile = new_mobile(rng)
            day = today - timedelta(days=rng.randint(1, 13))
            row = PollInvitation(
                poll=poll, unit=unit,
                sample_source=SampleSource.SERVICE_EVENTS if i % 5 else SampleSource.IMPORTED_LIST,
                mobile=mobile, mobile_hash=lookup_hash("mobile", mobile),
                token=f"{rng.getrandbits(128):032x}",
            )  # fmt: skip
            draw = rng.random()
            if draw < 0.15:  # the next batch goes out tomorrow morning
                row.status = InvitationStatus.SCHEDULED
                row.created_at = now - timedelta(hours=rng.randint(1, 20))
                row.send_at = _daytime(tomorrow, rng).replace(hour=9, minute=30)
                invitations.append(row)
                continue
            sent = _daytime(day, rng)
            row.created_at = sent - timedelta(hours=rng.randint(12, 30))
            row.send_at = row.sent_at = sent
            row.reminder_due_at = sent + reminder
            row.expires_at = sent + expiry
            if row.reminder_due_at < now and draw > 0.5:
                row.reminded_at = row.reminder_due_at
            if draw < 0.55:
                answered = sent + timedelta(minutes=rng.randint(3, 60 * 30))
                if answered < now:
                    row.status = InvitationStatus.ANSWERED
                    row.answered_at = answered
                    drawn = _Drawn([], [])
                    _respondents(
                        rng, poll=poll, unit=unit, count=1, strata=strata,
                        level=levels[unit.pk], gap=WEAK_GAP if unit.code == WEAK_TWICE else 0.0,
                        ref_prefix=f"H5-{rng.getrandbits(48):012x}-", first=1,
                        days=(answered.date(), 1), drawn=drawn, keep_csv=False,
                    )  # fmt: skip
                    answers += drawn.rows
                    invitations.append(row)
                    continue
            if draw > 0.97:
                row.status = InvitationStatus.CANCELLED  # replied 退订
            elif row.expires_at < now:
                row.status = InvitationStatus.EXPIRED
            else:
                row.status = InvitationStatus.SENT
            invitations.append(row)
    PollInvitation.objects.bulk_create(invitations, batch_size=1000)
    # Answers are stored in a shuffled order: row ids must not follow the invitations'.
    rng.shuffle(answers)
    PollRespondent.objects.bulk_create(answers, batch_size=1000)
    return poll


# --- Everything ---------------------------------------------------------------------------------


@dataclass
class DemoPolls:
    calendar: DemoCalendar
    groups: list[PeerGroup]
    imported: list[Poll]
    collected: Poll
    respondents: int


def polled_units(root: OrgUnit) -> list[OrgUnit]:
    """The units the polls cover: the stations and brigades, in tree order."""
    kinds = [kind for _, kind in PEER_GROUPS]
    return list(
        OrgUnit.objects.filter(path__startswith=root.path, kind__in=kinds, is_active=True).order_by(
            "path"
        )
    )


def polls_demo_create(*, root: OrgUnit, admin: User, today: date, now: datetime,
                      seed: int = DEFAULT_SEED) -> DemoPolls:  # fmt: skip
    """Peer groups, population margins, imported waves and the wave being collected."""
    calendar = demo_calendar(today)
    groups = peer_groups_create(actor=admin, root=root)
    units = polled_units(root)
    rng = random.Random(f"{seed}:polls:margins")  # noqa: S311
    years = sorted({y for y, _ in calendar.waves} | {calendar.current[0], today.year - 1})
    structure = margins_create(units=units, years=years, rng=rng)
    imported = imported_polls_create(
        actor=admin, root=root, units=units, structure=structure, calendar=calendar,
        seed=seed, now=now,
    )  # fmt: skip
    stations = [u for u in units if u.kind == UnitKind.POLICE_STATION]
    collected = collected_poll_create(
        actor=admin, root=root, stations=stations, structure=structure, calendar=calendar,
        seed=seed, now=now,
    )  # fmt: skip
    respondents = PollRespondent.objects.filter(poll__in=[*imported, collected]).count()
    return DemoPolls(calendar, groups, imported, collected, respondents)
