"""Permission-matrix cases: the patrol pages of community safety."""

PATROL_CASES = {}
