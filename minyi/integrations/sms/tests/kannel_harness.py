"""A real Kannel 1.4.5 (bearerbox + smsbox + the fake SMSC ``fakesmsc``) on loopback, for tests.

Needs Debian's ``kannel`` and ``kannel-extras`` (``scripts/kannel_deps.sh`` installs them).
No Django here: the harness only runs processes and speaks HTTP and Kannel's fake protocol.

Topology (every socket on 127.0.0.1, every port picked free at start)::

    app --GET /cgi-bin/sendsms--> smsbox --> bearerbox --[smsc "fake", MT link]--> fakesmsc
    fakesmsc -m 1 "<MO line>" --[smsc "fake", MO link]--> bearerbox --> smsbox --GET get-url--> app
    bearerbox (DLR from the fake SMSC) --> smsbox --GET dlr-url (given on sendsms)--> app

Usage::

    with KannelHarness(mo_url="http://127.0.0.1:8000/sms/kannel/inbound") as k:
        urlopen(k.sendsms_url + "?" + urlencode({"username": k.sendsms_username, ...}))
        [mt] = k.wait_for_mt(1)            # MTMessage(sender, receiver, coding, text, ...)
        k.send_mo("13800138000", "10690001", "不满意，等了很久")  # -> GET mo_url?from=...

As a pytest fixture::

    @pytest.fixture(scope="module")
    def kannel():
        with KannelHarness(mo_url=...) as k:
            yield k

Why two fake links. ``fakesmsc`` takes MO messages only from its command line, or, given
none, from stdin ("interactive mode"), which reads with a 256-byte ``fgets`` and then
``select``s on the raw fd: a longer line is cut in two (bearerbox then sees garbage) and a
second line already in stdio's buffer is not sent until more input arrives. And bearerbox's
fake SMSC serves one client at a time. So one fakesmsc stays connected to the MT link and
only prints what it receives; each ``send_mo`` runs a one-shot ``fakesmsc -m 1 LINE``
against the MO link (same ``smsc-id`` "fake", but ``allowed-smsc-id`` keeps MT routing off
it) and ends it once bearerbox's status page counts the message as received.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

FAKESMSC = "/usr/lib/kannel/test/fakesmsc"  # from kannel-extras; not on PATH
BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
HOST = "127.0.0.1"

SMSC_ID = "fake"
# No message ever carries this smsc-id, so MT routing never picks the MO-injection link.
_MO_ONLY_SMSC_ID = "harness-mo-injection-only"

# Appended to ``mo_url`` as the sms-service get-url. smsbox substitutes and URL-encodes
# each escape when it fetches the URL for an MO message (values as seen with this config):
#   %p sender ("13800138000"); %P receiver, our number ("10690001")
#   %b the text exactly as received (URL-encoded bytes in charset %C: with mo-recode a
#      UCS-2 message arrives as UTF-8; without it as raw UTF-16BE with %C=UTF-16BE)
#   %a the same text with leading blanks dropped and blank runs squeezed to one: not exact
#   %T when the SMSC stamped it, unix epoch; %t the same as "YYYY-MM-DD HH:MM" (local time)
#   %I Kannel's id of this MO message, a UUID: the key to deduplicate retries on
#   %i smsc-id ("fake"); %c coding (0 7-bit, 1 8-bit, 2 UCS-2: 0 after mo-recode);
#   %C charset ("UTF-8" after mo-recode and for 7-bit; "UTF-16BE" for unrecoded UCS-2)
MO_QUERY = "from=%p&to=%P&text=%b&words=%a&ts=%T&time=%t&id=%I&smsc=%i&coding=%c&charset=%C"

# Escapes for a dlr-url (given per message on sendsms as ``dlr-url``, with ``dlr-mask``):
#   %d the DLR type: 1 delivered to phone, 2 not delivered to phone, 4 queued on SMSC,
#      8 accepted by SMSC ("SMSC success"), 16 rejected by SMSC
#   %A the SMSC's reply text ("ACK/" on type 8 from the fake SMSC, empty on type 1)
#   %F the SMSC's message id (may be empty on one of the two reports)
#   %I Kannel's id of the DLR message itself: NOT the MT's id, and different on each report
#   %p the MT's receiver (the phone), %P the MT's sender; %T / %t time; %i smsc-id
# So put your own message id in the dlr-url's query string: Kannel hands it back verbatim.
DLR_QUERY = "type=%d&smsc_reply=%A&smsc_msgid=%F&kannel_id=%I&phone=%p&from=%P&ts=%T&smsc=%i"

DLR_DELIVERED = 1
DLR_UNDELIVERED = 2
DLR_BUFFERED = 4
DLR_SMSC_ACCEPTED = 8
DLR_SMSC_REJECTED = 16
DLR_MASK_ALL = 31

_GOT_MESSAGE = re.compile(r"Got message \d+: <(.*)>\s*$")

try:  # resolved here, not in the forked child, where loading a library is not safe
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # pragma: no cover - not Linux
    _prctl = None


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL if the test process dies, so no orphans."""
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class KannelError(RuntimeError):
    pass


@dataclass
class MTMessage:
    """One mobile-terminated SMS as fakesmsc printed it (a concatenated SMS is one object)."""

    sender: str
    receiver: str
    kind: str  # fakesmsc's word: "text", "data", "ucs-2" or "udh" (parts of a long SMS)
    coding: int | None  # 0 7-bit, 1 8-bit, 2 UCS-2; None when the line does not tell
    text: str
    data: bytes  # the body as Kannel sent it (UCS-2 is UTF-16BE)
    udh: bytes = b""
    parts: list[str] = field(default_factory=list)  # the raw fakesmsc lines


def _unquote(encoded: str) -> bytes:
    """Undo Kannel's ``octstr_url_encode``: ``+`` is a space, ``%2B`` a plus."""
    return urllib.parse.unquote_to_bytes(encoded.replace("+", "%20"))


def _looks_utf16(body: bytes) -> bool:
    if not body or len(body) % 2:
        return False
    try:
        decoded = body.decode("utf-16-be")
    except UnicodeDecodeError:
        return False
    if any(0xD800 <= ord(c) < 0xE000 for c in decoded):
        return False
    if b"\x00" in body:
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _decode_body(kind: str, body: bytes) -> tuple[int | None, str]:
    if kind == "ucs-2":
        return 2, body.decode("utf-16-be")
    if kind == "text":
        return 0, body.decode("utf-8", errors="replace")
    # "data" and "udh" lines do not say the coding: UCS-2 text shows as NULs or bytes
    # that are not UTF-8; anything else is shown as UTF-8 (bytes stay in MTMessage.data).
    if _looks_utf16(body):
        return 2, body.decode("utf-16-be")
    return (1 if kind == "data" else None), body.decode("utf-8", errors="replace")


def parse_fakesmsc_line(line: str) -> MTMessage:
    """Parse what fakesmsc prints inside ``Got message N: <...>``.

    Kannel's fake SMSC writes ``sender receiver text <raw text>`` for 7-bit messages (a
    newline in the text would end the line early), ``sender receiver ucs-2 <url-encoded
    UTF-16BE>`` for coding=2, ``... data <url-encoded>`` for 8-bit and ``... udh
    <url-encoded UDH> data <url-encoded body>`` for each part of a concatenated SMS.
    """
    fields = line.split(" ", 3)
    fields += [""] * (4 - len(fields))
    sender, receiver, kind, rest = fields
    udh = b""
    if kind == "text":
        body = rest.encode("utf-8", errors="surrogateescape")
    elif kind == "udh":
        udh_enc, _, tail = rest.partition(" ")
        udh = _unquote(udh_enc)
        _data_word, _, body_enc = tail.partition(" ")
        body = _unquote(body_enc)
    else:
        body = _unquote(rest)
    coding, text = _decode_body(kind, body)
    return MTMessage(sender, receiver, kind, coding, text, body, udh, [line])


def _concat_info(udh: bytes) -> tuple[int, int, int] | None:
    """(reference, total, seq) from a UDH's concatenation element, if it has one."""
    i = 1  # udh[0] is the UDH length
    while i + 1 < len(udh):
        iei, length = udh[i], udh[i + 1]
        value = udh[i + 2 : i + 2 + length]
        if iei == 0x00 and length == 3:
            return value[0], value[1], value[2]
        if iei == 0x08 and length == 4:
            return (value[0] << 8) | value[1], value[2], value[3]
        i += 2 + length
    return None


def join_parts(lines: list[str]) -> list[MTMessage]:
    """Parse fakesmsc lines, joining the parts of concatenated SMS once all have arrived."""
    out: list[MTMessage] = []
    pending: dict[tuple[str, str, int], dict[int, MTMessage]] = {}
    for line in lines:
        msg = parse_fakesmsc_line(line)
        info = _concat_info(msg.udh) if msg.udh else None
        if info is None:
            out.append(msg)
            continue
        ref, total, seq = info
        key = (msg.sender, msg.receiver, ref)
        pending.setdefault(key, {})[seq] = msg
        if len(pending[key]) == total:
            got = pending.pop(key)
            parts = [got[i] for i in sorted(got)]
            body = b"".join(p.data for p in parts)
            coding, text = _decode_body("udh", body)
            raw = [p.parts[0] for p in parts]
            out.append(MTMessage(msg.sender, msg.receiver, "udh", coding, text, body, b"", raw))
    return out


def _free_ports(count: int) -> list[int]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _conf_string(value: str) -> str:
    if any(c in value for c in '"\n\r\\'):
        raise ValueError(f"cannot put {value!r} in kannel.conf")
    return f'"{value}"'


def _http_get(url: str, timeout: float) -> tuple[int, bytes]:
    if not url.startswith("http://"):
        raise ValueError(url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class KannelHarness:
    """Run bearerbox, smsbox and fakesmsc on free loopback ports in a temp dir.

    ``mo_url``: the app's inbound endpoint; ``MO_QUERY`` is appended to it (with ``?`` or
    ``&``). Or ``mo_url_template``: a get-url used as it is, with your own escapes. With
    neither, MO messages go to a port nobody listens on.

    ``http_request_retry``/``http_queue_delay``: smsbox's retries of failed get-url and
    dlr-url requests. ``None`` keeps Kannel's default: one attempt, then the MO is dropped.
    ``mo_recode=True`` (smsbox ``mo-recode``) hands UCS-2 MO text to the app as UTF-8.
    """

    def __init__(
        self,
        mo_url: str | None = None,
        *,
        mo_url_template: str | None = None,
        sendsms_username: str = "minyi",
        sendsms_password: str = "minyi-test-secret",
        mo_recode: bool = True,
        http_request_retry: int | None = None,
        http_queue_delay: int | None = None,
        startup_timeout: float = 15.0,
        stop_timeout: float = 5.0,
        workdir: str | os.PathLike[str] | None = None,
        keep_workdir: bool = False,
        log_level: int = 0,
    ) -> None:
        if mo_url and mo_url_template:
            raise ValueError("give mo_url or mo_url_template, not both")
        self.mo_url = mo_url
        self.mo_url_template = mo_url_template
        self.sendsms_username = sendsms_username
        self.sendsms_password = sendsms_password
        self.admin_password = "harness-admin"
        self.status_password = "harness-status"
        self.mo_recode = mo_recode
        self.http_request_retry = http_request_retry
        self.http_queue_delay = http_queue_delay
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.log_level = log_level
        self.keep_workdir = keep_workdir
        self._given_workdir = Path(workdir) if workdir else None
        self.workdir: Path | None = None
        self.config_path: Path | None = None
        self.config_text = ""
        self.admin_port = self.smsbox_port = self.sendsms_port = 0
        self.fake_mt_port = self.fake_mo_port = 0
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []
        self._readers: list[threading.Thread] = []
        self._mt_lines: list[str] = []
        self._mt_cond = threading.Condition()
        self._mo_lock = threading.Lock()
        self._started = False

    # -- URLs -----------------------------------------------------------------------------

    @property
    def get_url(self) -> str:
        """The sms-service get-url written into kannel.conf."""
        if self.mo_url_template:
            return self.mo_url_template
        base = self.mo_url or f"http://{HOST}:9/no-mo-url-given"
        return base + ("&" if "?" in base else "?") + MO_QUERY

    @property
    def sendsms_url(self) -> str:
        return f"http://{HOST}:{self.sendsms_port}/cgi-bin/sendsms"

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.admin_port}"

    @property
    def status_url(self) -> str:
        return f"{self.admin_url}/status.xml?password={self.status_password}"

    # -- config ---------------------------------------------------------------------------

    def render_config(self) -> str:
        w = self.workdir
        assert w is not None
        smsbox_extra = ""
        if self.mo_recode:
            smsbox_extra += "mo-recode = true\n"
        if self.http_request_retry is not None:
            smsbox_extra += f"http-request-retry = {int(self.http_request_retry)}\n"
        if self.http_queue_delay is not None:
            smsbox_extra += f"http-queue-delay = {int(self.http_queue_delay)}\n"
        return f"""\
# Written by KannelHarness for one test run: loopback only, thrown away afterwards.
group = core
admin-port = {self.admin_port}
admin-interface = "{HOST}"
admin-password = {_conf_string(self.admin_password)}
status-password = {_conf_string(self.status_password)}
admin-deny-ip = "*.*.*.*"
admin-allow-ip = "{HOST}"
smsbox-port = {self.smsbox_port}
smsbox-interface = "{HOST}"
box-deny-ip = "*.*.*.*"
box-allow-ip = "{HOST}"
log-file = "{w}/bearerbox.log"
log-level = {self.log_level}
access-log = "{w}/bearerbox-access.log"
store-type = spool
store-location = "{w}/store"
dlr-storage = internal

# MT link: the long-running fakesmsc connects here and prints what it is sent.
group = smsc
smsc = fake
smsc-id = {SMSC_ID}
smsc-admin-id = fake-mt
port = {self.fake_mt_port}
our-host = "{HOST}"
connect-allow-ip = "{HOST}"

# MO link: one one-shot fakesmsc per injected MO message; MT routing never uses it.
group = smsc
smsc = fake
smsc-id = {SMSC_ID}
smsc-admin-id = fake-mo
port = {self.fake_mo_port}
our-host = "{HOST}"
connect-allow-ip = "{HOST}"
allowed-smsc-id = "{_MO_ONLY_SMSC_ID}"

group = smsbox
bearerbox-host = "{HOST}"
bearerbox-port = {self.smsbox_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = "{HOST}"
log-file = "{w}/smsbox.log"
log-level = {self.log_level}
access-log = "{w}/smsbox-access.log"
{smsbox_extra}
# max-messages defaults to 1, which would cut a long text to one SMS.
group = sendsms-user
username = {_conf_string(self.sendsms_username)}
password = {_conf_string(self.sendsms_password)}
max-messages = 10
concatenation = true

# Every MO message, whatever its first word, goes to the app; no SMS is sent back.
group = sms-service
keyword-regex = ".*"
catch-all = true
max-messages = 0
omit-empty = true
get-url = {_conf_string(self.get_url)}
"""

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> KannelHarness:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start everything; returns when sendsms works and fakesmsc is connected."""
        if self._started:
            raise KannelError("already started")
        for path in (BEARERBOX, SMSBOX, FAKESMSC):
            if not os.access(path, os.X_OK):
                raise KannelError(f"{path} missing: run scripts/kannel_deps.sh as root")
        if self._given_workdir:
            self._given_workdir.mkdir(parents=True, exist_ok=True)
            self.workdir = self._given_workdir
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="kannel-harness-"))
        self._started = True
        try:
            error: KannelError | None = None
            for _attempt in range(3):  # a port picked free may be taken before Kannel binds it
                try:
                    self._start_once()
                    return
                except KannelError as e:
                    error = e
                    self._stop_processes()
            raise KannelError(f"Kannel did not start: {error}\n{self.diagnostics()}")
        except BaseException:
            self.stop()
            raise

    def _start_once(self) -> None:
        assert self.workdir is not None
        ports = _free_ports(5)
        self.admin_port, self.smsbox_port, self.sendsms_port = ports[:3]
        self.fake_mt_port, self.fake_mo_port = ports[3:]
        store = self.workdir / "store"
        shutil.rmtree(store, ignore_errors=True)
        store.mkdir()
        self.config_text = self.render_config()
        self.config_path = self.workdir / "kannel.conf"
        self.config_path.write_text(self.config_text)
        deadline = time.monotonic() + self.startup_timeout

        self._spawn("bearerbox", [BEARERBOX, str(self.config_path)])
        self._wait(deadline, "bearerbox", "its admin port", lambda: len(self._smscs()) == 2)
        # -m 0: send no MO, only print what bearerbox sends. The message argument is
        # required (without one fakesmsc reads stdin) but never sent.
        fakesmsc = [FAKESMSC, "-H", HOST, "-r", str(self.fake_mt_port), "-m", "0", "0 0 text -"]
        self._spawn("fakesmsc", fakesmsc, read_mt=True)
        self._wait(deadline, "fakesmsc", "the MT link online", lambda: self._online("fake-mt"))
        self._spawn("smsbox", [SMSBOX, str(self.config_path)])
        self._wait(deadline, "smsbox", "smsbox connected", self._smsbox_ready)

    def _spawn(self, name: str, argv: list[str], read_mt: bool = False) -> None:
        assert self.workdir is not None
        log = open(self.workdir / f"{name}.out", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        proc = subprocess.Popen(
            argv,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if read_mt else log,
            stderr=subprocess.STDOUT if read_mt else log,  # fakesmsc logs on stderr
            start_new_session=True,  # own process group, so killpg reaches all of it
            preexec_fn=_die_with_parent,
        )
        self._procs[name] = proc
        if read_mt:
            t = threading.Thread(target=self._read_mt, args=(proc, log), daemon=True)
            t.start()
            self._readers.append(t)

    def _read_mt(self, proc: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            with contextlib.suppress(ValueError):  # log closed by stop()
                log.write(raw)
                log.flush()
            m = _GOT_MESSAGE.search(raw.decode("utf-8", errors="surrogateescape"))
            if m:
                with self._mt_cond:
                    self._mt_lines.append(m.group(1))
                    self._mt_cond.notify_all()

    def _wait(self, deadline: float, name: str, what: str, ready: Callable[[], bool]) -> None:
        while True:
            proc = self._procs[name]
            if proc.poll() is not None:
                raise KannelError(f"{name} exited with {proc.returncode} before {what}")
            with contextlib.suppress(OSError, ET.ParseError):
                if ready():
                    return
            if any(s.startswith("dead") for s in self._smscs_or_empty().values()):
                raise KannelError(f"an SMSC link is dead (port taken?) waiting for {what}")
            if time.monotonic() > deadline:
                raise KannelError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop every process (TERM, KILL after ``stop_timeout``); remove the temp dir."""
        self._stop_processes()
        if self.workdir and not self._given_workdir and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._started = False

    def _stop_processes(self) -> None:
        procs = list(self._procs.values())
        self._procs.clear()
        for proc in procs:  # all at once: bearerbox alone takes ~3 s to shut down
            self._signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)
                proc.wait(timeout=5)
            self._signal(proc, signal.SIGKILL)  # whatever else is left in its group
        for t in self._readers:
            t.join(timeout=2)
        for proc in procs:
            if proc.stdout:
                proc.stdout.close()
        for log in self._logs:
            log.close()
        self._readers.clear()
        self._logs.clear()

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)  # pgid == pid thanks to start_new_session

    # -- status ---------------------------------------------------------------------------

    def status_xml(self) -> ET.Element:
        """bearerbox's ``/status.xml`` (boxes, SMSC links and their counters)."""
        status, body = _http_get(self.status_url, timeout=2)
        if status != 200:
            raise KannelError(f"status.xml answered {status}")
        return ET.fromstring(body)

    def status_text(self) -> str:
        url = f"{self.admin_url}/status.txt?password={self.status_password}"
        return _http_get(url, timeout=2)[1].decode("utf-8", errors="replace")

    def _smscs(self) -> dict[str, ET.Element]:
        return {s.findtext("admin-id") or "": s for s in self.status_xml().iter("smsc")}

    def _smscs_or_empty(self) -> dict[str, str]:
        try:
            return {k: v.findtext("status") or "" for k, v in self._smscs().items()}
        except (OSError, ET.ParseError, KannelError):
            return {}

    def _online(self, admin_id: str) -> bool:
        return self._smscs_or_empty().get(admin_id, "").startswith("online")

    def _mo_received(self) -> int:
        return int(self._smscs()["fake-mo"].findtext("sms/received") or 0)

    def _smsbox_ready(self) -> bool:
        if not any(b.findtext("type") == "smsbox" for b in self.status_xml().iter("box")):
            return False
        with socket.create_connection((HOST, self.sendsms_port), timeout=1):
            return True

    # -- MT: what fakesmsc received -------------------------------------------------------

    def mt_lines(self) -> list[str]:
        """The raw ``sender receiver kind payload`` lines fakesmsc printed so far."""
        with self._mt_cond:
            return list(self._mt_lines)

    def mt_messages(self) -> list[MTMessage]:
        """MT messages received so far, the parts of a concatenated SMS joined into one."""
        return join_parts(self.mt_lines())

    def wait_for_mt(
        self,
        count: int = 1,
        timeout: float = 10.0,
        match: Callable[[MTMessage], bool] | None = None,
    ) -> list[MTMessage]:
        """Wait until ``count`` MT messages (those ``match`` accepts) arrived; return those."""
        deadline = time.monotonic() + timeout
        with self._mt_cond:
            while True:
                msgs = [m for m in self.mt_messages() if match is None or match(m)]
                if len(msgs) >= count:
                    return msgs
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(msgs)} of {count} MT message(s) after {timeout}s;"
                        f" fakesmsc got {self._mt_lines!r}"
                    )
                self._mt_cond.wait(min(left, 0.5))

    def clear_mt(self) -> None:
        with self._mt_cond:
            self._mt_lines.clear()

    # -- MT: sending through smsbox (what the app does) -----------------------------------

    def sendsms(
        self,
        to: str,
        text: str,
        *,
        sender: str = "10690001",
        dlr_url: str | None = None,
        dlr_mask: int | None = None,
        timeout: float = 10.0,
        **extra: str | int,
    ) -> tuple[int, str]:
        """GET /cgi-bin/sendsms with ``coding=2&charset=UTF-8``; returns (status, body).

        smsbox answers 202 ``0: Accepted for delivery`` (``3: Queued for later delivery``
        while no SMSC link is up), 403 ``Authorization failed for sendsms``, 400 when a
        parameter is missing or wrong. ``extra`` adds or overrides parameters (use the
        Kannel names, e.g. ``**{"coding": 0}``).
        """
        params: dict[str, str | int] = {
            "username": self.sendsms_username,
            "password": self.sendsms_password,
            "from": sender,
            "to": to,
            "text": text,
            "coding": 2,
            "charset": "UTF-8",
        }
        if dlr_url is not None:
            params["dlr-url"] = dlr_url
        if dlr_mask is not None:
            params["dlr-mask"] = dlr_mask
        params.update(extra)
        status, body = _http_get(self.sendsms_url + "?" + urllib.parse.urlencode(params), timeout)
        return status, body.decode("utf-8", errors="replace")

    # -- MO: injecting through a one-shot fakesmsc ----------------------------------------

    @staticmethod
    def mo_line(sender: str, receiver: str, text: str, coding: int = 2) -> str:
        """fakesmsc's MO line.

        coding 2: ``sender receiver ucs2 <url-encoded UTF-16BE>``, what a phone sends for
        Chinese; bearerbox gets coding=2 (and smsbox's mo-recode turns it into UTF-8).
        coding 0: ``sender receiver text <text>``, a 7-bit SMS (Kannel keeps 7-bit text as
        UTF-8 inside, so it reaches the app as UTF-8 as well); one line only.
        """
        for number in (sender, receiver):
            if not number or any(c.isspace() for c in number):
                raise ValueError(f"bad number {number!r}")
        if coding == 2:
            return f"{sender} {receiver} ucs2 {urllib.parse.quote(text.encode('utf-16-be'))}"
        if coding == 0:
            if "\n" in text or "\r" in text:
                raise ValueError("a coding=0 MO text must be one line")
            return f"{sender} {receiver} text {text}"
        raise ValueError(f"coding {coding} not supported")

    def send_mo(
        self, sender: str, receiver: str, text: str, *, coding: int = 2, timeout: float = 10.0
    ) -> None:
        """Have the fake SMSC deliver an MO SMS from ``sender`` to ``receiver``.

        Returns once bearerbox counted it as received; smsbox then fetches the get-url on
        its own, so wait for the request at your endpoint.
        """
        self.send_mo_line(self.mo_line(sender, receiver, text, coding), timeout=timeout)

    def send_mo_line(self, line: str, timeout: float = 10.0) -> None:
        """Inject one raw fakesmsc line (``sender receiver type [...] data``)."""
        if not self._started or "bearerbox" not in self._procs:
            raise KannelError("harness not started")
        if "\n" in line:
            raise ValueError("one line only")
        assert self.workdir is not None
        with self._mo_lock:
            deadline = time.monotonic() + timeout
            before = self._mo_received()
            log = self.workdir / "fakesmsc-mo.out"
            with open(log, "ab") as out:
                proc = subprocess.Popen(
                    [FAKESMSC, "-H", HOST, "-r", str(self.fake_mo_port), "-m", "1", line],
                    cwd=self.workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            try:
                while self._mo_received() <= before:
                    if proc.poll() is not None:
                        raise KannelError(f"MO fakesmsc exited with {proc.returncode}")
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"bearerbox did not receive MO {line!r}")
                    time.sleep(0.02)
            finally:
                # SIGINT is fakesmsc's own clean exit: it closes the socket, bearerbox reads EOF
                self._signal(proc, signal.SIGINT)
                try:
                    proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self._signal(proc, signal.SIGKILL)
                    proc.wait(timeout=3)
            # The link takes one client at a time: let bearerbox drop this one first.
            while self._online("fake-mo") and time.monotonic() < deadline:
                time.sleep(0.02)

    # -- debugging ------------------------------------------------------------------------

    def diagnostics(self, tail: int = 40) -> str:
        """The ends of the logs, for failure messages."""
        if not self.workdir:
            return ""
        chunks = []
        for name in ("bearerbox.log", "smsbox.log", "fakesmsc.out", "fakesmsc-mo.out"):
            path = self.workdir / name
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-tail:]
                chunks.append(f"--- {name}\n" + "\n".join(lines))
        return "\n".join(chunks)
