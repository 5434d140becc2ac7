"""A real Kannel on loopback: MT with Chinese text, MO to the get-url, DLRs, get-url retries.

These tests pin down how Kannel 1.4.5 behaves, for the SMS backend built on it. They need
Debian's kannel and kannel-extras, which `make test` installs (scripts/kannel_deps.sh);
without them they fail with the install line rather than being skipped.
"""

from __future__ import annotations

import http.server
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from minyi.integrations.sms.tests.kannel_harness import (
    BEARERBOX,
    DLR_DELIVERED,
    DLR_MASK_ALL,
    DLR_QUERY,
    DLR_SMSC_ACCEPTED,
    FAKESMSC,
    SMSBOX,
    KannelHarness,
    join_parts,
    parse_fakesmsc_line,
)

SURVEY = "您对本次服务满意吗？回复1-5"
REPLY = "不满意，等了很久"
SHORT_CODE = "10690001"

_missing = [p for p in (BEARERBOX, SMSBOX, FAKESMSC) if not os.access(p, os.X_OK)]
if _missing:
    raise RuntimeError(f"Kannel not installed ({', '.join(_missing)}): run scripts/kannel_deps.sh")


@dataclass
class Hit:
    path: str
    query: dict[str, str]


class Receiver:
    """A tiny HTTP server on loopback standing in for the app's MO and DLR endpoints."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.statuses: dict[str, list[int]] = {}  # path -> status codes to answer, in turn
        self._cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                # Kannel sends UTF-8 (after mo-recode); strict, so anything else fails here.
                query = dict(urllib.parse.parse_qsl(split.query, encoding="utf-8", errors="strict"))
                with receiver._cond:
                    receiver.hits.append(Hit(split.path, query))
                    queued = receiver.statuses.get(split.path) or [200]
                    status = queued.pop(0) if len(queued) > 1 else queued[0]
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(
        self, path: str, match: Callable[[Hit], bool], count: int = 1, timeout: float = 10.0
    ) -> list[Hit]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                hits = [h for h in self.hits if h.path == path and match(h)]
                if len(hits) >= count:
                    return hits
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(hits)}/{count} hits on {path}: {self.hits!r}")
                self._cond.wait(left)

    def matching(self, path: str, match: Callable[[Hit], bool]) -> list[Hit]:
        with self._cond:
            return [h for h in self.hits if h.path == path and match(h)]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(scope="module")
def kannel(receiver: Receiver) -> Iterator[KannelHarness]:
    with KannelHarness(mo_url=receiver.url("/inbound")) as k:
        yield k


def test_sendsms_chinese_arrives_at_fakesmsc_exactly(kannel: KannelHarness) -> None:
    # What the app will do: a plain GET with coding=2 and charset=UTF-8.
    status, body = kannel.sendsms("13800000001", SURVEY, sender=SHORT_CODE)
    assert (status, body) == (202, "0: Accepted for delivery")

    [mt] = kannel.wait_for_mt(1, match=lambda m: m.receiver == "13800000001")
    assert mt.text == SURVEY
    assert (mt.sender, mt.coding, mt.kind) == (SHORT_CODE, 2, "ucs-2")
    # On the wire to the SMSC it is UCS-2 (UTF-16BE); fakesmsc prints it URL-encoded.
    assert mt.data == SURVEY.encode("utf-16-be")
    assert mt.parts[0].startswith(f"{SHORT_CODE} 13800000001 ucs-2 %60%A8")


def test_long_chinese_text_is_concatenated_and_rejoined(kannel: KannelHarness) -> None:
    text = "感谢您参与满意度调查。" * 8  # 88 characters: two UCS-2 parts of at most 67
    assert kannel.sendsms("13800000002", text)[0] == 202
    [mt] = kannel.wait_for_mt(1, match=lambda m: m.receiver == "13800000002")
    assert mt.text == text
    assert len(mt.parts) == 2
    assert all(" udh %05%00%03" in p for p in mt.parts)


def test_bad_credentials_are_refused(kannel: KannelHarness) -> None:
    status, body = kannel.sendsms("13800000003", "x", password="wrong")
    assert status == 403
    assert "Authorization failed" in body


def test_mo_chinese_reply_reaches_get_url_as_utf8(
    kannel: KannelHarness, receiver: Receiver
) -> None:
    kannel.send_mo("13800000004", SHORT_CODE, REPLY)

    [hit] = receiver.wait_for("/inbound", lambda h: h.query.get("from") == "13800000004")
    q = hit.query
    assert q["text"] == REPLY
    assert q["to"] == SHORT_CODE
    # mo-recode turned the UCS-2 message into UTF-8 text, and says so.
    assert (q["coding"], q["charset"]) == ("0", "UTF-8")
    assert q["smsc"] == "fake"
    assert len(q["id"]) == 36  # %I: a UUID per MO message
    assert abs(int(q["ts"]) - time.time()) < 60


def test_mo_text_is_exact_with_b_but_squeezed_with_a(
    kannel: KannelHarness, receiver: Receiver
) -> None:
    text = "  2  很好 +1%"
    kannel.send_mo("13800000005", SHORT_CODE, text)
    [hit] = receiver.wait_for("/inbound", lambda h: h.query.get("from") == "13800000005")
    assert hit.query["text"] == text  # %b
    assert hit.query["words"] == "2 很好 +1%"  # %a


def test_mo_7bit_reply_also_arrives_as_utf8(kannel: KannelHarness, receiver: Receiver) -> None:
    kannel.send_mo("13800000006", SHORT_CODE, "5", coding=0)
    [hit] = receiver.wait_for("/inbound", lambda h: h.query.get("from") == "13800000006")
    assert (hit.query["text"], hit.query["coding"], hit.query["charset"]) == ("5", "0", "UTF-8")


def test_each_mo_gets_its_own_id(kannel: KannelHarness, receiver: Receiver) -> None:
    for _ in range(3):
        kannel.send_mo("13800000007", SHORT_CODE, "3")
    hits = receiver.wait_for("/inbound", lambda h: h.query.get("from") == "13800000007", 3)
    assert len({h.query["id"] for h in hits}) == 3


def test_dlr_reports_smsc_accepted_and_delivered_with_our_id(
    kannel: KannelHarness, receiver: Receiver
) -> None:
    dlr_url = receiver.url("/dlr") + "?msg=outbox-42&" + DLR_QUERY
    status, _ = kannel.sendsms("13800000008", SURVEY, dlr_url=dlr_url, dlr_mask=DLR_MASK_ALL)
    assert status == 202

    hits = receiver.wait_for("/dlr", lambda h: h.query.get("phone") == "13800000008", 2)
    # The fake SMSC reports exactly two events, in no fixed order: 8 (accepted by the
    # SMSC, reply "ACK/") and 1 (delivered to the phone). Nothing else comes.
    assert sorted(int(h.query["type"]) for h in hits) == [DLR_DELIVERED, DLR_SMSC_ACCEPTED]
    assert {h.query["msg"] for h in hits} == {"outbox-42"}
    by_type = {int(h.query["type"]): h.query for h in hits}
    assert by_type[DLR_SMSC_ACCEPTED]["smsc_reply"] == "ACK/"
    assert by_type[DLR_DELIVERED]["from"] == SHORT_CODE
    # %I on a DLR is the DLR's own id, not the MT's: useless for matching.
    assert by_type[DLR_SMSC_ACCEPTED]["kannel_id"] != by_type[DLR_DELIVERED]["kannel_id"]
    time.sleep(0.5)
    assert len(receiver.matching("/dlr", lambda h: h.query.get("phone") == "13800000008")) == 2


def test_dlr_mask_selects_the_reports(kannel: KannelHarness, receiver: Receiver) -> None:
    dlr_url = receiver.url("/dlr") + "?msg=outbox-43&" + DLR_QUERY
    kannel.sendsms("13800000009", "ok", dlr_url=dlr_url, dlr_mask=DLR_DELIVERED)
    [hit] = receiver.wait_for("/dlr", lambda h: h.query.get("msg") == "outbox-43")
    assert hit.query["type"] == str(DLR_DELIVERED)
    time.sleep(0.5)
    assert len(receiver.matching("/dlr", lambda h: h.query.get("msg") == "outbox-43")) == 1


def test_get_url_failure_is_not_retried_by_default(
    kannel: KannelHarness, receiver: Receiver
) -> None:
    # The module's Kannel has no http-request-retry: a 500 loses the MO for good.
    receiver.statuses["/inbound"] = [500]
    try:
        kannel.send_mo("13800000010", SHORT_CODE, "4")
        receiver.wait_for("/inbound", lambda h: h.query.get("from") == "13800000010")
        time.sleep(2.5)
    finally:
        receiver.statuses.pop("/inbound")
    assert len(receiver.matching("/inbound", lambda h: h.query.get("from") == "13800000010")) == 1


def test_get_url_retry_repeats_the_same_id_until_200(receiver: Receiver) -> None:
    # With http-request-retry, smsbox repeats the identical URL (same %I) every
    # http-queue-delay seconds while the answer is not exactly 200 (even 201/204 count as
    # failures), at most 1 + retries times. So the endpoint must be idempotent on %I.
    receiver.statuses["/retry"] = [500, 204, 200]
    try:
        with KannelHarness(
            mo_url=receiver.url("/retry"), http_request_retry=3, http_queue_delay=1
        ) as k:
            k.send_mo("13800000011", SHORT_CODE, REPLY)
            hits = receiver.wait_for("/retry", lambda h: h.query["from"] == "13800000011", 3)
            time.sleep(1.5)  # a fourth attempt would be due by now
            hits = receiver.matching("/retry", lambda h: h.query["from"] == "13800000011")
    finally:
        receiver.statuses.pop("/retry")
    assert len(hits) == 3
    assert len({h.query["id"] for h in hits}) == 1
    assert {h.query["text"] for h in hits} == {REPLY}


def test_parse_fakesmsc_lines() -> None:
    # Kannel's URL encoding: "+" is a space, "%2B" a plus, printable bytes stay as they are.
    msg = parse_fakesmsc_line("1 2 ucs-2 %00a%00%2B%00b%00+%00c")
    assert (msg.text, msg.coding) == ("a+b c", 2)
    assert parse_fakesmsc_line("1 2 text plain é > text").text == "plain é > text"
    parts = [
        "1 2 udh %05%00%03%07%02%02 data %00!",
        "1 2 udh %05%00%03%07%02%01 data %4F%60%59%7D",
    ]
    [joined] = join_parts(parts)
    assert joined.text == "你好!"
    assert join_parts(parts[:1]) == []
