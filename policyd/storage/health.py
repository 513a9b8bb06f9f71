"""Whether the database can be written: what the daemon's health check reports.

The writer and the lease heartbeat report every write they attempt: a failure with
its error (a disk I/O error, a full or read-only disk, a damaged file), a success
when rows were written. The state is

* `failing`: the last write failed; the daemon cannot record decisions now, so it
  answers them 503 and its health check 503;
* `degraded`: writes work again, but one failed in the last DEGRADED_FOR seconds;
* `ok`.

Failures are logged once when they start or change, and at most once a minute
while they go on, so a full disk does not fill the log as well.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from typing import Any

from .db import explain
from .engines import redact
from .errors import StorageFailure

log = logging.getLogger(__name__)

DEGRADED_FOR = 600.0
LOG_EVERY = 60.0


class StorageHealth:
    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self.failures = 0
        self.error: str | None = None
        self.failed_at: float | None = None
        self.ok_at: float | None = None
        self.failing = False
        self._logged: tuple[str, float] | None = None

    def describe(self, err: BaseException) -> str:
        """The error in words: what failed on which file, and what to do."""
        if isinstance(err, sqlite3.Error):
            return explain(self.path, err)
        return getattr(err, "message", None) or str(err)

    def failed(self, err: BaseException) -> StorageFailure:
        """Record a failed write; the StorageFailure to answer the requests it failed."""
        message = self.describe(err)
        now = time.time()
        with self._lock:
            self.failures += 1
            self.error, self.failed_at, self.failing = message, now, True
            quiet = self._logged is not None and self._logged[0] == message and now - self._logged[1] < LOG_EVERY
            if not quiet:
                self._logged = (message, now)
        if not quiet:
            log.error("storage failing: %s", message)
        return StorageFailure(f"{message}. Nothing was recorded for this request, so it may be sent again once the daemon's health is ok")

    def ok(self) -> None:
        """Record a write that reached the disk."""
        with self._lock:
            was = self.failing
            self.ok_at, self.failing = time.time(), False
        if was:
            log.warning("storage writes work again on %s (the last failure: %s)", self.path, self.error)

    def status(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        with self._lock:
            if self.failing:
                return "failing"
            if self.failed_at is not None and now - self.failed_at < DEGRADED_FOR:
                return "degraded"
            return "ok"

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """For the health check: status, file, and the last error with when it happened (epoch seconds)."""
        now = time.time() if now is None else now
        out: dict[str, Any] = {"status": self.status(now), "file": redact(self.path)}
        with self._lock:
            if self.failed_at is not None:
                out.update(error=self.error, failed_at=self.failed_at, failures=self.failures)
        return out
