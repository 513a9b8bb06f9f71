"""The daemon's rehearsal clock (POLICYD_NOW, POLICYD_CLOCK_SPEED, POLICYD_CLOCK_FROM): real `policyd serve`
processes whose SLA deadlines come due in seconds, for a staging rehearsal and for the multi-daemon fault tests."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from policyd.cli.clock import daemon_clock, instant
from policyd.cli.common import PolicydError
from policyd.cli.main import main

from .serve_support import HIGH, ProcessServer, db_rows, lead, make_token, publish

T0 = instant("2026-12-08T09:00:00Z")  # a Tuesday, far from a week's end
REAL = 1_800_000_000.0  # the machine's clock in these tests, nowhere near T0


class Real:
    """The real clock, moved by hand."""

    def __init__(self, t: float = REAL):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_without_the_variables_the_daemon_keeps_the_real_clock():
    assert daemon_clock({}) is None
    assert daemon_clock({"POLICYD_NOW": " ", "POLICYD_CLOCK_SPEED": ""}) is None


def test_the_clock_starts_at_policyd_now_and_runs_at_the_speed_given():
    real = Real()
    c = daemon_clock({"POLICYD_NOW": "2026-12-08T09:00:00Z", "POLICYD_CLOCK_SPEED": "600"}, real)
    assert c() == T0
    real.t += 12  # twelve real seconds: two hours
    assert c() == T0 + 2 * 3600
    assert "2026-12-08T11:00:00Z" in c.describe() and "600x real time" in c.describe()


def test_policyd_now_alone_runs_at_real_pace_and_a_speed_alone_starts_at_the_real_now():
    real = Real()
    c = daemon_clock({"POLICYD_NOW": "2026-12-08"}, real)
    real.t += 5
    assert c() == instant("2026-12-08") + 5
    fast = daemon_clock({"POLICYD_CLOCK_SPEED": "10"}, real)
    real.t += 3
    assert fast() == REAL + 5 + 30


def test_daemons_given_the_same_origin_agree_whenever_each_started():
    """A daemon restarted later (after a kill -9) rejoins the others' time instead of starting over at POLICYD_NOW."""
    env = {"POLICYD_NOW": "2026-12-08T09:00:00Z", "POLICYD_CLOCK_SPEED": "600", "POLICYD_CLOCK_FROM": "2027-01-15T08:00:00Z"}
    origin = instant("2027-01-15T08:00:00Z")
    real = Real(origin + 1)
    first = daemon_clock(env, real)
    real.t += 40
    later = daemon_clock(env, real)
    assert first() == later() == T0 + 41 * 600
    assert daemon_clock({k: v for k, v in env.items() if k != "POLICYD_CLOCK_FROM"}, real)() == T0  # without it: from its own start


@pytest.mark.parametrize(
    "env, message",
    [
        ({"POLICYD_CLOCK_SPEED": "fast"}, "POLICYD_CLOCK_SPEED='fast' is not a speed: expected a number more than 0, such as 600"),
        ({"POLICYD_CLOCK_SPEED": "0"}, "POLICYD_CLOCK_SPEED='0' is not a speed: expected a number more than 0"),
        ({"POLICYD_CLOCK_SPEED": "-60"}, "POLICYD_CLOCK_SPEED='-60' is not a speed"),
        ({"POLICYD_CLOCK_SPEED": "inf"}, "POLICYD_CLOCK_SPEED='inf' is not a speed"),
        ({"POLICYD_NOW": "next tuesday"}, "POLICYD_NOW='next tuesday' is not a time: expected ISO 8601 with a zone"),
        (
            {"POLICYD_NOW": "2026-12-08T09:00:00Z", "POLICYD_CLOCK_FROM": "2026-12-02T10:00:00"},
            "POLICYD_CLOCK_FROM='2026-12-02T10:00:00' has no zone: add Z or an offset",
        ),
        ({"POLICYD_CLOCK_FROM": "2026-12-02T10:00:00Z"}, "POLICYD_CLOCK_FROM is set but neither POLICYD_NOW nor POLICYD_CLOCK_SPEED"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_and_the_form_expected(env, message):
    with pytest.raises(PolicydError) as err:
        daemon_clock(env, Real())
    assert message in str(err.value)


def test_serve_refuses_a_bad_clock_before_it_starts_and_its_help_says_how_to_set_one(tmp_path):
    r = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "p.db"), "--port", "0"], env={"POLICYD_CLOCK_SPEED": "10x"})
    assert r.exit_code == 1 and "POLICYD_CLOCK_SPEED='10x' is not a speed" in r.output
    assert not (tmp_path / "p.db").exists()  # refused before the database was opened
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    assert "POLICYD_CLOCK_SPEED=600" in help_text and "POLICYD_CLOCK_FROM" in help_text


def test_a_serve_process_on_the_rehearsal_clock_decides_at_its_time_and_moves_a_lead_when_the_sla_passes(tmp_path):
    """The reference policy gives a high lead 2h; at 3600x that is two real seconds, so the daemon's own loop moves it."""
    db = tmp_path / "p.db"
    publish(db)
    tok = make_token(db, "assign")
    env = {"POLICYD_NOW": "2026-12-08T09:00:00Z", "POLICYD_CLOCK_SPEED": "3600"}
    with ProcessServer(db, "--sla-interval", "0.1", env=env) as srv, srv.client(tok) as c:
        assert any("rehearsal clock" in line and "3600x real time" in line for line in srv.lines)
        d = c.post("/v1/assign", json=lead("R-1", **HIGH)).json()
        at = instant(d["at"])
        assert T0 <= at < T0 + 3600  # the rehearsal's morning, not the machine's date
        assert instant(d["deadline"]) == at + 2 * 3600
        deadline = time.monotonic() + 30
        while not db_rows(db, "select 1 from audit where kind = 'sla_reassign'") and time.monotonic() < deadline:
            time.sleep(0.1)
    moved = [json.loads(data) for (data,) in db_rows(db, "select data from audit where kind = 'sla_reassign'")]
    assert moved and moved[0]["lead_id"] == "L-R-1" and moved[0]["from"] == d["rep"]
    (when,) = db_rows(db, "select at from audit where kind = 'sla_reassign' order by seq limit 1")[0]
    assert at + 2 * 3600 <= when < at + 4 * 3600
