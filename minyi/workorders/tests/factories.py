"""Test data for the callback workbench, work orders and appeals.

Built on `make_world()`: 甲区分局 and 乙区分局 get perception centres, so a 110 contact at 甲二所
(station a2) is called back by the 甲区 centre (evaluator "a") and is invisible to the sibling
centre at 乙区 (evaluator "b"). Surveys are created directly as sent and answered through the
real `survey_answer`, so the rollup and the first callback are what production makes.
"""

import threading
import time
from datetime import timedelta
from itertools import count
from uuid import uuid4

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from minyi.callbacks.models import Attribution, Callback, CallbackKind, CallOutcome
from minyi.callbacks.services import callback_claim, callback_record
from minyi.core.pii import lookup_hash
from minyi.orgs.choices import Role
from minyi.orgs.models import OrgUnit
from minyi.perception.models import ReasonTag, Survey, SurveyStatus
from minyi.perception.services.replies import survey_answer
from minyi.perception.tests.factories import make_event
from minyi.workorders.models import WorkOrder

LEADER_MOBILE = "13900009999"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"0" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64

_mobiles = count(1)


def next_mobile() -> str:
    return f"137{next(_mobiles):08d}"


def open_centres(world) -> None:
    """Perception centres at both district bureaus (the city already has one)."""
    OrgUnit.objects.filter(pk__in=[world.district_a.pk, world.district_b.pk]).update(
        has_perception_centre=True
    )
    world.district_a.refresh_from_db()
    world.district_b.refresh_from_db()


def give_mobile(user, mobile: str = LEADER_MOBILE):
    user.mobile = mobile
    user.save()
    return user


def unsatisfied_survey(
    world,
    *,
    unit_key: str = "a2",
    business_type: str = "jcj_110",
    rating: int = 4,
    mobile: str | None = None,
    comment: str = "民警态度不好",
    now=None,
) -> Survey:
    """A contact at `unit_key` (with that station's officer on it), surveyed, answered
    unsatisfied: its first callback is open in the centre's queue."""
    now = now or timezone.now()
    unit = getattr(world, {"a1": "station_a1", "a2": "station_a2", "b1": "station_b1"}[unit_key])
    officer = world.officers[unit_key]
    mobile = mobile or next_mobile()
    event = make_event(
        unit,
        business_type,
        mobile=mobile,
        officers=[officer.police_number],
        # The API refuses contacts in the future; a test set in 2027 still needs one.
        occurred_at=min(now, timezone.now()) - timedelta(hours=3),
    )
    survey = Survey.objects.create(
        event=event,
        mobile_hash=lookup_hash("mobile", mobile),
        unit=unit,
        business_type=event.business_type,
        contact_at=event.occurred_at,
        token=uuid4().hex,
        status=SurveyStatus.SENT,
        send_at=now - timedelta(hours=2),
        sent_at=now - timedelta(hours=2),
        expires_at=now + timedelta(days=2),
    )
    return survey_answer(survey=survey, rating=rating, comment=comment, via="sms", now=now)


def first_callback(survey: Survey) -> Callback:
    return Callback.objects.get(survey=survey, kind=CallbackKind.FIRST)


def held_callback(world, *, evaluator=None, now=None, **survey_kwargs) -> Callback:
    """An unsatisfied citizen's first callback, held by an evaluator of its district's
    centre (甲区 for stations a1 and a2, 乙区 for b1)."""
    survey = unsatisfied_survey(world, now=now, **survey_kwargs)
    district = "b" if survey.unit_id == world.station_b1.pk else "a"
    evaluator = evaluator or world.user(district, Role.EVALUATOR)
    return callback_claim(actor=evaluator, callback=first_callback(survey), now=now)


def record_at_fault(world, callback: Callback, *, now=None) -> WorkOrder:
    """The held task's call reached the citizen; the police were at fault."""
    evaluator = callback.assignee
    callback_record(
        actor=evaluator,
        callback=callback,
        outcome=CallOutcome.REACHED,
        reason_text="群众反映民警接警后态度生硬，未说明处理进度。",
        tags=[ReasonTag.ATTITUDE, ReasonTag.EXPLANATION],
        attribution=Attribution.AT_FAULT,
        officer=world.officers[_unit_key(world, callback.unit_id)],
        now=now,
    )
    return WorkOrder.objects.get(callback=callback)


def _unit_key(world, unit_id) -> str:
    return {
        world.station_a1.pk: "a1",
        world.station_a2.pk: "a2",
        world.station_b1.pk: "b1",
    }[unit_id]


def at_fault_order(world, *, now=None, **survey_kwargs) -> WorkOrder:
    """A work order dispatched to station a2 (default) after an at-fault callback."""
    callback = held_callback(world, now=now, **survey_kwargs)
    return record_at_fault(world, callback, now=now)


def follow_up_of(order: WorkOrder) -> Callback:
    """The order's open 追评 callback."""
    return Callback.objects.get(
        work_order=order, kind=CallbackKind.FOLLOW_UP, status__in=["open", "in_progress"]
    )


def upload(content: bytes = PNG, name: str = "整改照片.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- Races (PostgreSQL only) -----------------------------------------------------------------


def pause_after(monkeypatch, module, name: str, thread_name: str):
    """Wrap `module.<name>` so that, in the thread called `thread_name` only, it stops after
    doing its work (still inside the caller's transaction) until released. Returns the events
    (reached, release)."""
    original = getattr(module, name)
    reached, release = threading.Event(), threading.Event()

    def paused(*args, **kwargs):
        result = original(*args, **kwargs)
        if threading.current_thread().name == thread_name:
            reached.set()
            release.wait(timeout=30)
        return result

    monkeypatch.setattr(module, name, paused)
    return reached, release


def wait_until_blocked(thread, tries: int = 600) -> None:
    """Wait until some session of the test database waits for a row lock (or `thread` has
    finished): the race under test is then really on."""
    for _ in range(tries):
        if not thread.is_alive():
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
