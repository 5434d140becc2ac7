"""Who may do what in the annual assessment (orgs.roles):

- reading (rules, figures, rankings): administrators, supervisors and unit leaders (a leader
  sees their own unit's row among its peers), not the evaluators;
- managing (rules, peer groups, business figures, running an assessment): administrators;
- approving and publishing: supervisors (督察/局领导), the role that decides appeals.
"""

from minyi.orgs.roles import Perm, has_perm

ASSESSMENT_VIEW = Perm.ASSESSMENT_VIEW
ASSESSMENT_MANAGE = Perm.ASSESSMENT_MANAGE
ASSESSMENT_APPROVE = Perm.ASSESSMENT_APPROVE


def can_manage(user) -> bool:
    return has_perm(user, ASSESSMENT_MANAGE)


def can_approve(user) -> bool:
    return has_perm(user, ASSESSMENT_APPROVE)
