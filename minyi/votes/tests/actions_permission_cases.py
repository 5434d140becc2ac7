"""Permission-matrix cases: actions pages of votes."""

ACTION_CASES: dict = {}
