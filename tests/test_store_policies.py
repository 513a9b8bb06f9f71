"""Several policies in one store: versions filed by policy name, refs NAME@N, an activation log per policy."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.daemon.policy import SeveralActive, Versions
from policyd.storage import db
from policyd.storage.refs import RefError, kind_of, read_bundle
from policyd.storage.store import BadReference, Store, UnknownVersion

from .conftest import POLICIES
from .test_store_migrations import DATA

INBOUND = (POLICIES / "inbound.policy").read_text(encoding="utf-8")


def text(name: str, tweak: str = "") -> tuple[str, dict[str, str]]:
    """The inbound policy under another `policy NAME` header (and an optional change)."""
    body = INBOUND.replace("policy inbound_b2b", f"policy {name}", 1) + tweak
    return f"{name}.policy", {f"{name}.policy": body}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "p.db")
    s.publish(*text("inbound"), "in 1", "dana", now=1.0)  # @1
    s.publish(*text("emea"), "emea 1", "dana", now=2.0)  # @2
    s.publish(*text("inbound", "\n# two\n"), "in 2", "erin", now=3.0)  # @3
    s.publish(*text("emea", "\n# two\n"), "emea 2", "erin", now=4.0)  # @4
    yield s
    s.close()


def test_versions_are_filed_by_policy_with_global_numbers(store):
    assert store.policies() == ["emea", "inbound"]
    assert [v.number for v in store.versions("inbound")] == [3, 1]
    assert [(v.number, v.parent) for v in store.versions("emea")] == [(4, 2), (2, None)]  # parent: that policy's previous
    assert store.get("emea@4").policy == "emea" and store.get("@3").policy == "inbound"  # a bare number is never ambiguous
    assert store.ref_of(store.get(4)) == "emea@4"
    with pytest.raises(UnknownVersion, match=r"no version emea@3 in .* \(its versions are emea@2, emea@4\)"):
        store.get("emea@3")
    with pytest.raises(UnknownVersion, match=r"no policy 'apac' in .* \(it holds emea, inbound\)"):
        store.get("apac@active")


def test_a_bare_symbolic_ref_with_several_policies_is_refused_naming_them(store):
    for ref in ("@active", "@previous", "@latest"):
        with pytest.raises(BadReference) as err:
            store.get(ref)
        assert str(err.value) == f"the store holds policies emea, inbound: name one, e.g. inbound@{ref[1:]}"
    with pytest.raises(BadReference, match="the store holds policies emea, inbound"):
        store.rollback("dana")


def test_each_policy_has_its_own_active_version_previous_and_log(store):
    store.activate("inbound@1", "dana", now=10.0)
    store.activate("emea@2", "dana", now=11.0)
    store.activate("inbound@3", "erin", now=12.0)
    store.activate("@4", "erin", now=13.0)
    assert {n: v.number for n, v in store.active_versions().items()} == {"emea": 4, "inbound": 3}
    assert store.get("inbound@active").number == 3 and store.get("emea@previous").number == 2
    assert [(a.number, a.previous) for a in store.activation_log("inbound")] == [(3, 1), (1, None)]
    before, after = store.rollback("fay", now=14.0, policy="emea")
    assert (before.number, after.number) == (4, 2)
    assert store.get("emea@active").number == 2 and store.get("inbound@active").number == 3  # the other policy is untouched
    assert [a.action for a in store.activation_log("emea")] == ["rollback", "activate", "activate"]


def test_refs_name_a_policy_and_a_file_of_that_name_still_wins(store, tmp_path, monkeypatch):
    assert kind_of("inbound@3") == kind_of("emea@active") == "version"
    assert kind_of("main:inbound.policy") == "git"
    bundle = read_bundle("emea@4", store.path)
    assert (bundle.label, bundle.kind) == ("emea@4", "version")
    with pytest.raises(RefError, match="name one, e.g. inbound@active"):
        read_bundle("@active", store.path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "odd@1").write_text(INBOUND, encoding="utf-8")
    assert kind_of("odd@1") == "file"


def cli(store, *args):
    return CliRunner().invoke(main, [*args], env={"POLICYD_DB": store.path})


def test_the_commands_take_a_policy_name(store):
    assert cli(store, "activate", "@active").output.strip().endswith("name one, e.g. inbound@active")
    r = cli(store, "activate", "emea@2", "--by", "dana")
    assert r.exit_code == 0 and r.stdout.strip() == "emea@2"
    assert cli(store, "activate", "emea@4", "--by", "dana").stdout.strip() == "emea@4"
    listed = cli(store, "versions", "emea").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["emea@4", "emea@2"] and listed[0].endswith("(active)")
    log = json.loads(cli(store, "versions", "emea", "--activations", "--format", "json").stdout)
    assert [(a["policy"], a["number"], a["previous"]) for a in log] == [("emea", 4, 2), ("emea", 2, None)]
    r = cli(store, "rollback", "emea", "--by", "dana")
    assert r.exit_code == 0 and r.stdout.strip() == "emea@2" and "rolled back from emea@4 to emea@2" in r.stderr
    r = cli(store, "versions", "apac")
    assert r.exit_code != 0 and "no policy 'apac'" in r.output
    shown = json.loads(cli(store, "show", "inbound@3", "--format", "json").stdout)
    assert shown["ref"] == "inbound@3" and shown["version"]["policy"] == "inbound"
    r = cli(store, "diff", "emea@2", "emea@4")
    assert r.exit_code in (0, 1) and "error" not in r.output.lower()


def test_the_daemon_serves_every_active_policy_or_the_one_named(store):
    store.activate("emea@2", "dana")
    v = Versions(store.path, loader=lambda n: f"compiled {n}")
    v.check(store, True)
    assert v.policy.version == 2 and v.teams() == ["emea"]
    store.activate("inbound@3", "dana")  # a second active policy: a running daemon serves it too, as a team of its own
    v.check(store, True)  # compiled away from the writer first: emea alone goes on deciding meanwhile
    for _ in range(200):
        if len(v.policies) == 2:
            break
        time.sleep(0.01)
        v.check(store, False)
    assert v.policy is None and {t: p.version for t, p in v.policies.items()} == {"emea": 2, "inbound": 3}
    named = Versions(store.path, loader=lambda n: f"compiled {n}", name="inbound")
    named.check(store, True)
    assert named.policy.version == 3 and named.teams() == ["inbound"]
    with pytest.raises(SeveralActive, match="no policy 'apac'"):
        Versions(store.path, loader=lambda n: f"compiled {n}", name="apac").check(store, True)


def test_serve_refuses_a_policy_the_store_does_not_hold(store):
    store.activate("emea@2", "dana")
    r = cli(store, "serve", "--port", "0", "--policy", "apac")
    assert r.exit_code != 0 and "no policy 'apac'" in r.output and "emea, inbound" in r.output


@pytest.mark.parametrize("dump", ["layout-7a82320.sql", "layout-0f06a3e.sql"])
def test_an_old_store_finds_its_versions_under_their_policy_name(tmp_path, dump):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(str(path))
    conn.executescript((DATA / dump).read_text(encoding="utf-8"))
    conn.close()
    assert "m014_versions_per_policy" not in db.applied(sqlite3.connect(str(path)))
    store = Store(path)
    assert "m014_versions_per_policy" in store.applied_migrations()
    (name,) = store.policies()
    assert [v.number for v in store.versions(name)] == [2, 1]
    assert store.get(f"{name}@active").number == store.get("@active").number == 1
    assert {a.policy for a in store.activation_log()} == {name}
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):  # the triggers are back
        store.db.execute("update versions set policy = 'x'")
