"""What perception hands to higher layers without importing them (minyi.core.hooks)."""

from minyi.core.hooks import Hook

survey_unsatisfied = Hook(
    "survey_unsatisfied",
    "Called with (survey=, now=) inside the transaction that records an unsatisfied rating; "
    "the callbacks app opens the callback.",
)
