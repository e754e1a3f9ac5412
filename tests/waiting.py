"""Waiting for asynchronous work with a bounded poll, never a bare sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from shared.consumer import ServiceConsumer

T = TypeVar("T")


def wait_until(probe: Callable[[], T], *, timeout: float = 15.0, interval: float = 0.02, what: str = "") -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)


@contextmanager
def consuming(consumer: ServiceConsumer) -> Iterator[ServiceConsumer]:
    """Run ``consumer`` on a thread for the duration of the block, then stop it cleanly."""
    thread = threading.Thread(target=consumer.run_until_stopped, kwargs={"poll_seconds": 0.05}, daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        consumer.should_stop = True
        thread.join(timeout=10)
        consumer.close()
        consumer.connection.release()
