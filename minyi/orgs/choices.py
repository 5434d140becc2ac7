from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    CITY_BUREAU = "city_bureau", _("市公安局")
    DISTRICT_BUREAU = "district_bureau", _("县（市、区）公安局")
    POLICE_STATION = "police_station", _("派出所")
    TRAFFIC_BRIGADE = "traffic_brigade", _("交警大（中）队")
    CRIMINAL_BRIGADE = "criminal_brigade", _("刑侦大队")
    SPECIAL_UNIT = "special_unit", _("其他警种")


class Role(models.TextChoices):
    ADMIN = "admin", _("管理员")
    EVALUATOR = "evaluator", _("访评员")
    UNIT_LEADER = "unit_leader", _("所队负责人")
    SUPERVISOR = "supervisor", _("督察/局领导")


class Position(models.TextChoices):
    CHIEF = "chief", _("所（队）长")
    INSTRUCTOR = "instructor", _("教导员")
    DEPUTY = "deputy", _("副所（队）长")
    COMMUNITY = "community", _("社区民警")
    PATROL = "patrol", _("巡逻民警")
    CASE = "case", _("办案民警")
    WINDOW = "window", _("窗口民警")
    TRAFFIC = "traffic", _("交警")
    DETECTIVE = "detective", _("刑警")
    STAFF = "staff", _("机关民警")
