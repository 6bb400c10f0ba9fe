"""How a Lambda handler gets its clients and services: one idiom for every file under functions/.

Each handler module declares, at module level, exactly one

    def _wire(clients: AwsClients) -> Delivery:      # whatever this handler needs
        return Delivery.from_clients(clients)

    wired = once(_wire)

and calls ``wired()`` inside the handler. Nothing is built at import time (importing a handler reads
no settings and makes no client); the first invocation of an execution environment builds
``_wire(AwsClients())`` and every later invocation of that environment reuses it, so warm invocations
pay nothing. The build runs under a lock, once, even when a handler serves requests from threads
(the local stack).

Tests inject through the one seam, ``wired.use(clients)``: for the duration of the ``with`` block the
handler's services are built from the given clients (usually the moto-backed ``aws`` fixture), and the
previous state comes back afterwards::

    with send_links.wired.use(aws):
        send_links.handler(event, context)

``wired.reset()`` forgets what was built, as a new execution environment would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar, cast

from kaeri.aws import AwsClients

T = TypeVar("T")


class Once(Generic[T]):
    """A handler's services, built from AwsClients on first use and kept for the execution environment."""

    def __init__(self, build: Callable[[AwsClients], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._built: T | None = None
        self._done = False

    def __call__(self) -> T:
        if not self._done:
            with self._lock:
                if not self._done:
                    self._built = self._build(AwsClients())
                    self._done = True
        return cast(T, self._built)  # set together with _done

    @contextmanager
    def use(self, clients: AwsClients) -> Iterator[T]:
        """Build the services from these clients for the duration of the block (the test seam)."""
        built = self._build(clients)
        with self._lock:
            previous = (self._built, self._done)
            self._built, self._done = built, True
        try:
            yield built
        finally:
            with self._lock:
                self._built, self._done = previous

    def reset(self) -> None:
        """Forget what was built: the next call builds again, as in a new execution environment."""
        with self._lock:
            self._built, self._done = None, False


def once(build: Callable[[AwsClients], T]) -> Once[T]:
    """Declare a handler's wiring: ``wired = once(_wire)`` at module level, ``wired()`` per invocation."""
    return Once(build)
