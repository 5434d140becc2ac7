"""Community safety (社区安全), DOMAIN.md capability 6, issue 16: the grid (网格), incidents
(警情) and the areas' three colours (三色管理), patrol visibility (巡逻见警率), and community
officers' work (责任清单, 走访, 安全提醒).

The grid is community (社区) → resident group (居民小组) → building (楼栋) or road segment
(路段), every area under one station: staff see the areas of the stations in their subtree.
Geometry is GeoJSON in WGS84 (lng, lat), drawn by ECharts from files served locally.

Exact incident locations (`Incident.lng/lat`, `occurred_at`) are for police roles only; what
is published is aggregated to areas of at least `PUBLIC_MIN_HOUSEHOLDS` households.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.models import BaseModel
from minyi.core.pii import EncryptedTextField

# Below this many households an area's figures are folded into its parent on public pages.
PUBLIC_MIN_HOUSEHOLDS = 8


class AreaLevel(models.TextChoices):
    COMMUNITY = "community", _("社区")
    GROUP = "group", _("居民小组")
    BUILDING = "building", _("楼栋")
    SEGMENT = "segment", _("路段")


# Which level may sit under which (a building or a segment may hang off a community directly).
PARENT_LEVELS = {
    AreaLevel.COMMUNITY: set(),
    AreaLevel.GROUP: {AreaLevel.COMMUNITY},
    AreaLevel.BUILDING: {AreaLevel.GROUP, AreaLevel.COMMUNITY},
    AreaLevel.SEGMENT: {AreaLevel.GROUP, AreaLevel.COMMUNITY},
}


class GridArea(BaseModel):
    """One area of the grid (网格): a community, a resident group, a building or a road
    segment. `community` is the area's community (itself for a community), kept so that every
    count by community is one indexed column."""

    station = models.ForeignKey(
        "orgs.OrgUnit",
        verbose_name=_("所属派出所"),
        on_delete=models.PROTECT,
        related_name="grid_areas",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级网格"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    community = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    level = models.CharField(_("层级"), max_length=12, choices=AreaLevel.choices)
    # The bureau's own code for the area (网格编码): what imports and the API name it by.
    code = models.CharField(_("网格编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    households = models.PositiveIntegerField(_("户数"), default=0)
    # GeoJSON geometry (WGS84): Polygon/MultiPolygon for communities, groups and buildings,
    # LineString for road segments, or a Point for a building known only by its door.
    geometry = models.JSONField(_("边界"), null=True, blank=True)
    min_lng = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lng = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    # A key road segment (重点路段) or a key town area (重点区域): patrol compliance is judged
    # on these only.
    is_key = models.BooleanField(_("重点"), default=False)
    # For a key segment: the key hours, e.g. "7-9,17-19" (hours starting 7, 8, 17 and 18);
    # empty means the bureau's default (PatrolRule.key_hours).
    key_hours = models.CharField(_("重点时段"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        indexes = [
            models.Index(fields=["station", "level"], name="grid_station_level_idx"),
            models.Index(fields=["community", "level"], name="grid_community_idx"),
        ]

    def __str__(self):
        return self.name


class AreaPopulation(models.Model):
    """An area's population in a month (实有人口): registered (户籍) and floating (流动)."""

    area = models.ForeignKey(GridArea, on_delete=models.CASCADE, related_name="populations")
    month = models.DateField(_("月份"))  # the first day of the month
    registered = models.PositiveIntegerField(_("户籍人口"), default=0)
    floating = models.PositiveIntegerField(_("流动人口"), default=0)

    class Meta:
        verbose_name = _("人口")
        verbose_name_plural = _("人口")
        constraints = [
            models.UniqueConstraint(fields=["area", "month"], name="community_population_once"),
        ]

    def __str__(self):
        return f"{self.area_id} {self.month:%Y-%m}"

    @property
    def total(self) -> int:
        return self.registered + self.floating


class IncidentCategory(models.TextChoices):
    THEFT = "theft", _("盗窃")
    BURGLARY = "burglary", _("入室盗窃")
    VEHICLE_THEFT = "vehicle_theft", _("盗窃车辆")
    FRAUD = "fraud", _("诈骗")
    ROBBERY = "robbery", _("抢劫抢夺")
    ASSAULT = "assault", _("故意伤害")
    OTHER = "other", _("其他刑事案件")


class Incident(models.Model):
    """A criminal incident (刑事警情) attributed to an area of the grid. Its exact place and
    time are for police roles only. Imported by file or API; (`source`, `external_id`) makes a
    re-import idempotent."""

    area = models.ForeignKey(
        GridArea, verbose_name=_("网格"), on_delete=models.PROTECT, related_name="incidents"
    )
    community = models.ForeignKey(GridArea, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("类别"), max_length=20, choices=IncidentCategory.choices)
    occurred_at = models.DateTimeField(_("发生时间"))
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=20, default="file")
    external_id = models.CharField(_("警情编号"), max_length=64)
    import_file = models.ForeignKey(
        "core.ImportFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("警情")
        verbose_name_plural = _("警情")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="community_incident_once"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "occurred_at"], name="incident_community_idx"),
            models.Index(fields=["area", "occurred_at"], name="incident_area_idx"),
        ]

    def __str__(self):
        return f"{self.get_category_display()} {self.external_id}"


class Colour(models.TextChoices):
    RED = "red", _("红色")
    ORANGE = "orange", _("橙色")
    GREEN = "green", _("绿色")
    GREY = "grey", _("样本不足")


class AreaColour(models.Model):
    """A community's colour for a month (三色), over the 12 months ending with it: observed
    incidents against those expected at the city's rate for its population, the empirical-Bayes
    smoothed ratio and the Poisson p-value. `signal` is what this month alone says; `colour`
    is what is shown: it changes only when the signal has said the same two months in a row."""

    area = models.ForeignKey(GridArea, on_delete=models.CASCADE, related_name="colours")
    month = models.DateField(_("月份"))
    population = models.PositiveIntegerField(_("人口"), default=0)
    observed = models.PositiveIntegerField(_("发案数"), default=0)
    expected = models.FloatField(_("期望发案数"), default=0)
    rate = models.FloatField(_("万人发案率"), default=0)  # raw, per 10,000 residents a year
    smoothed_rate = models.FloatField(_("平滑发案率"), default=0)
    ratio = models.FloatField(_("相对全市"), default=0)  # smoothed, against the city
    p_value = models.FloatField(_("P 值"), default=1)
    signal = models.CharField(_("本月信号"), max_length=8, choices=Colour.choices)
    colour = models.CharField(_("颜色"), max_length=8, choices=Colour.choices)
    rule_version = models.CharField(_("规则版本"), max_length=40)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("网格颜色")
        verbose_name_plural = _("网格颜色")
        constraints = [
            models.UniqueConstraint(fields=["area", "month"], name="community_colour_once"),
        ]
        indexes = [models.Index(fields=["month", "colour"], name="colour_month_idx")]

    def __str__(self):
        return f"{self.area_id} {self.month:%Y-%m} {self.colour}"


class PatrolRule(models.Model):
    """A bureau's patrol-visibility rules (巡逻见警率规则); the defaults are Jiaxing's."""

    bureau = models.OneToOneField(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="patrol_rule"
    )
    buffer_m = models.PositiveSmallIntegerField(_("路段缓冲距离（米）"), default=30)
    min_gap_minutes = models.PositiveSmallIntegerField(_("两次巡逻最短间隔（分钟）"), default=5)
    max_speed_kmh = models.PositiveSmallIntegerField(_("速度上限（公里/小时）"), default=150)
    no_data_minutes = models.PositiveSmallIntegerField(_("定位中断视为无数据（分钟）"), default=5)
    segment_passes_per_hour = models.PositiveSmallIntegerField(
        _("重点路段每小时巡逻次数"), default=2
    )
    area_passes_per_day = models.PositiveSmallIntegerField(_("重点区域每日巡逻次数"), default=5)
    dwell_minutes = models.PositiveSmallIntegerField(_("驻留时长（分钟）"), default=10)
    key_hours = models.CharField(_("默认重点时段"), max_length=60, default="7-9,17-19,20-22")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("巡逻规则")
        verbose_name_plural = _("巡逻规则")

    def __str__(self):
        return f"{self.bureau_id}"


class PingFlag(models.TextChoices):
    OK = "", _("正常")
    SPEED = "speed", _("速度异常")
    OUTSIDE = "outside", _("超出辖区")


class PatrolPing(models.Model):
    """A GPS ping of a patrol unit (巡逻车、巡逻组的定位点). Pings that cannot be true (an
    impossible speed from the last good one, a place outside the city) are kept with their
    flag, shown and left out of the passes. A repeat of (station, unit, time) is the same ping:
    unit names ("1号车") repeat from station to station."""

    station = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+")
    unit_code = models.CharField(_("巡逻单元"), max_length=40)
    at = models.DateTimeField(_("时间"))
    lng = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    flag = models.CharField(_("标记"), max_length=8, choices=PingFlag.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("巡逻定位")
        verbose_name_plural = _("巡逻定位")
        constraints = [
            models.UniqueConstraint(
                fields=["station", "unit_code", "at"], name="community_ping_once_per_station"
            ),
        ]
        indexes = [models.Index(fields=["station", "at"], name="ping_station_idx")]

    def __str__(self):
        return f"{self.unit_code} {self.at:%Y-%m-%d %H:%M:%S}"


class PatrolCheckin(models.Model):
    """A patrol check-in (巡逻打卡) at a key segment or key area: a scan of the code posted
    there, or a check-in from the patrol app. Each counts as a pass."""

    area = models.ForeignKey(GridArea, on_delete=models.PROTECT, related_name="checkins")
    unit_code = models.CharField(_("巡逻单元"), max_length=40)
    at = models.DateTimeField(_("时间"))
    source = models.CharField(_("来源"), max_length=20, default="app")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("巡逻打卡")
        verbose_name_plural = _("巡逻打卡")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "unit_code", "at"], name="community_checkin_once"
            ),
        ]

    def __str__(self):
        return f"{self.unit_code} {self.at:%Y-%m-%d %H:%M}"


class PassSource(models.TextChoices):
    GPS = "gps", _("定位")
    CHECKIN = "checkin", _("打卡")


class PatrolPass(models.Model):
    """One patrol pass (巡逻经过) of a key segment or area: from the first moment inside its
    buffer to the last, visits less than `min_gap_minutes` apart merged. Recomputed per
    station and day from the pings and check-ins."""

    area = models.ForeignKey(GridArea, on_delete=models.CASCADE, related_name="passes")
    unit_code = models.CharField(_("巡逻单元"), max_length=40)
    entered_at = models.DateTimeField(_("进入时间"))
    left_at = models.DateTimeField(_("离开时间"))
    dwell_seconds = models.PositiveIntegerField(_("停留秒数"), default=0)
    source = models.CharField(_("来源"), max_length=8, choices=PassSource.choices)

    class Meta:
        verbose_name = _("巡逻经过")
        verbose_name_plural = _("巡逻经过")
        indexes = [models.Index(fields=["area", "entered_at"], name="pass_area_idx")]

    def __str__(self):
        return f"{self.area_id} {self.unit_code} {self.entered_at:%Y-%m-%d %H:%M}"


class PatrolCoverage(models.Model):
    """Whether a station's patrol units reported positions in an hour (定位覆盖): an hour
    without any is "no data" for its key segments, not a failure."""

    station = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField(_("小时"))
    units = models.PositiveSmallIntegerField(_("在线巡逻单元"), default=0)
    pings = models.PositiveIntegerField(_("定位点数"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["station", "hour"], name="community_coverage_once"),
        ]

    def __str__(self):
        return f"{self.station_id} {self.hour:%Y-%m-%d %H}"


class CommunityOfficer(models.Model):
    """An officer serving a community (社区民警), with the published responsibility list
    (责任清单), one duty a line."""

    area = models.ForeignKey(GridArea, on_delete=models.CASCADE, related_name="officers")
    officer = models.ForeignKey(
        "orgs.Officer", on_delete=models.CASCADE, related_name="community_posts"
    )
    duties = models.TextField(_("责任清单"), blank=True)
    published = models.BooleanField(_("公开"), default=True)
    since = models.DateField(_("任职日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("社区民警")
        verbose_name_plural = _("社区民警")
        constraints = [
            models.UniqueConstraint(fields=["area", "officer"], name="community_officer_once"),
        ]

    def __str__(self):
        return f"{self.area_id} {self.officer_id}"


class VisitTopic(models.TextChoices):
    SAFETY = "safety", _("安全防范")
    FRAUD = "fraud", _("反诈宣传")
    DISPUTE = "dispute", _("矛盾纠纷")
    KEY_PERSON = "key_person", _("重点人员")
    RENTAL = "rental", _("出租房屋")
    OTHER = "other", _("其他")


class Visit(models.Model):
    """A household visit (入户走访) by a community officer: where, when, what about, and what
    must follow."""

    area = models.ForeignKey(GridArea, on_delete=models.PROTECT, related_name="visits")
    community = models.ForeignKey(GridArea, on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey(
        "orgs.Officer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    visited_on = models.DateField(_("走访日期"))
    topic = models.CharField(_("事由"), max_length=12, choices=VisitTopic.choices)
    households = models.PositiveSmallIntegerField(_("走访户数"), default=1)
    note = models.TextField(_("情况"), blank=True)
    follow_up = models.TextField(_("后续事项"), blank=True)
    follow_up_done_at = models.DateTimeField(_("后续办结时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("走访")
        verbose_name_plural = _("走访")
        indexes = [models.Index(fields=["community", "visited_on"], name="visit_community_idx")]

    def __str__(self):
        return f"{self.area_id} {self.visited_on}"


class NoticeKind(models.TextChoices):
    BULLETIN = "bulletin", _("治安通报")
    ALERT = "alert", _("安全提醒")


class SafetyNotice(BaseModel):
    """A safety notice (治安通报, 安全提醒) for a community's subscribers, sent by SMS through
    the outbox (quiet hours, opt-outs and the per-mobile limit apply) and shown on the
    community's public page."""

    area = models.ForeignKey(GridArea, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(_("类型"), max_length=10, choices=NoticeKind.choices)
    title = models.CharField(_("标题"), max_length=60)
    body = models.CharField(_("内容"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    recipients = models.PositiveIntegerField(_("接收人数"), default=0)
    skipped = models.PositiveIntegerField(_("未发送人数"), default=0)

    class Meta:
        verbose_name = _("安全提醒")
        verbose_name_plural = _("安全提醒")


class NoticeSubscription(models.Model):
    """A resident who asked for a community's safety notices by SMS (proven mobile). Stopped,
    not deleted, when they opt out (the reply 退订 or the page's link)."""

    area = models.ForeignKey(GridArea, on_delete=models.CASCADE, related_name="subscriptions")
    mobile = EncryptedTextField()
    mobile_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("订阅")
        verbose_name_plural = _("订阅")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "mobile_hash"], name="community_subscribe_once"
            ),
        ]

    def __str__(self):
        return f"{self.area_id} {self.mobile_hash[:8]}…"
