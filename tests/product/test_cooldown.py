"""Cooldown from the first alert: the pure decisions (which run an alert joins, who yields after a race)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

from core.cooldown import SeenRun, covering_run, first_alert_of, settle
from core.naming import cooldown_start, instance_id, run_prefix, window_start

VM = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/" \
     "virtualMachines/web-1"
C = 900
BOUNDARY = datetime(2026, 11, 25, 22, 15, tzinfo=UTC)  # a multiple of 900 s since the epoch


def run(name: str, seconds_from_boundary: float, status: str = "Running") -> SeenRun:
    return SeenRun(name, BOUNDARY + timedelta(seconds=seconds_from_boundary), status)


def test_ids_share_the_target_prefix_and_differ_by_slot() -> None:
    before, after = BOUNDARY - timedelta(seconds=2.5), BOUNDARY + timedelta(seconds=2.5)
    assert window_start(after, C) == BOUNDARY and window_start(before, C) == BOUNDARY - timedelta(seconds=C)
    assert instance_id(VM, before, C) != instance_id(VM, after, C)
    assert instance_id(VM, before, C).startswith(run_prefix(VM)) and instance_id(VM, after, C).startswith(
        run_prefix(VM))
    assert run_prefix(VM.upper()) == run_prefix(VM) != run_prefix(VM.replace("web-1", "web-2"))
    assert len(instance_id(VM, after, C)) == len("alertcap-") + 24
    assert cooldown_start(after.replace(microsecond=123456)) == after.replace(microsecond=0)


def test_an_alert_joins_a_run_whose_first_alert_is_less_than_the_cooldown_away_on_either_side() -> None:
    first = run("a", -2.5)
    assert covering_run([first], BOUNDARY + timedelta(seconds=2.5), C) == first  # across the boundary
    assert covering_run([first], BOUNDARY + timedelta(seconds=C - 3), C) == first
    assert covering_run([first], BOUNDARY + timedelta(seconds=C - 2.5), C) is None  # exactly C later: new run
    assert covering_run([first], BOUNDARY - timedelta(seconds=60), C) == first  # a late, earlier alert
    assert covering_run([run("a", -2.5, "Terminated")], BOUNDARY, C) is None  # a yielded run covers nothing
    assert covering_run([run("a", -2.5, "Completed")], BOUNDARY, C).instance_id == "a"
    assert covering_run([run("b", 10), run("a", 5)], BOUNDARY, C).instance_id == "a"  # earliest first alert


def test_two_runs_started_at_once_settle_on_the_earlier_whichever_delivery_looks() -> None:
    early, late = run("z-early", -2.5, "Pending"), run("a-late", 2.5, "Pending")
    from_late = settle(late, [early, late], C)
    assert from_late.winner == early and from_late.to_terminate == (late,)
    from_early = settle(early, [early, late], C)
    assert from_early.winner is None and from_early.to_terminate == (late,)
    # the early delivery's listing missed the late run: the late delivery's listing sees the early run
    assert settle(early, [early], C).to_terminate == ()
    assert settle(late, [early, late], C).to_terminate == (late,)
    tie = settle(run("b", 0), [run("a", 0), run("b", 0)], C)  # same second: the smaller id wins
    assert tie.winner.instance_id == "a"


def test_every_interleaving_of_two_racing_deliveries_leaves_one_run() -> None:
    """Each delivery: start its run (write), list (read), settle. Whatever the order of the four steps,
    exactly the earlier run survives (a read sees the runs started before it)."""
    runs = {"x": run("x", -2.5, "Pending"), "y": run("y", 2.5, "Pending")}
    steps = [("x", "write"), ("x", "read"), ("y", "write"), ("y", "read")]
    for order in itertools.permutations(steps):
        if order.index(("x", "write")) > order.index(("x", "read")):
            continue
        if order.index(("y", "write")) > order.index(("y", "read")):
            continue
        started: list[str] = []
        terminated: set[str] = set()
        for who, step in order:
            if step == "write":
                started.append(who)
                continue
            visible = [runs[s] for s in started if s not in terminated]
            terminated.update(r.instance_id for r in settle(runs[who], visible, C).to_terminate)
        assert [s for s in started if s not in terminated] == ["x"], order


def test_first_alert_is_read_from_the_run_input_in_any_encoding() -> None:
    body = {"window_start": "2026-11-25T22:14:57+00:00", "target": {}}
    expected = datetime(2026, 11, 25, 22, 14, 57, tzinfo=UTC)
    assert first_alert_of(body) == expected
    assert first_alert_of(json.dumps(body)) == expected
    assert first_alert_of(json.dumps(json.dumps(body))) == expected
    assert first_alert_of({"window_start": "2026-11-25T22:14:57"}) is None  # naive: not ours
    assert first_alert_of("not json") is None and first_alert_of(None) is None
