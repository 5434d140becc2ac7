"""What each staff role may do. Scope (which units) is separate: every role acts only inside
its own unit's subtree."""

from minyi.orgs.choices import Role


class Perm:
    ORG_VIEW = "org.view"
    OFFICER_VIEW = "officer.view"
    OFFICER_REVEAL_PII = "officer.reveal_pii"
    AUDIT_VIEW = "audit.view"
    ADMIN_SITE = "admin.site"
    CALLBACK_VIEW = "callback.view"
    INBOX_VIEW = "inbox.view"
    # Act on a message of the SMS inbox: record it as a rating, open a callback, turn it
    # into an opinion, reply by SMS.
    INBOX_HANDLE = "inbox.handle"
    EVENT_IMPORT = "event.import"
    CALLBACK_WORK = "callback.work"  # take tasks from the queue, call, attribute
    CALLBACK_REVEAL_MOBILE = "callback.reveal_mobile"
    WORKORDER_VIEW = "workorder.view"
    WORKORDER_HANDLE = "workorder.handle"  # the unit: accept, feed back, appeal
    WORKORDER_CLOSE = "workorder.close"  # the centre: audit and close, or return
    APPEAL_DECIDE = "appeal.decide"
    DASHBOARD_VIEW = "dashboard.view"
    DATA_EXPORT = "data.export"
    WARNING_VIEW = "warning.view"
    WARNING_REPLY = "warning.reply"
    TAGGER_VIEW = "tagger.view"  # the reason tagger's quality figures
    # Confirm the reasons of a citizen's text (标签核对): what confirmed tags train and count.
    TEXT_CONFIRM = "text.confirm"
    NOTIFICATION_VIEW = "notification.view"
    OPINION_VIEW = "opinion.view"
    OPINION_HANDLE = "opinion.handle"  # the unit: accept, answer, verify a tip
    OPINION_ROUTE = "opinion.route"  # the centre: transfer to another unit (转办)
    OPINION_REVEAL_CONTACT = "opinion.reveal_contact"  # a named author's mobile, audited
    TIP_IDENTITY_VIEW = "tip.identity_view"  # a named tipster's identity, audited
    REWARD_MANAGE = "reward.manage"  # the unit: propose a reward, record its payment
    REWARD_APPROVE = "reward.approve"  # a higher tier approves or refuses it
    CASE_VIEW = "case.view"
    CASE_IMPORT = "case.import"
    CARD_PRINT = "card.print"  # printable officer and station QR cards, scan counts
    # Capability 2: polls (民意测评), the annual assessment (综合考评), accountability (问责).
    POLL_VIEW = "poll.view"
    POLL_MANAGE = "poll.manage"  # create polls, import respondents and margins, collect
    ASSESSMENT_VIEW = "assessment.view"
    ASSESSMENT_MANAGE = "assessment.manage"  # rules, peer groups, business figures, runs
    ASSESSMENT_APPROVE = "assessment.approve"  # approve and publish an assessment
    ACCOUNTABILITY_VIEW = "accountability.view"
    ACCOUNTABILITY_REPLY = "accountability.reply"  # the unit's leader: the written reply
    ACCOUNTABILITY_DECIDE = "accountability.decide"  # a higher tier: the decision
    PROMOTION_REVIEW = "promotion.review"  # a candidate's review sheet (干部竞聘)
    # Capability 3: votes (票选) and the chosen actions' progress (惠民实事落实).
    VOTE_VIEW = "vote.view"
    VOTE_MANAGE = "vote.manage"  # create, open, close, publish campaigns
    VOTE_KEY = "vote.key"  # key in paper ballots (票选表录入)
    VOTE_AUDIT = "vote.audit"  # settle keying mismatches, review stuffing flags, verify
    ACTION_UPDATE = "action.update"  # the responsible unit: milestones and progress updates
    # Capability 6: community safety (社区安全): the grid, colours, patrols, community work.
    GRID_VIEW = "grid.view"
    GRID_MANAGE = "grid.manage"  # import the grid, populations, incidents, pings; patrol rules
    INCIDENT_LOCATION = "incident.location"  # exact incident places and times (police only)
    COMMUNITY_WORK = "community.work"  # responsibility lists, household visits, notices
    # Every channel into one flow (issue 17).
    OPINION_KEY_IN = "opinion.key_in"  # key in an opinion from an offline channel (线下录入)
    MEETING_VIEW = "meeting.view"  # 恳谈会、广场活动日、110直播室
    MEETING_MANAGE = "meeting.manage"  # schedule, record questions and attendance, minutes
    REMINDER_VIEW = "reminder.view"  # service reminders (办事提醒): due items, sends
    REMINDER_MANAGE = "reminder.manage"  # import due items, templates and lead times
    APPOINTMENT_VIEW = "appointment.view"  # mobile service appointments (移动办证)
    APPOINTMENT_HANDLE = "appointment.handle"  # slots, confirm, route list, outcome
    VOLUNTEER_VIEW = "volunteer.view"  # volunteers and partner organisations (群防群治)
    VOLUNTEER_MANAGE = "volunteer.manage"  # register, activities, attendance, hours
    REPEAT_RULE_MANAGE = "repeat_rule.manage"  # 跑多次 into rectification: the rule
    CENTRE_MANAGE = "centre.manage"  # the perception centre's figures per evaluator


_SEE = {
    Perm.ORG_VIEW,
    Perm.OFFICER_VIEW,
    Perm.NOTIFICATION_VIEW,
    Perm.DASHBOARD_VIEW,
    Perm.OPINION_VIEW,
}
ROLE_PERMS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(
        _SEE
        | {
            Perm.OFFICER_REVEAL_PII,
            Perm.AUDIT_VIEW,
            Perm.ADMIN_SITE,
            Perm.CALLBACK_VIEW,
            Perm.INBOX_VIEW,
            Perm.EVENT_IMPORT,
            Perm.WORKORDER_VIEW,
            Perm.DATA_EXPORT,
            Perm.WARNING_VIEW,
            Perm.TAGGER_VIEW,
            Perm.CASE_VIEW,
            Perm.CASE_IMPORT,
            Perm.CARD_PRINT,
            Perm.POLL_VIEW,
            Perm.POLL_MANAGE,
            Perm.ASSESSMENT_VIEW,
            Perm.ASSESSMENT_MANAGE,
            Perm.ACCOUNTABILITY_VIEW,
            Perm.VOTE_VIEW,
            Perm.VOTE_MANAGE,
            Perm.VOTE_KEY,
            Perm.GRID_VIEW,
            Perm.GRID_MANAGE,
            Perm.MEETING_VIEW,
            Perm.REMINDER_VIEW,
            Perm.REMINDER_MANAGE,
            Perm.APPOINTMENT_VIEW,
            Perm.VOLUNTEER_VIEW,
            Perm.REPEAT_RULE_MANAGE,
        }
    ),
    Role.SUPERVISOR: frozenset(
        _SEE
        | {
            Perm.OFFICER_REVEAL_PII,
            Perm.AUDIT_VIEW,
            Perm.CALLBACK_VIEW,
            Perm.CALLBACK_REVEAL_MOBILE,
            Perm.INBOX_VIEW,
            Perm.INBOX_HANDLE,
            Perm.WORKORDER_VIEW,
            Perm.WORKORDER_CLOSE,
            Perm.APPEAL_DECIDE,
            Perm.DATA_EXPORT,
            Perm.WARNING_VIEW,
            Perm.OPINION_ROUTE,
            Perm.OPINION_REVEAL_CONTACT,
            Perm.TIP_IDENTITY_VIEW,
            Perm.REWARD_APPROVE,
            Perm.CASE_VIEW,
            Perm.POLL_VIEW,
            Perm.ASSESSMENT_VIEW,
            Perm.ASSESSMENT_APPROVE,
            Perm.ACCOUNTABILITY_VIEW,
            Perm.ACCOUNTABILITY_DECIDE,
            Perm.PROMOTION_REVIEW,
            Perm.VOTE_VIEW,
            Perm.VOTE_MANAGE,
            Perm.VOTE_AUDIT,
            Perm.GRID_VIEW,
            Perm.GRID_MANAGE,
            Perm.INCIDENT_LOCATION,
            Perm.COMMUNITY_WORK,
            Perm.OPINION_KEY_IN,
            Perm.MEETING_VIEW,
            Perm.MEETING_MANAGE,
            Perm.REMINDER_VIEW,
            Perm.REMINDER_MANAGE,
            Perm.APPOINTMENT_VIEW,
            Perm.APPOINTMENT_HANDLE,
            Perm.VOLUNTEER_VIEW,
            Perm.VOLUNTEER_MANAGE,
            Perm.REPEAT_RULE_MANAGE,
            Perm.CENTRE_MANAGE,
            Perm.TEXT_CONFIRM,
        }
    ),
    Role.EVALUATOR: frozenset(
        _SEE
        | {
            Perm.CALLBACK_VIEW,
            Perm.CALLBACK_WORK,
            Perm.CALLBACK_REVEAL_MOBILE,
            Perm.TEXT_CONFIRM,
            Perm.INBOX_VIEW,
            Perm.INBOX_HANDLE,
            Perm.EVENT_IMPORT,
            Perm.WORKORDER_VIEW,
            Perm.OPINION_ROUTE,
            Perm.OPINION_REVEAL_CONTACT,
            Perm.VOTE_VIEW,
            Perm.VOTE_KEY,
            Perm.OPINION_KEY_IN,
            Perm.MEETING_VIEW,
        }
    ),
    Role.UNIT_LEADER: frozenset(
        _SEE
        | {
            Perm.WORKORDER_VIEW,
            Perm.WORKORDER_HANDLE,
            Perm.DATA_EXPORT,
            Perm.WARNING_VIEW,
            Perm.WARNING_REPLY,
            Perm.OPINION_HANDLE,
            Perm.OPINION_REVEAL_CONTACT,
            Perm.TEXT_CONFIRM,
            Perm.REWARD_MANAGE,
            Perm.CASE_VIEW,
            Perm.CARD_PRINT,
            Perm.POLL_VIEW,
            Perm.ASSESSMENT_VIEW,
            Perm.ACCOUNTABILITY_VIEW,
            Perm.ACCOUNTABILITY_REPLY,
            Perm.VOTE_VIEW,
            Perm.ACTION_UPDATE,
            Perm.GRID_VIEW,
            Perm.INCIDENT_LOCATION,
            Perm.COMMUNITY_WORK,
            Perm.OPINION_KEY_IN,
            Perm.MEETING_VIEW,
            Perm.MEETING_MANAGE,
            Perm.REMINDER_VIEW,
            Perm.APPOINTMENT_VIEW,
            Perm.APPOINTMENT_HANDLE,
            Perm.VOLUNTEER_VIEW,
            Perm.VOLUNTEER_MANAGE,
        }
    ),
}


def has_perm(user, perm: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return perm in ROLE_PERMS.get(user.role, frozenset())
