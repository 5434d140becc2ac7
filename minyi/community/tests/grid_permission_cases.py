"""Permission-matrix cases: the grid pages of community safety."""

GRID_CASES = {}
