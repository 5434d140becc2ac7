"""Demo: 跑多次 into rectification (issue 17 part 6). The city bureau's supervisor sets the
rules Shaoxing worked by: three trips for the same business within 30 days → the perception
centre calls the citizen back (跑多次回访); a fourth household-registration trip → a work
order to the station (流转整改). The sweep then refers the repeats of the demo history, so
the referrals page, the callback queue and the stations' work orders show them."""

from django.db import transaction
from django.utils import timezone

from minyi.dashboards import conf
from minyi.dashboards.models import RepeatAction, RepeatRule
from minyi.dashboards.repeat_rules import repeat_referrals_sweep, repeat_rule_save
from minyi.dashboards.rollups import repeat_contacts_fill
from minyi.demo.city_plan import ROOT_CODE
from minyi.orgs.choices import Role
from minyi.orgs.models import OrgUnit, User
from minyi.perception.models import BusinessType

WORK_ORDER_TYPE = "hukou_registration"


def load(now=None) -> dict:
    """The two rules and their referrals; nothing when the demo city already has rules."""
    now = now or timezone.now()
    if RepeatRule.objects.exists():
        return {"rules": 0, "referrals": 0}
    root = OrgUnit.objects.filter(code=ROOT_CODE).first()
    actor = User.objects.filter(unit=root, role=Role.SUPERVISOR, is_active=True).first()
    if root is None or actor is None:
        return {"rules": 0, "referrals": 0}  # demo_city has not run
    days = min(30, conf.repeat_window().days)
    with transaction.atomic():
        repeat_rule_save(
            actor=actor,
            unit=root,
            business_type=None,
            min_trips=3,
            window_days=days,
            action=RepeatAction.CALLBACK,
            now=now,
        )
        hukou = BusinessType.objects.filter(code=WORK_ORDER_TYPE, is_sensitive=False).first()
        if hukou is not None:
            repeat_rule_save(
                actor=actor,
                unit=root,
                business_type=hukou,
                min_trips=4,
                window_days=days,
                action=RepeatAction.WORK_ORDER,
                now=now,
            )
    # The repeats of the history the dashboards may not have rolled up yet, then the rules.
    repeat_contacts_fill(now=now + conf.fill_lag())
    referrals = repeat_referrals_sweep(now)
    return {"rules": RepeatRule.objects.count(), "referrals": referrals}
