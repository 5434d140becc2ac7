"""Log lines as operators read them: one JSON object a line in production
(MINYI_LOG_FORMAT=json), plain text for `make run`; in both, mobile and ID numbers masked in
whatever reaches the line.

The masking is a safety net, not the rule: code logs ids and counts, never a person's data
(docs/security.md). It is done by the root handler's formatter, on the finished line, and not
by a handler filter: on Python 3.11 a filter can only change the record itself, which every
later handler then sees masked too, so pytest's caplog and the audit's log scan would no
longer see a leak the code wrote.
"""

import json
import logging
from datetime import UTC, datetime

from minyi.core.masking import mask_text

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged too.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# `extra=` values written as they are; anything else (Django's `request`) as its str().
_PLAIN = (str, int, float, bool, type(None))


class TextFormatter(logging.Formatter):
    """The stdlib's line, with every mobile and ID number in it masked however it is written
    (minyi.core.masking.mask_text): message, arguments, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, process, the
    traceback (`exc`) and `extra=` fields when there are any; masked like TextFormatter."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        entry.update(
            (key, value if isinstance(value, _PLAIN) else str(value))
            for key, value in vars(record).items()
            if key not in _STANDARD and key not in entry
        )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return mask_text(json.dumps(entry, ensure_ascii=False, default=str))
