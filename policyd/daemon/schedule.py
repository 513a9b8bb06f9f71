"""The daemon's side of scheduled activations: compile ahead, switch exactly on time.

Why: a schedule (storage/schedule.py) must take effect for the first decision at or
after its time, not whenever a compile finishes. The writer calls `Scheduler.step(now)`
before each batch, with the batch's own `now` from the injected clock: a schedule due
by then is made active (through `teams.activate_set`, dated at its due time) before
the batch reads the activation log, so that batch and every later one decide with the
new versions, and every earlier one decided with the old. The versions of pending
schedules are compiled on their own threads as soon as the schedule is seen, so the
switch does not wait for a compile; one not compiled yet is compiled then, since
being on time matters more than one batch's latency.
"""

from __future__ import annotations

import logging

from ..storage import schedule as sched
from ..storage.db import data_version
from ..storage.doors import is_door_version
from ..storage.store import Store
from .policy import Versions

log = logging.getLogger(__name__)


class Scheduler:
    """Pending schedules of one store, looked at once per batch (one cheap read when nothing changed)."""

    def __init__(self, store: Store, versions: Versions):
        self.store = store
        self.versions = versions
        self._data_version: int | None = None
        self._next: float | None = None  # the soonest pending due time

    def _look(self) -> None:
        dv = data_version(self.store.db.conn)
        if dv == self._data_version:
            return
        self._data_version = dv
        pending = sched.listing(self.store)
        self._next = min((s["due"] for s in pending), default=None)
        for s in pending:
            for x in s["versions"]:
                if not is_door_version(self.store.get(x["number"])):
                    self.versions.warm(x["number"])

    def step(self, now: float) -> list[dict]:
        """Make active every schedule due by `now`; what each did ({id, versions, error})."""
        self._look()
        if self._next is None or now < self._next:
            return []
        out = []
        for s in sched.due(self.store, now):
            numbers = [x["number"] for x in s["versions"]]
            try:
                for n in numbers:
                    if not is_door_version(self.store.get(n)):
                        self.versions.compiled_for(n)  # cached when warmed; else compiled now, to switch on time
            except Exception as err:  # a version that does not load is never made active
                sched.fail(self.store, s, now, str(err))
                log.error("scheduled activation #%s failed: %s", s["id"], err)
                out.append({"id": s["id"], "versions": numbers, "error": str(err)})
                continue
            _, error = sched.run(self.store, s, now)
            if error is not None:
                log.error("scheduled activation #%s refused: %s", s["id"], error)
            else:
                log.info("scheduled activation #%s: %s active as of its time", s["id"], ", ".join(x["ref"] for x in s["versions"]))
            out.append({"id": s["id"], "versions": numbers, "error": error})
        self._data_version = None  # our own commits do not move this connection's data_version
        return out
