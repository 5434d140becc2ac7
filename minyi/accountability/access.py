"""Who may do what with accountability cases (问责), as orgs.roles grants it: reading
(supervisors, unit leaders, administrators; the selectors narrow it further: a leader sees
their own unit's cases only), replying (书面说明: the unit leader), deciding (处理决定:
supervisors, 督察/局领导)."""

from minyi.orgs.roles import Perm

ACCOUNTABILITY_VIEW = Perm.ACCOUNTABILITY_VIEW
ACCOUNTABILITY_REPLY = Perm.ACCOUNTABILITY_REPLY
ACCOUNTABILITY_DECIDE = Perm.ACCOUNTABILITY_DECIDE
