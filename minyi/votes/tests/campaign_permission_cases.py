"""Permission-matrix cases: campaign pages of votes."""

CAMPAIGN_CASES: dict = {}
