"""Case progress for the parties (阳光警务): cases and their progress steps arrive from the
bureau's case system through the API or a CSV file, with the parties' ID numbers and mobiles.
A party proves the mobile on record with a code and sees the timeline. Capability 5 of
DOMAIN.md.

A case marked confidential (涉密) or private (涉及隐私) is never shown, and the portal
answers for it exactly as for a number that does not exist.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.models import BaseModel
from minyi.core.pii import EncryptedTextField, mask_id_number, mask_mobile


class CaseStage(models.TextChoices):
    RECEIVED = "received", _("受理")
    FILED = "filed", _("立案")
    INVESTIGATING = "investigating", _("侦查")
    SOLVED = "solved", _("破案")
    PROSECUTION = "prosecution", _("移送起诉")
    CLOSED = "closed", _("结案")
    NOT_FILED = "not_filed", _("不予立案")


# Where each stage sits on the timeline; NOT_FILED ends a case after RECEIVED.
STAGE_ORDER = {
    CaseStage.RECEIVED: 1,
    CaseStage.FILED: 2,
    CaseStage.INVESTIGATING: 3,
    CaseStage.SOLVED: 4,
    CaseStage.PROSECUTION: 5,
    CaseStage.CLOSED: 6,
    CaseStage.NOT_FILED: 6,
}


class Case(BaseModel):
    number = models.CharField(_("案件编号"), max_length=40, unique=True)
    case_type = models.CharField(_("案件类别"), max_length=40)
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("办案单位"), on_delete=models.PROTECT, related_name="cases"
    )
    officer = models.ForeignKey(
        "orgs.Officer",
        verbose_name=_("主办民警"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    confidential = models.BooleanField(_("涉密"), default=False)
    private = models.BooleanField(_("涉及隐私"), default=False)
    stage = models.CharField(_("当前进度"), max_length=16, choices=CaseStage.choices)
    stage_at = models.DateTimeField(_("进度时间"))
    # Which integration key (or staff import) last wrote the case.
    source = models.CharField(_("来源"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        indexes = [models.Index(fields=["unit", "stage_at"], name="case_unit_stage_idx")]

    def __str__(self):
        return self.number

    @property
    def is_public(self) -> bool:
        return not any(getattr(self, flag) for flag in HIDING_FLAGS)


# "A case is public" (可查询: its parties may look it up and get its SMS) when none of these
# flags is set. The one rule: Case.is_public, PUBLIC_CASES and public_cases_q are built on it.
HIDING_FLAGS = ("confidential", "private")


def public_cases_q(prefix: str = "") -> Q:
    """The public cases, reached through `prefix` ("case__" from a party)."""
    return Q(**{f"{prefix}{flag}": False for flag in HIDING_FLAGS})


PUBLIC_CASES = public_cases_q()


class PartyRole(models.TextChoices):
    REPORTER = "reporter", _("报案人")
    VICTIM = "victim", _("被害人")
    PARTY = "party", _("当事人")


class CaseParty(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField(_("身份"), max_length=10, choices=PartyRole.choices)
    name = EncryptedTextField(_("姓名"))
    id_number = EncryptedTextField(_("身份证号"))
    id_number_hash = models.CharField(max_length=64, db_index=True)
    mobile = EncryptedTextField(_("手机"), blank=True)
    mobile_hash = models.CharField(max_length=64, blank=True)
    notify = models.BooleanField(_("短信推送进度"), default=True)

    class Meta:
        verbose_name = _("案件当事人")
        verbose_name_plural = _("案件当事人")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "id_number_hash"], name="caseparty_case_id_unique"
            )
        ]

    def __str__(self):
        return f"{self.get_role_display()} {self.id_number_masked}"

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def mobile_masked(self) -> str:
        return mask_mobile(self.mobile)


class CaseProgress(models.Model):
    """One step on a case's timeline. `external_id` makes re-sent steps harmless."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="progress")
    stage = models.CharField(_("进度"), max_length=16, choices=CaseStage.choices)
    occurred_at = models.DateTimeField(_("时间"))
    # Shown to the parties: the reason for 不予立案, or a short public note. Encrypted: the
    # case system's clerk may write a party's number in it (at most 500 characters, checked
    # by progress_clean).
    note = EncryptedTextField(_("说明"), blank=True)
    external_id = models.CharField(max_length=64)
    notified_at = models.DateTimeField(_("短信推送时间"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("案件进度")
        verbose_name_plural = _("案件进度")
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "external_id"], name="caseprogress_case_external_unique"
            )
        ]

    def __str__(self):
        return f"{self.case_id} {self.get_stage_display()}"
