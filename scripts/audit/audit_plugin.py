"""The audit's pytest plugin: sees every response and every log record of the run.

Every response the project's handler returns (the test client's and the live server's alike:
both go through `BaseHandler.get_response`) and every log record any logger handles is
scanned for personal data: an unmasked mainland mobile (1[3-9] and nine digits, not part of a
longer number), an 18-character ID number, and, strongest, any mobile or ID number the run
itself stored encrypted (the world's officers, parties, contacts, citizens: every plaintext
that went through `EncryptedTextField`). Only the audited reveal views may show a number,
and a page may show back the number its own request's form carried.

It also counts the leak matrix's cases and the Schemathesis run's operations and examples
(scripts/audit/api_operations.py reports them here), and prints the figures at the end.
"""

import io
import logging
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from django.core.handlers.base import BaseHandler

from minyi.core.pii import EncryptedTextField

# Mobile: 1[3-9] and nine more digits, not inside a longer number (hexadecimal included: a
# hash or a token is no mobile). ID: 17 digits and a digit or X, same. Other letters are no
# boundary: "手机13812345678" and "mobile:13812345678" both count. A number the run stored
# is found anywhere, inside a longer number too (`Audit.scan`).
MOBILE_RE = re.compile(r"(?<![0-9A-Fa-f])1[3-9][0-9]{9}(?![0-9A-Fa-f])")
ID_RE = re.compile(r"(?<![0-9A-Fa-f])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
DIGIT_RUN_RE = re.compile(r"[0-9]{11,}[Xx]?")

# The only pages allowed to show a number in full: each checks its own reveal permission and
# writes an audit row (a reveal, refusals included).
ALLOWED_REVEALS = {
    "console:officer_reveal": "an officer's mobile or ID number, revealed and audited",
    "callbacks:callback_reveal": "the citizen's mobile for the evaluator's call, audited",
    "appointments:appointment_reveal": "the citizen's mobile for the appointment, audited",
    "volunteers:volunteer_reveal": "a volunteer's mobile for the coordinator, audited",
    "appointments:route_print": "the team's printed route: citizens' mobiles, one audited reveal",
    "opinions:opinion_contact": "a named author's contact for the call back, audited",
    "opinions:opinion_letter": "the printed reply letter to the author, audited",
    "privacy:citizen_export": "one citizen's own data exported on request (PIPL), audited",
}

# Any page may show back a number its own request's form carried (see `_sent_by`).
ECHO = "echo"
REASONS = {**ALLOWED_REVEALS, ECHO: "shown back to whoever typed it, in the same request"}

TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")
ZIP_TYPES = ("application/vnd.openxmlformats", "application/zip")


@dataclass
class Audit:
    responses: int = 0
    responses_binary: int = 0  # images, PDFs, fonts: not text, not scanned
    log_records: int = 0
    allowed_hits: Counter = field(default_factory=Counter)
    hits: list = field(default_factory=list)  # (where, kind, masked value)
    known: set = field(default_factory=set)  # plaintext numbers the run stored
    # Filled by the Schemathesis run
    operations: int = 0
    operations_unloadable: int = 0
    examples: int = 0
    server_errors: int = 0
    api_statuses: Counter = field(default_factory=Counter)
    api_failures: list = field(default_factory=list)
    # Filled from the leak matrix's outcomes
    matrix: Counter = field(default_factory=Counter)
    matrix_failed: list = field(default_factory=list)
    other_failed: list = field(default_factory=list)

    def scan(
        self, where: str, text: str, allowed: str | None = None, echoed: frozenset = frozenset()
    ) -> None:
        found = dict.fromkeys(MOBILE_RE.findall(text), "mobile")
        found |= {m.upper(): "id number" for m in ID_RE.findall(text) if m.upper() not in found}
        # A number the run stored, even inside a longer run of digits or after a letter
        for run in DIGIT_RUN_RE.findall(text):
            for size in (11, 18):
                for start in range(len(run) - size + 1):
                    window = run[start : start + size].upper()
                    if window in self.known:
                        found.setdefault(window, "known number")
        for value, kind in found.items():
            if allowed:
                self.allowed_hits[allowed] += 1
            elif value in echoed:
                self.allowed_hits[ECHO] += 1
            else:
                self.hits.append((where, kind, value[:3] + "****" + value[-4:]))

    def failed(self) -> bool:
        return bool(self.server_errors or self.matrix["leaks"] or self.hits)


AUDIT = Audit()


def _text_of(content_type: str, body: bytes) -> str | None:
    if content_type.startswith(ZIP_TYPES):  # Excel exports: the sheets' XML
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(
                archive.read(n).decode("utf-8", "replace")
                for n in archive.namelist()
                if n.endswith(".xml")
            )
    if content_type.startswith(TEXT_TYPES) or not content_type:
        return body.decode("utf-8", "replace")
    return None


_get_response = BaseHandler.get_response


def _scanned_get_response(self, request):
    response = _get_response(self, request)
    content_type = response.get("Content-Type", "")
    if response.streaming and (
        getattr(response, "is_async", False) or not content_type.startswith(TEXT_TYPES + ZIP_TYPES)
    ):
        AUDIT.responses_binary += 1  # static files, images, PDFs
        return response
    if response.streaming:  # read it once here and hand the same bytes on
        body = b"".join(response.streaming_content)
        response.streaming_content = [body]
    else:
        body = response.content
    text = _text_of(content_type, body)
    if text is None:
        AUDIT.responses_binary += 1
        return response
    match = getattr(request, "resolver_match", None)
    name = match.view_name if match else ""
    where = f"{request.method} {request.path} → {response.status_code} ({name or 'no view'})"
    AUDIT.responses += 1
    AUDIT.scan(
        where, text, allowed=name if name in ALLOWED_REVEALS else None, echoed=_sent_by(request)
    )
    return response


def _sent_by(request) -> frozenset:
    """The numbers this request's form or query carried: a page may show back what its sender
    just typed (a citizen's form kept while they wait for the code, a staff form refused for
    another field). Not a JSON body: an API answer never quotes a number back."""
    sent = " ".join(
        v for query in (request.GET, request.POST) for _, vs in query.lists() for v in vs
    )
    return frozenset(MOBILE_RE.findall(sent) + [v.upper() for v in ID_RE.findall(sent)])


_handle = logging.Logger.handle


def _scanned_handle(self, record):
    AUDIT.log_records += 1
    try:
        text = record.getMessage()
    except (TypeError, ValueError):
        text = f"{record.msg} {record.args}"
    if record.exc_info:
        text += logging.Formatter().formatException(record.exc_info)
    AUDIT.scan(f"log {record.name} {record.levelname}", text)
    return _handle(self, record)


_get_prep_value = EncryptedTextField.get_prep_value


def _remembered_get_prep_value(self, value):
    if isinstance(value, str) and value:
        AUDIT.known.update(MOBILE_RE.findall(value))
        AUDIT.known.update(v.upper() for v in ID_RE.findall(value))
    return _get_prep_value(self, value)


class AuditPlugin:
    """Installed by scripts/audit/run.py with pytest.main(plugins=[...])."""

    def pytest_configure(self, config):
        BaseHandler.get_response = _scanned_get_response
        logging.Logger.handle = _scanned_handle
        EncryptedTextField.get_prep_value = _remembered_get_prep_value

    def pytest_runtest_logreport(self, report):
        if report.when != "call" and not report.failed:
            return
        in_matrix = "test_permission_matrix.py" in report.nodeid
        if report.when == "call" and in_matrix:
            kind = report.nodeid.split("::")[1].split("[")[0]
            self.count_matrix(kind, report)
        elif report.failed:
            (AUDIT.matrix_failed if in_matrix else AUDIT.other_failed).append(report.nodeid)

    @staticmethod
    def count_matrix(kind: str, report) -> None:
        AUDIT.matrix["cases"] += 1
        AUDIT.matrix[kind] += 1
        if report.failed:
            # A sibling that sees the owner's data, a wrong role let in, anonymous served, a
            # URL without a case: each is a leak until shown otherwise.
            AUDIT.matrix["leaks"] += 1
            AUDIT.matrix_failed.append(report.nodeid)

    def pytest_terminal_summary(self, terminalreporter):
        write = terminalreporter.write_line
        terminalreporter.section("audit figures")
        write(f"API operations tested:        {AUDIT.operations}")
        write(f"  not loadable from schema:   {AUDIT.operations_unloadable}")
        write(f"Schemathesis examples:        {AUDIT.examples}")
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(AUDIT.api_statuses.items()))
        write(f"  answers by status:          {statuses}")
        write(f"Server errors (5xx):          {AUDIT.server_errors}")
        write(f"Schema/status failures:       {len(AUDIT.api_failures)}")
        for failure in AUDIT.api_failures[:20]:
            write(f"  {failure}")
        kinds = {k: v for k, v in sorted(AUDIT.matrix.items()) if k not in ("cases", "leaks")}
        write(f"Leak-matrix cases:            {AUDIT.matrix['cases']}")
        for kind, count in kinds.items():
            write(f"  {kind}: {count}")
        write(f"Leak-matrix leaks (failures): {AUDIT.matrix['leaks']}")
        for nodeid in AUDIT.matrix_failed[:20]:
            write(f"  {nodeid}")
        write(f"Responses scanned:            {AUDIT.responses} (+{AUDIT.responses_binary} binary)")
        write(f"Log records scanned:          {AUDIT.log_records}")
        write(f"Known numbers looked for:     {len(AUDIT.known)}")
        write(f"Allowed (reveals, echoes):    {sum(AUDIT.allowed_hits.values())}")
        for name, count in sorted(AUDIT.allowed_hits.items()):
            write(f"  {name}: {count} ({REASONS[name]})")
        write(f"Unmasked hits:                {len(AUDIT.hits)}")
        for where, kind, masked in AUDIT.hits[:30]:
            write(f"  {kind} {masked} in {where}")
        if AUDIT.other_failed:
            write(f"Other failed tests:           {len(AUDIT.other_failed)}")
        write("AUDIT " + ("FAILED" if AUDIT.failed() or AUDIT.other_failed else "PASSED"))
