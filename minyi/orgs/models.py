"""Organisation: the unit tree (城市局 → 县区局 → 派出所/大队), officers and staff accounts.

Capability: the base of all seven in DOMAIN.md. The tree is a materialised path
(django-treebeard), so "this unit's subtree" is one indexed prefix match on any table that
points at a unit.
"""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from minyi.core.models import BaseModel
from minyi.core.pii import EncryptedTextField, mask_id_number, mask_mobile
from minyi.orgs.choices import Position, Role, UnitKind


class OrgUnit(MP_Node, BaseModel):
    name = models.CharField(_("单位名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=30, blank=True)
    code = models.CharField(_("单位代码"), max_length=20, unique=True)
    kind = models.CharField(_("单位类型"), max_length=32, choices=UnitKind.choices)
    duty_phone = models.CharField(_("值班电话"), max_length=30, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    has_perception_centre = models.BooleanField(_("设民意感知中心"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)

    steplen = 4
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")

    def __str__(self):
        return self.name

    @property
    def display_name(self):
        return self.short_name or self.name

    def subtree_filter(self, prefix: str = "") -> Q:
        """Q for rows whose unit (reached through `prefix`, e.g. "unit__") is in this subtree."""
        return Q(**{f"{prefix}path__startswith": self.path})

    def contains(self, other: "OrgUnit") -> bool:
        return other.path.startswith(self.path)


class Officer(BaseModel):
    """A police officer (民警). The public card (name, unit, position, duty phone) is shown to
    citizens when `is_public`; the personal mobile and ID number are personal data."""

    police_number = models.CharField(_("警号"), max_length=12, unique=True)
    name = models.CharField(_("姓名"), max_length=30)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("所属单位"), on_delete=models.PROTECT, related_name="officers"
    )
    position = models.CharField(_("职务"), max_length=20, choices=Position.choices)
    is_public = models.BooleanField(_("公开信息卡"), default=True)
    duty_phone = models.CharField(_("工作电话"), max_length=30, blank=True)
    communities = models.CharField(_("服务社区"), max_length=200, blank=True)
    mobile = EncryptedTextField(_("本人手机"), blank=True)
    mobile_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number = EncryptedTextField(_("身份证号"), blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    is_active = models.BooleanField(_("在岗"), default=True)

    class Meta:
        verbose_name = _("民警")
        verbose_name_plural = _("民警")
        ordering = ["unit__path", "police_number"]

    def __str__(self):
        return f"{self.name}（{self.police_number}）"

    @property
    def mobile_masked(self):
        return mask_mobile(self.mobile)

    @property
    def id_number_masked(self):
        return mask_id_number(self.id_number)


class StaffUserManager(UserManager):
    def get_by_natural_key(self, username):
        # Usernames are unique regardless of case; logging in is too.
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A staff account: a role and the unit whose subtree it sees and acts on."""

    first_name = None
    last_name = None
    full_name = models.CharField(_("姓名"), max_length=30, blank=True)
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, blank=True)
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("所属单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    officer = models.OneToOneField(
        Officer,
        verbose_name=_("对应民警"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="account",
    )
    mobile = EncryptedTextField(_("手机（接收通知）"), blank=True)
    mobile_hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = StaffUserManager()

    class Meta:
        verbose_name = _("工作人员账号")
        verbose_name_plural = _("工作人员账号")
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.CheckConstraint(
                condition=Q(is_superuser=True) | (Q(unit__isnull=False) & ~Q(role="")),
                name="user_staff_has_role_and_unit",
            ),
        ]

    def __str__(self):
        return self.full_name or self.username

    def get_short_name(self):
        # Django admin greets the user by this (欢迎，徐家倩), not by the login name.
        return self.full_name or self.username

    @property
    def needs_second_factor(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN


class ApiKey(BaseModel):
    """An integrating system's key (业务系统接入密钥), scoped to a unit's subtree.

    Only a hash is stored. The key is `mk_<prefix>_<secret>`; the prefix finds the row, the
    hash of the whole key proves it.
    """

    name = models.CharField(_("接入系统名称"), max_length=60)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("授权范围"), on_delete=models.PROTECT, related_name="api_keys"
    )
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接入密钥")
        verbose_name_plural = _("接入密钥")

    def __str__(self):
        return f"{self.name}（{self.prefix}…）"


class PeerGroup(BaseModel):
    """Units compared with each other (同类单位), fixed by the bureau: e.g. the city's 60 police
    stations together, the traffic brigades apart. Rankings and assessments compare a unit
    with its peer group, never with "whatever the viewer's subtree holds"."""

    name = models.CharField(_("同类组名称"), max_length=60)
    # The bureau that defined the group; its members lie in this unit's subtree.
    owner = models.ForeignKey(
        OrgUnit, verbose_name=_("所属局"), on_delete=models.PROTECT, related_name="peer_groups"
    )
    members = models.ManyToManyField(
        OrgUnit, verbose_name=_("成员单位"), through="PeerGroupMember", related_name="+"
    )

    class Meta:
        verbose_name = _("同类单位组")
        verbose_name_plural = _("同类单位组")

    def __str__(self):
        return self.name


class PeerGroupMember(models.Model):
    """A unit's place in its one peer group."""

    group = models.ForeignKey(PeerGroup, on_delete=models.CASCADE, related_name="memberships")
    # A unit is compared in one group only.
    unit = models.OneToOneField(OrgUnit, on_delete=models.CASCADE, related_name="peer_membership")

    def __str__(self):
        return f"{self.group_id}: {self.unit_id}"
