"""Who may do what with vote campaigns (票选), as orgs.roles grants it: reading campaigns,
their options, turnout and tally (`VOTE_VIEW`: every staff role), and creating, editing,
opening, closing and publishing them (`VOTE_MANAGE`: administrators and supervisors). The
selectors narrow both to the campaigns organised within the user's subtree."""

from minyi.orgs.roles import Perm

VOTE_VIEW = Perm.VOTE_VIEW
VOTE_MANAGE = Perm.VOTE_MANAGE
# Paper keying clerks (票选表录入) and the audit (核对、复核、核验存证链): the audit pages' own.
VOTE_KEY = Perm.VOTE_KEY
VOTE_AUDIT = Perm.VOTE_AUDIT
