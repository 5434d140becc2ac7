from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minyi.orgs.roles import Perm, has_perm

_NAV = [
    ("console:home", _("首页"), Perm.ORG_VIEW),
    ("dashboards:index", _("数据看板"), Perm.DASHBOARD_VIEW),
    ("console:unit_tree", _("组织架构"), Perm.ORG_VIEW),
    ("console:officer_list", _("民警"), Perm.OFFICER_VIEW),
    ("perception:callback_list", _("回访工作台"), Perm.CALLBACK_VIEW),
    ("workorders:order_list", _("整改工单"), Perm.WORKORDER_VIEW),
    ("workorders:appeal_list", _("申诉复核"), Perm.APPEAL_DECIDE),
    ("opinions:opinion_list", _("群众诉求"), Perm.OPINION_VIEW),
    ("opinions:reward_list", _("线索奖励"), Perm.REWARD_APPROVE),
    ("cases:case_list", _("案件进度"), Perm.CASE_VIEW),
    ("earlywarning:warning_list", _("三色预警"), Perm.WARNING_VIEW),
    ("directory:cards", _("民警信息卡"), Perm.CARD_PRINT),
    ("directory:scans", _("扫码统计"), Perm.CARD_PRINT),
    ("perception:inbox", _("短信收件箱"), Perm.INBOX_VIEW),
    ("perception:event_import", _("导入事件"), Perm.EVENT_IMPORT),
    ("console:audit_list", _("审计日志"), Perm.AUDIT_VIEW),
    ("insight:tagger", _("原因标签模型"), Perm.TAGGER_VIEW),
]


def console(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    nav = [
        {
            "url": reverse(name),
            "label": label,
            "active": request.resolver_match and request.resolver_match.view_name == name,
        }
        for name, label, perm in _NAV
        if has_perm(user, perm)
    ]
    if has_perm(user, Perm.ADMIN_SITE):
        nav.append({"url": reverse("admin:index"), "label": _("系统配置"), "active": False})
    if settings.DEMO_MODE and settings.SMS_BACKEND == "console":
        nav.append({"url": reverse("sms:demo_phones"), "label": _("模拟手机"), "active": False})
    return {"nav": nav}
