"""Who may do what with community safety (社区安全), as orgs.roles grants it. Scope (which
stations' areas) is separate: every page and API narrows to the user's subtree by the area's
station (`GridArea.station`)."""

from minyi.orgs.roles import Perm

# The grid, its colours, patrol compliance, visits and notices (aggregates): every police role.
GRID_VIEW = Perm.GRID_VIEW
# Import the grid, populations, incidents and pings; the bureau's patrol rules.
GRID_MANAGE = Perm.GRID_MANAGE
# Exact incident locations and times (警情点位): police roles only, never a citizen page.
INCIDENT_LOCATION = Perm.INCIDENT_LOCATION
# Community officers' work: responsibility lists, household visits, safety notices.
COMMUNITY_WORK = Perm.COMMUNITY_WORK
