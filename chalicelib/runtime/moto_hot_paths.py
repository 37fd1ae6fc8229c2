"""Take the per-request costs out of the embedded moto server that grow with what it holds.

Profiling `bench/run_throughput.py` showed the embedded backend's core busy with work no real
AWS service does per request:

- Routing. moto's server finds the backend for every request by listing its own package
  directory (`os.listdir` plus an `isdir` per service, ~200 of them) and trying every service's
  URL patterns, under one lock that every request of every thread takes. The answer depends
  only on the host it computes, so it is remembered per host.
- SQS retention. ReceiveMessage checks each message it returns against the queue's retention
  period by building all the queue's attributes, three of which count the whole queue: a
  receive cost O(queued messages) per message returned. The check reads the retention period
  off the queue instead (same answer).
- SQS long polls. A long-polling ReceiveMessage with nothing visible waits on the queue in
  one-second steps, woken early only by a message sent; a delayed message (the dispatcher sends
  every scheduled run with DelaySeconds) or one whose visibility timeout ran out was noticed up
  to a second late. The wait now ends when the first of them becomes visible.

Like moto_indexes, this patches moto's internals, so it is written for the moto version pyproject
pins and refuses another one.
"""

from __future__ import annotations

import functools
from typing import Any

from chalicelib.runtime.moto_indexes import require_pinned_moto

_UNSET = object()


def install() -> None:
    """Patch the embedded moto server's routing and SQS receive (idempotent)."""
    require_pinned_moto("hot paths")
    _remember_backends_per_host()
    _retention_from_the_queue()
    _wake_when_a_message_shows()


def _remember_backends_per_host() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    lookup = DomainDispatcherApplication.get_backend_for_host
    if getattr(lookup, "_tasklane_memo", False):
        return

    @functools.wraps(lookup)
    def get_backend_for_host(self: Any, host: str | None) -> Any:
        memo: dict[str | None, Any] = self.__dict__.setdefault("_tasklane_backends", {})
        backend = memo.get(host, _UNSET)
        if backend is _UNSET:
            backend = memo[host] = lookup(self, host)
        return backend

    get_backend_for_host._tasklane_memo = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def _retention_from_the_queue() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import Message, SQSBackend

    check = SQSBackend.is_message_valid_based_on_retention_period
    if getattr(check, "_tasklane_direct", False):
        return

    @functools.wraps(check)
    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Message) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > unix_time()  # type: ignore[operator]

    is_message_valid_based_on_retention_period._tasklane_direct = True  # type: ignore[attr-defined]
    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period)


def _wake_when_a_message_shows() -> None:
    import time

    from moto.core.utils import unix_time_millis
    from moto.sqs.models import Queue

    wait = Queue.wait_for_messages
    if getattr(wait, "_tasklane_precise", False):
        return

    @functools.wraps(wait)
    def wait_for_messages(self: Any, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        with self._messages_lock:
            while not self.messages:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                now = unix_time_millis()
                # The next message to become visible (a message sent notifies the lock itself).
                shows = min((at for m in self._messages if (at := max(m.visible_at, m.delayed_until)) > now),
                            default=None)
                if shows is not None:
                    left = min(left, (shows - now) / 1000 + 0.001)
                self._messages_lock.wait(left)

    wait_for_messages._tasklane_precise = True  # type: ignore[attr-defined]
    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]
