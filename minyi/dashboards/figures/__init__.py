"""The dashboard's figures (capability 1, steps 6 and 8 of DOMAIN.md; "Statistics we use"):
one module per figure, each with its read `<figure>_for(user, unit, *, period, ...)` and the
table built from it.

Every read is scoped to the user's subtree and to the chosen unit's subtree (scope.py).
Satisfaction figures read the rollups (this app's UnitSatisfactionDaily and
SatisfactionWeekly, perception's SatisfactionDaily, all net of appeal-excluded ratings) and
never the surveys; the callback figures read this app's CallbackDaily/ReasonDaily plus the
callbacks not rolled up yet. Work orders are few (tens of thousands) and are read directly.
The rollups are written by rollups.py only; figures read them.

Small cells: see rates.py.
"""
