"""What the endpoints share: the runtime, a read connection, the token cache, counters."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ..daemon.intake import Sources
from ..daemon.runtime import Runtime
from ..storage import tokens
from ..storage.db import connect
from ..storage.errors import Conflict


class Daemon:
    """The application's state (`request.app.state.daemon`): opened by the lifespan, before the first request."""

    def __init__(
        self,
        db: str,
        clock: Callable[[], float],
        sla_interval: float,
        dashboard_panels: Sequence[Callable] = (),
        seed_fn: Callable[[float], str] | None = None,
    ):
        self.db = db
        self.clock = clock
        self.sla_interval = sla_interval
        self.runtime = Runtime(db, clock=clock, seed_fn=seed_fn)
        self.dashboard_panels = list(dashboard_panels)
        self.requests: dict[str, int] = {}
        self.assign_seconds = 0.0
        self.assign_count = 0
        self.started = time.time()
        self.on_ready: Callable[[], None] | None = None
        self.sources = Sources()  # mapped intake (daemon/intake.py): set by create_app
        self.max_pending = 2000  # writer operations waiting beyond which intake and assign answer 429
        self.deliverer = None  # the outbox's delivery thread (daemon/outbox.py), when webhooks are configured
        self.door_schema: tuple | None = None  # (versions in force, the door's and its teams' fields) for mapped intake

    def open(self) -> None:
        self.read = connect(self.db)
        self.tokens = tokens.TokenCache(self.read)
        self.runtime.start()

    def row(self, lead_id: str, team: str | None = None) -> dict:
        """A decision's row; asked under a team (`/v1/teams/{team}/...`), a lead of another team is refused, naming it."""
        row = self.runtime.row(self.read, lead_id)
        if team is not None:
            self.runtime.team(team)  # NotFound, naming the teams, for a team not served
            if row.get("team") not in (None, team):
                raise Conflict(f"lead {lead_id} was decided in team {row['team']}, not {team}", lead_id=lead_id, team=row["team"])
        return row
