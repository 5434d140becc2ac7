"""Permission-matrix cases: the colours pages of community safety."""

COLOURS_CASES = {}
