"""Permission-matrix cases: the work pages of community safety."""

WORK_CASES = {}
