"""The outbox sender of a worker process, on a thread of its own.

`manage.py worker` runs its tasks one after another. Were the outbox sent inside
`outbox_send_task`, the gateway would stand idle whenever the worker does something else,
such as putting the next 1,000 due surveys in the outbox (1-2 s a pass on a busy machine;
docs/performance.md, "SMS"). So the task hands the sending to this thread, which streams the
outbox (`outbox_send_stream`) while the worker goes on, and ends once it has found nothing to
send for IDLE_SECONDS. The task waits for it up to REPORT_SECONDS and reports what it sent
meanwhile: a backlog keeps the job due at once, and the worker's output says what went out.

The thread claims like any sender (SKIP LOCKED), so each message still goes out once across
processes and machines. When the worker stops (its main thread ends), the thread claims no
more and records what is in flight before the process exits; a killed process leaves its
unrecorded messages SENDING, for `outbox_recover` as always.
"""

import threading
import time

from django.db import connections

from minyi.integrations.sms.backends import get_backend
from minyi.integrations.sms.services import SendTiming, outbox_send_stream

IDLE_SECONDS = 1.0  # nothing to send this long: the thread ends
POLL_SECONDS = 0.1  # how often an idle thread looks at the outbox again
# The task waits this long for a busy thread before it reports: long enough that the worker
# does not spin on reports, short enough that its other tasks (the next dispatch pass) go on.
REPORT_SECONDS = 0.25


def _worker_stopping() -> bool:
    return not threading.main_thread().is_alive()


class OutboxStream(threading.Thread):
    def __init__(self, *, batch: int | None = None):
        super().__init__(name="outbox-stream")
        self.batch = batch
        self.idle = threading.Event()  # set while a pass finds nothing to send
        self.total = SendTiming()  # written by this thread only
        self.reported = SendTiming()
        self.failure: BaseException | None = None

    def _stopping(self) -> bool:
        self.idle.clear()  # about to claim
        return _worker_stopping()

    def run(self) -> None:
        try:
            backend = get_backend()
            idle_since = None
            while not _worker_stopping():
                if outbox_send_stream(
                    backend=backend, batch=self.batch, timing=self.total, stop=self._stopping
                ):
                    idle_since = None
                    continue
                self.idle.set()
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= IDLE_SECONDS:
                    break
                time.sleep(POLL_SECONDS)
        except BaseException as exc:  # reported by the next task run
            self.failure = exc
        finally:
            self.idle.set()
            connections.close_all()  # this thread's own

    def take(self) -> SendTiming:
        """What was sent since the last call (by the one task running at a time)."""
        now = SendTiming(**vars(self.total))
        taken, self.reported = now.since(self.reported), now
        return taken


_current: OutboxStream | None = None
_current_lock = threading.Lock()


def _report(taken: list[SendTiming]) -> dict:
    total = {name: sum(getattr(t, name) for t in taken) for name in vars(SendTiming())}
    sent = int(total["sent"])
    return {"sent": sent, "timing": SendTiming(**total).as_dict()} if sent else {"sent": 0}


def outbox_send_in_background(*, batch: int | None = None) -> dict:
    """Start this process's sender thread unless it runs; wait up to REPORT_SECONDS while it
    is busy; return what it sent since the last report."""
    global _current
    with _current_lock:
        previous = _current
        if previous is None or not previous.is_alive():
            _current = OutboxStream(batch=batch)
            _current.start()
        stream = _current
    taken = []
    if previous is not None and previous is not stream:
        taken.append(previous.take())
        if previous.failure is not None:
            raise RuntimeError("the outbox sender thread failed") from previous.failure
    stream.idle.wait(REPORT_SECONDS)
    taken.append(stream.take())
    return _report(taken)
