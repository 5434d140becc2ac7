"""The console's left-hand navigation: items grouped by the work they serve, each shown only to
a role that may open it. New capabilities (polls, votes, the grid) add a line to a group."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minyi.orgs.roles import Perm, has_perm

# (group title, [(url name, label, permission, icon), ...]); icons are symbols in base.html.
_NAV_GROUPS = [
    (
        _("工作台"),
        [
            ("console:home", _("首页"), Perm.ORG_VIEW, "home"),
            ("notifications:list", _("消息通知"), Perm.NOTIFICATION_VIEW, "bell"),
        ],
    ),
    (
        _("回访与整改"),
        [
            ("callbacks:callback_list", _("回访工作台"), Perm.CALLBACK_VIEW, "phone"),
            ("callbacks:evaluator_figures", _("访评员绩效"), Perm.CENTRE_MANAGE, "chart"),
            ("workorders:order_list", _("整改工单"), Perm.WORKORDER_VIEW, "clipboard"),
            ("workorders:appeal_list", _("申诉复核"), Perm.APPEAL_DECIDE, "scale"),
            ("inbox:inbox", _("短信收件箱"), Perm.INBOX_VIEW, "inbox"),
            ("perception:event_import", _("导入事件"), Perm.EVENT_IMPORT, "upload"),
        ],
    ),
    (
        _("群众诉求"),
        [
            ("opinions:opinion_list", _("群众诉求"), Perm.OPINION_VIEW, "message"),
            ("opinions:opinion_key_in", _("线下录入"), Perm.OPINION_KEY_IN, "upload"),
            ("opinions:channel_rates", _("各渠道答复率"), Perm.OPINION_VIEW, "chart"),
            ("meetings:meeting_list", _("恳谈会与直播"), Perm.MEETING_VIEW, "users"),
            ("opinions:reward_list", _("线索奖励"), Perm.REWARD_APPROVE, "gift"),
            ("cases:case_list", _("案件进度"), Perm.CASE_VIEW, "folder"),
        ],
    ),
    (
        _("民意评警"),
        [
            ("polls:poll_list", _("民意测评"), Perm.POLL_VIEW, "chart"),
            ("assessment:assessment_list", _("综合考评"), Perm.ASSESSMENT_VIEW, "scale"),
            ("accountability:case_list", _("问责"), Perm.ACCOUNTABILITY_VIEW, "alert"),
            ("assessment:promotion_pick", _("干部竞聘"), Perm.PROMOTION_REVIEW, "users"),
        ],
    ),
    (
        _("票选"),
        [
            ("votes:campaign_list", _("投票活动"), Perm.VOTE_VIEW, "check"),
            ("votes:action_list", _("惠民实事"), Perm.VOTE_VIEW, "flag"),
        ],
    ),
    (
        _("社区安全"),
        [
            ("community:area_list", _("网格地图"), Perm.GRID_VIEW, "map"),
            ("community:colour_report", _("三色管理"), Perm.GRID_VIEW, "alert"),
            ("community:patrol", _("巡逻见警率"), Perm.GRID_VIEW, "route"),
            ("community:visit_list", _("社区走访"), Perm.COMMUNITY_WORK, "home"),
            ("community:duty_list", _("责任清单"), Perm.COMMUNITY_WORK, "clipboard"),
            ("community:notice_list", _("安全提醒"), Perm.COMMUNITY_WORK, "bell"),
        ],
    ),
    (
        _("便民服务"),
        [
            ("appointments:appointment_list", _("移动办证"), Perm.APPOINTMENT_VIEW, "card"),
            ("appointments:slot_list", _("办证时段"), Perm.APPOINTMENT_VIEW, "clipboard"),
            ("appointments:route_today", _("上门路线"), Perm.APPOINTMENT_VIEW, "route"),
            ("reminders:item_list", _("办事提醒"), Perm.REMINDER_VIEW, "bell"),
            ("reminders:template_list", _("提醒模板"), Perm.REMINDER_MANAGE, "settings"),
            ("reminders:item_import", _("导入到期事项"), Perm.REMINDER_MANAGE, "upload"),
        ],
    ),
    (
        _("群防群治"),
        [
            ("volunteers:volunteer_list", _("志愿者"), Perm.VOLUNTEER_VIEW, "users"),
            ("volunteers:activity_list", _("志愿活动"), Perm.VOLUNTEER_VIEW, "flag"),
            ("volunteers:organisation_list", _("合作单位"), Perm.VOLUNTEER_VIEW, "home"),
            ("volunteers:recognition", _("表彰榜"), Perm.VOLUNTEER_VIEW, "check"),
        ],
    ),
    (
        _("数据与预警"),
        [
            ("dashboards:index", _("数据看板"), Perm.DASHBOARD_VIEW, "chart"),
            ("dashboards:repeat_referrals", _("跑多次流转"), Perm.DASHBOARD_VIEW, "route"),
            ("dashboards:repeat_rules", _("跑多次规则"), Perm.REPEAT_RULE_MANAGE, "settings"),
            ("warnings:warning_list", _("三色预警"), Perm.WARNING_VIEW, "alert"),
            ("reports:report_list", _("民意分析报告"), Perm.WARNING_VIEW, "log"),
            ("insight:topics", _("民意热点"), Perm.DASHBOARD_VIEW, "alert"),
            ("insight:reasons", _("诉求原因分析"), Perm.DASHBOARD_VIEW, "chart"),
            ("insight:review", _("原因标签核对"), Perm.TEXT_CONFIRM, "check"),
            ("insight:tagger", _("原因标签模型"), Perm.TAGGER_VIEW, "tag"),
        ],
    ),
    (
        _("队伍"),
        [
            ("console:unit_tree", _("组织架构"), Perm.ORG_VIEW, "tree"),
            ("console:officer_list", _("民警"), Perm.OFFICER_VIEW, "users"),
        ],
    ),
    (
        _("公开服务"),
        [
            ("directory:cards", _("民警信息卡"), Perm.CARD_PRINT, "card"),
            ("directory:scans", _("扫码统计"), Perm.CARD_PRINT, "qr"),
        ],
    ),
    (
        _("系统"),
        [
            ("console:audit_list", _("审计日志"), Perm.AUDIT_VIEW, "log"),
            ("privacy:citizen_export", _("个人信息查询导出"), Perm.OFFICER_REVEAL_PII, "user"),
        ],
    ),
]
# Kept for code that lists every console page (one row per page, in menu order).
_NAV = [(name, label, perm) for _title, items in _NAV_GROUPS for name, label, perm, _i in items]


def _active_url(request, urls: list[str]) -> str:
    """The menu entry a page belongs to: its own, or the longest entry its path starts with
    (an order's page lights 整改工单; /workorders/appeals/ lights 申诉复核, not 整改工单)."""
    best = ""
    for url in urls:
        if url == "/":
            if request.path == "/":
                return url
            continue
        if request.path.startswith(url) and len(url) > len(best):
            best = url
    return best


def console(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    groups = []
    system = _NAV_GROUPS[-1][0]
    for title, items in _NAV_GROUPS:
        entries = [
            {"url": reverse(name), "label": label, "icon": icon}
            for name, label, perm, icon in items
            if has_perm(user, perm)
        ]
        if title is system:
            if has_perm(user, Perm.ADMIN_SITE):
                entries.append(
                    {"url": reverse("admin:index"), "label": _("系统配置"), "icon": "settings"}
                )
            if settings.DEMO_MODE and settings.SMS_BACKEND == "console":
                entries.append(
                    {"url": reverse("sms:demo_phones"), "label": _("模拟手机"), "icon": "mobile"}
                )
        if entries:
            groups.append({"title": title, "items": entries})
    nav = [item for group in groups for item in group["items"]]
    active = _active_url(request, [item["url"] for item in nav])
    for item in nav:
        item["active"] = item["url"] == active
    return {"nav": nav, "nav_groups": groups}
