"""Demo: the citizen portal's last 30 days, made by the real services with `now=` the
simulated moment. Citizens write suggestions, complaints, consultations and tips to the
demo city's stations; the units sign, transfer, answer (a few late), verify tips and
propose rewards that a district supervisor approves and the station pays; citizens rate
most answers. The case system sends cases with their parties and progress, one of them
confidential. Then `demo_portal` prints a case number and ID number to try at /c/cases/."""

import random
from datetime import timedelta

from django.utils import timezone

from minyi.cases.models import Case, CaseStage
from minyi.cases.services import case_upsert
from minyi.core.errors import ApplicationError
from minyi.core.pii import id_number_checksum
from minyi.demo.city import closest_account
from minyi.demo.corpus import corpus_texts
from minyi.opinions.models import OpinionKind, TipVerdict
from minyi.opinions.services.handling import (
    opinion_answer,
    opinion_rate,
    opinion_tip_verdict,
    opinion_transfer,
)
from minyi.opinions.services.intake import CONTENT_MAX, opinion_submit
from minyi.opinions.services.rewards import reward_decide, reward_pay, reward_propose
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.models import Officer, OrgUnit, User

DEMO_CASE_PREFIX = "A330602"

TEXTS = {
    OpinionKind.SUGGESTION: (
        "建议在小区门口早晚高峰增加巡逻，附近学校放学时段人车混行比较危险。",
        "建议户籍窗口中午安排轮班，上班族只有中午有时间办理业务。",
        "建议在派出所门口设置无障碍通道，老年人轮椅进出不方便。",
        "建议在夜市周边增设警务服务点，晚上人员密集容易发生纠纷。",
        "建议定期在社区开展防电信诈骗宣传，老年人很容易上当。",
    ),
    OpinionKind.CONSULTATION: (
        "请问外地户口的孩子在本地上学需要办理什么证明？",
        "身份证丢失了补办需要带哪些材料，可以异地办理吗？",
        "请问驾驶证到期换证可以在派出所办理吗？",
        "请问开具无犯罪记录证明需要多长时间？",
    ),
    OpinionKind.TIP: (
        "某小区地下车库经常有人深夜聚集赌博，车辆进出频繁。",
        "有人在微信群里发布虚假投资理财信息，已有多位老人被骗。",
        "某出租屋内疑似有人非法存放大量烟花爆竹，存在安全隐患。",
    ),
}
ANSWERS = {
    OpinionKind.SUGGESTION: "感谢您的建议。我所已调整勤务安排，在您反映的时段增加巡逻力量。",
    OpinionKind.COMPLAINT: "您反映的问题已核查属实，已对相关民警批评教育并责令整改，感谢监督。",
    OpinionKind.CONSULTATION: "您好，可携带身份证到辖区派出所窗口办理，材料清单见办事指南。",
    OpinionKind.TIP: "您提供的线索已转交相关部门核查，感谢您对公安工作的支持。",
}
CASE_TYPES = ("盗窃", "诈骗", "故意伤害", "电动车被盗", "入室盗窃", "寻衅滋事")
NAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴")


def _content(rng: random.Random, kind: str) -> str:
    """A complaint in a citizen's words (the demo corpus: short messages, letters, typos,
    dialect), within the portal's length limit; the other kinds from TEXTS."""
    if kind == OpinionKind.COMPLAINT:
        return corpus_texts(rng, "opinion", 1, max_chars=CONTENT_MAX, mood="complaint")[0][0]
    return rng.choice(TEXTS[kind])


def portal_demo_exists() -> bool:
    return Case.objects.filter(source="demo").exists()


def _id_number(rng: random.Random) -> str:
    born = f"{rng.randint(1955, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = f"330602{born}{rng.randint(0, 999):03d}"
    return first17 + id_number_checksum(first17)


def _mobile(rng: random.Random) -> str:
    return f"13{rng.randint(5, 9)}{rng.randint(0, 99_999_999):08d}"


def build_portal_demo(*, seed: int, days: int = 30, opinions: int = 120, cases: int = 40) -> dict:
    rng = random.Random(f"{seed}:portal")  # noqa: S311 - synthetic data, not secrets
    now = timezone.now()
    stations = list(
        OrgUnit.objects.filter(kind=UnitKind.POLICE_STATION, is_active=True).order_by("path")
    )
    # The demo accounts' stations get most of the traffic, so their queues are not empty.
    focus = [u for u in stations if u.code in ("330602001", "330602002")] or stations[:2]
    leaders = list(
        User.objects.filter(role=Role.UNIT_LEADER, is_active=True).select_related("unit")
    )
    supervisors = list(
        User.objects.filter(role=Role.SUPERVISOR, is_active=True).select_related("unit")
    )
    evaluator = User.objects.filter(role=Role.EVALUATOR, unit__depth=1).first()
    figures = {"opinions": 0, "answered": 0, "rated": 0, "rewards": 0, "cases": 0}
    kinds = [OpinionKind.SUGGESTION] * 4 + [OpinionKind.COMPLAINT] * 3
    kinds += [OpinionKind.CONSULTATION] * 3 + [OpinionKind.TIP] * 2
    for _ in range(opinions):
        kind = rng.choice(kinds)
        at = now - timedelta(days=rng.uniform(0, days), hours=rng.uniform(0, 8))
        unit = rng.choice(focus) if rng.random() < 0.6 else rng.choice(stations)
        to_centre = rng.random() < 0.1  # the citizen did not know the station: the centre routes
        anonymous = kind == OpinionKind.TIP and rng.random() < 0.5
        try:
            opinion = opinion_submit(
                kind=kind,
                content=_content(rng, kind),
                mobile=_mobile(rng),
                anonymous=anonymous,
                contact_name="" if anonymous else rng.choice(NAMES) + "先生",
                area=unit.name if not to_centre else "",
                unit_id=None if to_centre else unit.pk,
                wall_consent=rng.random() < 0.7,
                now=at,
            )
        except ApplicationError:
            continue
        figures["opinions"] += 1
        step = at + timedelta(hours=rng.uniform(1, 20))
        if to_centre and evaluator is not None and step < now:
            opinion = opinion_transfer(
                actor=evaluator, opinion=opinion, unit=unit, note="属地派出所办理", now=step
            )
            step += timedelta(hours=rng.uniform(1, 6))
        leader = closest_account(leaders, opinion.unit)
        # Most are answered within the deadline; a few late; the newest are still open.
        answer_at = step + timedelta(days=rng.choice((0, 1, 1, 2, 3, 4, 8)))
        if leader is None or answer_at >= now or rng.random() < 0.08:
            continue
        opinion = opinion_answer(actor=leader, opinion=opinion, text=ANSWERS[kind], now=answer_at)
        figures["answered"] += 1
        if kind == OpinionKind.TIP and rng.random() < 0.7:
            verdict = TipVerdict.VERIFIED if rng.random() < 0.6 else TipVerdict.UNFOUNDED
            opinion = opinion_tip_verdict(
                actor=leader,
                opinion=opinion,
                verdict=verdict,
                note="经现场核查，情况属实。"
                if verdict == TipVerdict.VERIFIED
                else "经核查，未发现所反映的情况。",
                now=answer_at,
            )
            if verdict == TipVerdict.VERIFIED:
                reward = reward_propose(
                    actor=leader,
                    opinion=opinion,
                    amount=rng.choice((200, 500, 1000)),
                    reason="线索经查证属实，协助查处违法行为。",
                    now=answer_at,
                )
                figures["rewards"] += 1
                approver = next(
                    (
                        s
                        for s in supervisors
                        if s.unit.depth < leader.unit.depth
                        and leader.unit.path.startswith(s.unit.path)
                    ),
                    None,
                )
                if approver is not None and rng.random() < 0.7:
                    reward = reward_decide(
                        actor=approver, reward=reward, approve=True, note="同意", now=answer_at
                    )
                    if rng.random() < 0.6:
                        reward_pay(
                            actor=leader,
                            reward=reward,
                            reference=f"JL{answer_at:%Y%m%d}{rng.randint(100, 999)}",
                            now=answer_at,
                        )
        rate_at = answer_at + timedelta(hours=rng.uniform(1, 48))
        if rate_at < now and rng.random() < 0.75:
            rating = rng.choices((1, 2, 3, 4, 5), weights=(45, 30, 12, 8, 5))[0]
            opinion_rate(opinion=opinion, mobile=opinion.mobile, rating=rating, now=rate_at)
            figures["rated"] += 1
    figures["cases"], figures["sample"] = _cases(rng, stations, focus, now, days, cases)
    return figures


def _cases(rng, stations, focus, now, days, count) -> tuple[int, tuple[str, str]]:
    chain = (
        CaseStage.RECEIVED,
        CaseStage.FILED,
        CaseStage.INVESTIGATING,
        CaseStage.SOLVED,
        CaseStage.PROSECUTION,
        CaseStage.CLOSED,
    )
    sample = ("", "")
    for index in range(count):
        unit = focus[index % len(focus)] if index < count // 2 else rng.choice(stations)
        officer = Officer.objects.filter(unit=unit, is_active=True).order_by("pk").first()
        start = now - timedelta(days=rng.uniform(2, days))
        if index % 9 == 8:
            stages = [CaseStage.RECEIVED, CaseStage.NOT_FILED]
        else:
            stages = list(chain[: rng.randint(1, len(chain))])
        steps = []
        at = start
        for position, stage in enumerate(stages):
            steps.append(
                {
                    "stage": stage,
                    "occurred_at": at,
                    "note": "经审查，没有犯罪事实，不予立案。"
                    if stage == CaseStage.NOT_FILED
                    else "",
                    "external_id": f"demo-{index}-{position}",
                    "notify": False,
                }
            )
            at += timedelta(days=rng.uniform(0.5, 4))
            if at >= now:
                break
        id_number, mobile = _id_number(rng), _mobile(rng)
        number = f"{DEMO_CASE_PREFIX}{start:%Y%m}{index:04d}"
        case_upsert(
            scope=None,
            unrestricted=True,
            data={
                "number": number,
                "case_type": rng.choice(CASE_TYPES),
                "unit_code": unit.code,
                "officer_police_number": officer.police_number if officer else None,
                "confidential": index == 1,
                "private": index == 2,
                "parties": [
                    {
                        "role": "reporter",
                        "name": rng.choice(NAMES) + "女士",
                        "id_number": id_number,
                        "mobile": mobile,
                    }
                ],
                "progress": steps,
            },
            source="demo",
        )
        if index == 0:
            sample = (number, id_number)
    return count, sample
