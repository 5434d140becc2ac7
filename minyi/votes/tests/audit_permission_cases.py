"""Permission-matrix cases: audit pages of votes."""

AUDIT_CASES: dict = {}
