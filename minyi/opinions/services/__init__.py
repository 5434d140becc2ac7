"""Every write on opinions (警务e广场) and tip rewards, one module per step of an opinion's
life: `intake` (受理: a citizen's opinion checked, routed and numbered), `handling` (办理:
accepted, transferred, answered, rated; a tip verified; the public wall moderated), `rewards`
(线索奖励: proposed, approved, paid) and `sweep` (the worker's reminders, escalations and
closings). `shared` holds what they all use: the move of an opinion's lifecycle, its lock,
the citizen's SMS. Import from the module that does the step; nothing is re-exported here."""
