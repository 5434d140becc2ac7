"""The officer directory (警官名录, capability 5 of DOMAIN.md): each public officer's card
(民警公开信息卡) with the code printed in its QR, and QR scans per officer and day, the proxy
for 知晓率. The tables keep the names they had in the citizen portal app (`portal_*`).
"""

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


def new_card_code() -> str:
    return secrets.token_urlsafe(6)


class OfficerCard(models.Model):
    """The public card of an officer (民警公开信息卡): the code printed in its QR, and the
    photo if the bureau published one."""

    officer = models.OneToOneField(
        "orgs.Officer", on_delete=models.CASCADE, related_name="card", verbose_name=_("民警")
    )
    code = models.CharField(_("二维码编号"), max_length=16, unique=True, default=new_card_code)
    photo = models.FileField(_("照片"), upload_to="officer-photos/", blank=True)
    photo_type = models.CharField(max_length=20, blank=True)

    class Meta:
        db_table = "portal_officercard"
        verbose_name = _("民警信息卡")
        verbose_name_plural = _("民警信息卡")

    def __str__(self):
        return self.code


class CardScanDaily(models.Model):
    """QR scans per officer (or per station card, officer empty) and day: the 知晓率 proxy."""

    officer = models.ForeignKey(
        "orgs.Officer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    scans = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "portal_cardscandaily"
        constraints = [
            models.UniqueConstraint(
                fields=["officer", "day"],
                name="cardscan_officer_day_unique",
                condition=models.Q(officer__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["unit", "day"],
                name="cardscan_unit_day_unique",
                condition=models.Q(officer__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.day} ×{self.scans}"
