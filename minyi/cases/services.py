"""Writes on cases (阳光警务): upsert from the case system, progress steps with their SMS to the
parties, and the party's lookup (case number + ID number, then a code to the mobile on record).

A confidential or private case is refused with exactly the refusal of a case that does not
exist: same code, same message, same status, same work done before it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from minyi.cases.models import (
    HIDING_FLAGS,
    STAGE_ORDER,
    Case,
    CaseParty,
    CaseProgress,
    CaseStage,
    PartyRole,
)
from minyi.cases.selectors import case_party_public, case_party_public_find
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.models import AuditAction
from minyi.core.pii import lookup_hash, normalize_id_number, normalize_mobile
from minyi.integrations.sms.models import SmsPurpose
from minyi.integrations.sms.services import sms_enqueue
from minyi.opinions.models import OpinionKind
from minyi.opinions.services.intake import opinion_submit
from minyi.orgs.models import Officer, OrgUnit
from minyi.verification.models import OtpPurpose
from minyi.verification.services import otp_request, otp_verify, throttle_hit

# Clocks of the case system and ours may differ a little; a step "tomorrow" is a mistake.
FUTURE_SLACK = timedelta(hours=1)
# A case that ended stays ended: a late step of an earlier stage goes on the timeline only.
TERMINAL_STAGES = {CaseStage.CLOSED, CaseStage.NOT_FILED}


def case_not_found() -> ApplicationError:
    return ApplicationError(
        "case_not_found",
        _("未找到该案件，请核对案件编号和身份证号码。"),
        field="number",
        status=404,
    )


def party_subject(party_id: int) -> str:
    return f"party:{party_id}"


def normalize_case_number(value) -> str:
    """Case numbers are compared in upper case without surrounding spaces, by writers and by
    the party's lookup alike (a lower-case number written by the API must still be found)."""
    return str(value or "").strip().upper()


def _flag(value) -> bool:
    """A yes/no from JSON or a CSV cell: "0", "false", "否" and "" are no."""
    if isinstance(value, str):
        return value.strip().lower() not in {"", "0", "false", "no", "n", "否"}
    return bool(value)


def _flag_given(data: dict, name: str) -> bool:
    """Whether the writer said anything about a flag. Left out, null or a blank CSV cell is
    silence: an update must not make a confidential case public by forgetting the flag."""
    value = data.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _check_scope(scope: OrgUnit | None, unrestricted: bool) -> None:
    """No scope means every unit: only a caller that says so (the demo, the benchmarks, a
    superuser's import) may write without one; a forgotten scope is refused, not unlimited."""
    if scope is None and not unrestricted:
        raise PermissionDenied()


def _moment(value, field: str):
    try:
        moment = value if hasattr(value, "tzinfo") else parse_datetime(str(value or "").strip())
    except ValueError:
        moment = None
    if moment is None:
        raise ApplicationError(
            "invalid_time", _("时间格式不正确，应为 2026-11-24T09:30:00+08:00。"), field=field
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment > timezone.now() + FUTURE_SLACK:
        raise ApplicationError("future_time", _("时间不能晚于当前时间。"), field=field)
    return moment


def progress_clean(step: dict, index: int = 0) -> dict:
    where = f"progress[{index}]"
    stage = step.get("stage", "")
    if stage not in CaseStage.values:
        raise ApplicationError(
            "invalid_stage",
            _("进度“%(stage)s”不正确，应为：%(choices)s。")
            % {"stage": stage, "choices": "、".join(CaseStage.values)},
            field=f"{where}.stage",
        )
    note = (step.get("note") or "").strip()
    if stage == CaseStage.NOT_FILED and len(note) < 2:
        raise ApplicationError("reason_required", _("不予立案须写明理由。"), field=f"{where}.note")
    if len(note) > 500:
        raise ApplicationError("note_too_long", _("说明不能超过 500 个字。"), field=f"{where}.note")
    external_id = str(step.get("external_id") or "").strip()
    if not external_id or len(external_id) > 64:
        raise ApplicationError(
            "invalid_external_id",
            _("每个进度须有 1–64 个字符的唯一编号（external_id）。"),
            field=f"{where}.external_id",
        )
    return {
        "stage": stage,
        "occurred_at": _moment(step.get("occurred_at"), f"{where}.occurred_at"),
        "note": note,
        "external_id": external_id,
        "notify": _flag(step.get("notify", True)),
    }


def party_clean(raw: dict, index: int = 0) -> dict:
    where = f"parties[{index}]"
    role = raw.get("role") or PartyRole.PARTY
    if role not in PartyRole.values:
        raise ApplicationError("invalid_role", _("当事人身份不正确。"), field=f"{where}.role")
    name = (raw.get("name") or "").strip()
    if not name or len(name) > 30:
        raise ApplicationError(
            "invalid_name", _("请填写当事人姓名（30 字以内）。"), field=f"{where}.name"
        )
    try:
        id_number = normalize_id_number(raw.get("id_number", ""))
        mobile = normalize_mobile(raw["mobile"]) if raw.get("mobile") else ""
    except ApplicationError as exc:
        exc.field = f"{where}.{exc.field}"
        raise
    return {
        "role": role,
        "name": name,
        "id_number": id_number,
        "mobile": mobile,
        "notify": _flag(raw.get("notify", True)),
    }


@transaction.atomic
def case_upsert(
    *,
    scope: OrgUnit | None,
    data: dict,
    source: str,
    actor=None,
    now=None,
    unrestricted: bool = False,
) -> tuple[Case, bool]:
    """Create or update a case with its parties and progress steps (from the API or a CSV
    row). `scope` is the writer's subtree; a case of a unit outside it is refused. `scope=None`
    (every unit) needs `unrestricted=True`.

    The flags (confidential, private) of an existing case change only when `data` carries
    them; a new case without them is public."""
    _check_scope(scope, unrestricted)
    now = now or timezone.now()
    number = normalize_case_number(data.get("number"))
    if not number or len(number) > 40:
        raise ApplicationError(
            "invalid_number", _("案件编号不能为空，且不超过 40 个字符。"), field="number"
        )
    case_type = str(data.get("case_type") or "").strip()
    if not case_type or len(case_type) > 40:
        raise ApplicationError(
            "invalid_case_type", _("请填写案件类别（40 字以内）。"), field="case_type"
        )
    unit = OrgUnit.objects.filter(code=data.get("unit_code") or "").first()
    if unit is None or (scope is not None and not scope.contains(unit)):
        raise ApplicationError(
            "invalid_unit", _("办案单位代码不存在或不在授权范围内。"), field="unit_code"
        )
    officer = None
    if data.get("officer_police_number"):
        officer = Officer.objects.filter(
            police_number=data["officer_police_number"], unit__path__startswith=unit.path
        ).first()
        if officer is None:
            raise ApplicationError(
                "invalid_officer",
                _("主办民警警号不存在或不属于办案单位。"),
                field="officer_police_number",
            )
    parties = [party_clean(p, i) for i, p in enumerate(data.get("parties") or [])]
    steps = [progress_clean(s, i) for i, s in enumerate(data.get("progress") or [])]
    case = Case.objects.select_for_update().filter(number=number).first()
    created = case is None
    if created:
        if not steps:
            raise ApplicationError(
                "progress_required", _("新案件至少要有一个进度（如“受理”）。"), field="progress"
            )
        first = min(steps, key=lambda s: s["occurred_at"])
        case = Case(number=number, stage=first["stage"], stage_at=first["occurred_at"])
    elif scope is not None and not scope.contains(case.unit):
        raise ApplicationError(
            "invalid_unit", _("办案单位代码不存在或不在授权范围内。"), field="unit_code"
        )
    case.case_type = case_type
    case.unit = unit
    case.officer = officer
    was = {name: getattr(case, name) for name in HIDING_FLAGS}
    for name in HIDING_FLAGS:
        if created or _flag_given(data, name):
            setattr(case, name, _flag(data.get(name)))
    case.source = source[:60]
    case.save()
    # A flag change is audited (who, from where, old and new): a case made public can be
    # looked up by its parties and pushes SMS from now on.
    if not created and any(was[name] != getattr(case, name) for name in HIDING_FLAGS):
        audit_record(
            action=AuditAction.CHANGE,
            actor=actor,
            username=source[:150],
            obj=case,
            detail={
                "source": source[:60],
                "flags": {name: [was[name], getattr(case, name)] for name in HIDING_FLAGS},
                "made_public": case.is_public and any(was.values()),
            },
        )
    for party in parties:
        id_hash = lookup_hash("id", party["id_number"])
        CaseParty.objects.update_or_create(
            case=case,
            id_number_hash=id_hash,
            defaults={
                "role": party["role"],
                "name": party["name"],
                "id_number": party["id_number"],
                "mobile": party["mobile"],
                "mobile_hash": lookup_hash("mobile", party["mobile"]) if party["mobile"] else "",
                "notify": party["notify"],
            },
        )
    added = [
        progress
        for step in sorted(steps, key=lambda s: (s["occurred_at"], STAGE_ORDER[s["stage"]]))
        if (progress := _progress_add(case, step, now=now, push=False)) is not None
    ]
    # One message per upsert, for the newest step that is new: a case sent with its whole
    # history (or re-sent) must not ring the party's phone once per step.
    if added and added[-1].notify and case.is_public:
        case_progress_push(case=case, progress=added[-1], now=now)
    audit_record(
        action=AuditAction.CREATE if created else AuditAction.CHANGE,
        actor=actor,
        username=source[:150],
        obj=case,
        detail={"source": source[:60], "steps_added": len(added), "parties": len(parties)},
    )
    return case, created


def _progress_add(case: Case, step: dict, *, now, push: bool) -> CaseProgress | None:
    progress, created = CaseProgress.objects.get_or_create(
        case=case,
        external_id=step["external_id"],
        defaults={
            "stage": step["stage"],
            "occurred_at": step["occurred_at"],
            "note": step["note"],
            "created_at": now,
        },
    )
    if not created:
        return None  # sent again: already on the timeline
    progress.notify = step["notify"]
    # Every new step changes updated_at: the party's progress page is cached on it.
    changes = {"updated_at": timezone.now()}
    reopens = case.stage in TERMINAL_STAGES and step["stage"] not in TERMINAL_STAGES
    if not reopens and (step["occurred_at"], STAGE_ORDER[step["stage"]]) >= (
        case.stage_at,
        STAGE_ORDER[CaseStage(case.stage)],
    ):
        changes.update(stage=step["stage"], stage_at=step["occurred_at"])
    Case.objects.filter(pk=case.pk).update(**changes)
    for name, value in changes.items():
        setattr(case, name, value)
    # Only a step that moves the case is news; a late or out-of-order one just joins the
    # timeline (a closed case's party is not told "侦查" afterwards).
    if push and "stage" in changes and step["notify"] and case.is_public:
        case_progress_push(case=case, progress=progress, now=now)
    return progress


@transaction.atomic
def case_progress_add(
    *,
    scope: OrgUnit | None,
    number: str,
    step: dict,
    source: str = "",
    now=None,
    unrestricted: bool = False,
):
    """One progress step for an existing case (from the API); pushed to the parties by SMS.
    `scope=None` (every unit) needs `unrestricted=True`."""
    _check_scope(scope, unrestricted)
    now = now or timezone.now()
    case = (
        Case.objects.select_for_update()
        .select_related("unit")
        .filter(number=normalize_case_number(number))
        .first()
    )
    if case is None or (scope is not None and not scope.contains(case.unit)):
        raise ApplicationError("not_found", _("找不到该案件，或不在授权范围内。"), status=404)
    progress = _progress_add(case, progress_clean(step, 0), now=now, push=True)
    if progress is not None:
        audit_record(
            action=AuditAction.CHANGE,
            username=source[:150],
            obj=case,
            detail={"source": source[:60], "progress": progress.external_id},
        )
    return case, progress


def case_progress_push(*, case: Case, progress: CaseProgress, now=None) -> int:
    """Tell each party who wants it, by SMS, that the case moved. The text names the case
    number and the stage only: the phone may be read by someone else."""
    now = now or timezone.now()
    if not case.is_public:
        return 0
    url = f"{settings.PUBLIC_BASE_URL}{reverse('portal:case_lookup')}"
    sent = 0
    for party in case.parties.filter(notify=True).exclude(mobile_hash=""):
        sms_enqueue(
            mobile=party.mobile,
            body=_("%(sig)s您的案件（编号 %(no)s）有新进展：%(stage)s。详情请查询：%(url)s")
            % {
                "sig": settings.SMS_SIGNATURE,
                "no": case.number,
                "stage": progress.get_stage_display(),
                "url": url,
            },
            purpose=SmsPurpose.NOTIFICATION,
        )
        sent += 1
    if sent:
        CaseProgress.objects.filter(pk=progress.pk).update(notified_at=now)
        progress.notified_at = now
    return sent


def case_lookup_start(*, number: str, id_number: str, ip: str = "", now=None) -> CaseParty:
    """Step 1 of a party's lookup: case number + ID number → a code to the mobile on record.
    Counted per address, found or not, so case numbers cannot be tried in bulk."""
    now = now or timezone.now()
    number = normalize_case_number(number)
    if not number:
        raise ApplicationError("number_required", _("请输入案件编号。"), field="number")
    id_number = normalize_id_number(id_number)
    throttle_hit(
        scope="case_lookup",
        key=ip,
        limits=[(settings.CASE_LOOKUPS_PER_IP_HOUR, timedelta(hours=1))],
        now=now,
    )
    party = case_party_public_find(number, id_number)
    if party is None:
        raise case_not_found()
    if not party.mobile:
        raise ApplicationError(
            "no_mobile_on_record",
            _("该案件未登记您的手机号码，请携带身份证件到办案单位查询。"),
            status=409,
        )
    otp_request(
        mobile=party.mobile,
        purpose=OtpPurpose.CASE_LOOKUP,
        subject=party_subject(party.pk),
        ip=ip,
        now=now,
    )
    return party


def case_lookup_verify(*, party_id: int, code: str, now=None) -> CaseParty:
    """Step 2: the code sent to the party's mobile. The case must still be public."""
    party = case_party_public(party_id)
    if party is None or not party.mobile:
        raise case_not_found()
    otp_verify(
        mobile=party.mobile,
        purpose=OtpPurpose.CASE_LOOKUP,
        code=code,
        subject=party_subject(party.pk),
        now=now,
    )
    return party


def case_lookup_resend(*, party_id: int, ip: str = "", now=None) -> CaseParty:
    """A new code for the party of step 1 (the first did not arrive, or expired). Counted
    against the same per-address limit as step 1; the case must still be public."""
    now = now or timezone.now()
    throttle_hit(
        scope="case_lookup",
        key=ip,
        limits=[(settings.CASE_LOOKUPS_PER_IP_HOUR, timedelta(hours=1))],
        now=now,
    )
    party = case_party_public(party_id)
    if party is None or not party.mobile:
        raise case_not_found()
    otp_request(
        mobile=party.mobile,
        purpose=OtpPurpose.CASE_LOOKUP,
        subject=party_subject(party.pk),
        ip=ip,
        now=now,
    )
    return party


def case_complaint_file(*, party: CaseParty, content: str, now=None):
    """An unsatisfied party's complaint about their case: a named opinion linked to the case,
    handled by the unit above the handling unit (督察), or by the handling unit when it is
    the top of the tree. Never anonymous: the unit handling it can open the case."""
    unit = party.case.unit
    parent = OrgUnit.objects.filter(path=unit.path[: -OrgUnit.steplen]).first()
    handler = parent if unit.depth > 1 and parent is not None else unit
    return opinion_submit(
        kind=OpinionKind.COMPLAINT,
        content=content,
        mobile=party.mobile,
        anonymous=False,
        contact_name=party.name,
        unit_id=handler.pk,
        case=party.case,
        now=now,
    )
