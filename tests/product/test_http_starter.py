"""POST /api/alerts: the decorated starter with real ``func.HttpRequest`` objects and a real durable client
talking to the local durable host (``devstack.host``) over its RPC API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
import product_hosts as hosts
import product_payloads as p
import pytest
from azure.durable_functions import DurableOrchestrationClient

from core.naming import run_prefix
from core.sentry import sentry_instance_id
from devstack.host.testing import HostProcess, running_host
from devstack.paths import REPO_ROOT
from http_starter.blueprint import alerts

# The SDK client keeps one module-global aiohttp session, bound to the loop that first used it: run on the
# session loop, as every other in-process client test does (and as the Functions worker does: one loop).
pytestmark = pytest.mark.asyncio(loop_scope="session")


def request(body: bytes | object, headers: dict[str, str] | None = None) -> func.HttpRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(method="POST", url="http://localhost/api/alerts", headers=headers or {},
                            params={}, route_params={}, body=raw)


# --- against the real durable host -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """The durable host running this function app; Azure endpoints point at a closed port (runs fail fast)."""
    settings = hosts.offline_settings()
    path = hosts.write_settings(tmp_path_factory.mktemp("starter") / "settings.json", settings)
    with running_host(REPO_ROOT, settings=path, env=settings) as process:
        yield process


@pytest.fixture(scope="module", autouse=True)
def app_settings(host: HostProcess) -> Iterator[None]:
    """The same settings in this process, where the starter runs."""
    patch = pytest.MonkeyPatch()
    for key, value in json.loads(host.settings.read_text())["Values"].items():
        patch.setenv(key, value)
    from http_starter import blueprint

    blueprint._settings.cache_clear()
    yield
    blueprint._settings.cache_clear()
    patch.undo()


async def call_starter(host: HostProcess, body: object) -> tuple[int, dict]:
    response = await alerts._function._func(req=request(body), client=host.client_binding())
    return response.status_code, json.loads(response.get_body())


def vm(name: str) -> str:
    return p.VM_ID.replace("web-1", name)


async def test_firing_alert_starts_one_run_and_answers_202_with_status_urls(host: HostProcess) -> None:
    status, body = await call_starter(host, p.common_metric_static(targets=[vm("starter-1")]))
    assert status == 202 and body["status"] == "accepted"
    (run,) = body["runs"]
    assert run["outcome"] == "started" and run["instanceId"].startswith("alertcap-")
    assert run["instanceId"] in run["statusQueryGetUri"]
    query = parse_qs(urlsplit(run["statusQueryGetUri"]).query)
    assert "code" not in query and query["taskHub"]  # the system key never goes to the webhook caller
    existing = await host.durable_client().get_status(run["instanceId"])
    assert existing and existing.name == "capture_orchestration"


async def test_the_same_alert_again_is_a_duplicate_naming_the_run(host: HostProcess) -> None:
    body = p.common_metric_static(targets=[vm("starter-2")])
    _, first = await call_starter(host, body)
    status, second = await call_starter(host, body)
    assert status == 200 and second["status"] == "duplicate"
    assert second["runs"][0]["instanceId"] == first["runs"][0]["instanceId"]
    assert second["runs"][0]["outcome"] == "duplicate"


async def test_concurrent_deliveries_start_exactly_one_run(host: HostProcess) -> None:
    bodies = []
    for i in range(20):
        body = p.common_metric_static(targets=[vm("starter-3") if i % 2 else vm("starter-3").lower()])
        body["data"]["essentials"]["alertId"] = f"{p.ALERTS}/concurrent-{i}"
        bodies.append(body)
    answers = await asyncio.gather(*(call_starter(host, b) for b in bodies))
    runs = [run for _, body in answers for run in body["runs"]]
    assert {status for status, _ in answers} <= {200, 202}
    assert sum(run["outcome"] == "started" for run in runs) == 1
    assert len({run["instanceId"] for run in runs}) == 1


async def test_an_alert_naming_two_vms_fans_out_to_two_runs(host: HostProcess) -> None:
    status, body = await call_starter(host, p.common_metric_static(targets=[vm("fan-a"), vm("fan-b")]))
    assert status == 202 and len({run["instanceId"] for run in body["runs"]}) == 2


async def test_resolved_and_non_vm_alerts_are_ignored_with_a_reason(host: HostProcess) -> None:
    status, body = await call_starter(host, p.common_metric_static(targets=[vm("x")], condition="Resolved"))
    assert status == 200 and body["status"] == "ignored" and "Resolved" in body["reason"]
    status, body = await call_starter(host, p.common_log_search_v2(targets=[p.WORKSPACE_ID]))
    assert status == 200 and body["status"] == "ignored"
    assert body["ignored"][0]["target"].lower() == p.WORKSPACE_ID


async def test_malformed_alerts_get_400_naming_the_field(host: HostProcess) -> None:
    status, body = await call_starter(host, p.with_essentials(p.common_metric_static(), firedDateTime=None))
    assert status == 400 and body["field"] == "data.essentials.firedDateTime"
    status, body = await call_starter(host, p.common_metric_static(targets=["/subscriptions/../x"]))
    assert status == 400 and body["field"] == "target[0]"


async def test_unreachable_durable_backend_answers_503_so_azure_retries(host: HostProcess) -> None:
    binding = host.client_binding().replace(host.base_url.split("://", 1)[1], "127.0.0.1:9")
    response = await alerts._function._func(req=request(p.common_metric_static(targets=[vm("down")])),
                                            client=binding)
    assert response.status_code == 503
    assert json.loads(response.get_body())["error"] == "backend_unavailable"


# --- cooldown from the first alert ---------------------------------------------------------------------

BOUNDARY = "2026-11-25T22:15:00"  # a multiple of the 900 s cooldown since the epoch: a slot boundary


def fired(seconds_from_boundary: float) -> str:
    moment = datetime.fromisoformat(BOUNDARY) + timedelta(seconds=seconds_from_boundary)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert_at(target: str, seconds_from_boundary: float, alert_id: str) -> dict:
    body = p.common_metric_static(targets=[target], fired=fired(seconds_from_boundary))
    body["data"]["essentials"]["alertId"] = f"{p.ALERTS}/{alert_id}"
    return body


async def live_runs(host: HostProcess, target: str) -> list:
    """The target's runs that were not ended as yielded duplicates (whatever their progress)."""
    statuses = await host.durable_client().get_status_by(instance_id_prefix=run_prefix(target))
    return [s for s in statuses if s.runtime_status.value != "Terminated"]


@pytest.mark.parametrize("order", ["concurrent", "early-first", "late-first"])
async def test_two_alerts_5_s_apart_across_a_slot_boundary_give_one_run(host: HostProcess,
                                                                        order: str) -> None:
    target = vm(f"straddle-{order}")
    early, late = alert_at(target, -2.5, f"early-{order}"), alert_at(target, 2.5, f"late-{order}")
    if order == "concurrent":
        answers = await asyncio.gather(call_starter(host, early), call_starter(host, late))
    else:
        pair = (early, late) if order == "early-first" else (late, early)
        answers = [await call_starter(host, body) for body in pair]
    assert {status for status, _ in answers} <= {200, 202}
    (survivor,) = await live_runs(host, target)
    first_alert = json.loads(survivor.input_)["window_start"]
    if order == "concurrent":  # both may start; the earlier alert's run is the one left
        assert first_alert == "2026-11-25T22:14:57+00:00"
    else:  # the first delivery's alert starts the run; the second joins it whichever side it fell on
        assert first_alert == ("2026-11-25T22:14:57+00:00" if order == "early-first" else
                               "2026-11-25T22:15:02+00:00")
        assert [body["runs"][0]["outcome"] for _, body in answers] == ["started", "duplicate"]
        assert {body["runs"][0]["instanceId"] for _, body in answers} == {survivor.instance_id}


async def test_many_concurrent_pairs_across_a_boundary_never_leave_two_runs(host: HostProcess) -> None:
    targets = [vm(f"race-{i}") for i in range(6)]
    bodies = [alert_at(t, offset, f"race-{i}-{offset}") for i, t in enumerate(targets)
              for offset in (-2.5, 2.5)]
    await asyncio.gather(*(call_starter(host, b) for b in bodies))
    for target in targets:
        assert len(await live_runs(host, target)) == 1, target


async def test_alerts_a_cooldown_apart_start_two_runs_and_a_storm_between_joins_the_first(
        host: HostProcess) -> None:
    target = vm("cooldown-apart")
    _, first = await call_starter(host, alert_at(target, -2.5, "apart-1"))
    storm = [await call_starter(host, alert_at(target, offset, f"apart-storm-{offset}"))
             for offset in (60, 400, 896)]
    _, second = await call_starter(host, alert_at(target, 897.5, "apart-2"))  # exactly 900 s after the first
    assert first["runs"][0]["outcome"] == "started" and second["runs"][0]["outcome"] == "started"
    assert all(body["runs"][0]["instanceId"] == first["runs"][0]["instanceId"] for _, body in storm)
    assert len(await live_runs(host, target)) == 2


async def test_a_duplicate_costs_one_listing_and_a_start_one_more(host: HostProcess,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The cooldown's budget: every alert lists the target's runs once; only a delivery that started a run
    lists a second time (to settle a race). Counted on the real SDK client's calls, which still run."""
    calls: list[str] = []
    for name in ("get_status", "get_status_by"):
        original = getattr(DurableOrchestrationClient, name)

        def counting(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name if _name == "get_status_by" else f"get_status:{args[0] if args else ''}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(DurableOrchestrationClient, name, counting)
    target = vm("budget")
    _, first = await call_starter(host, alert_at(target, -2.5, "budget-1"))
    started_calls, calls[:] = list(calls), []
    _, second = await call_starter(host, alert_at(target, 2.5, "budget-2"))
    assert first["runs"][0]["outcome"] == "started" and second["runs"][0]["outcome"] == "duplicate"
    assert started_calls.count("get_status_by") == 2
    sentry_check = f"get_status:{sentry_instance_id(target)}"  # the sentry's own lookup, not a run's
    assert [c for c in started_calls if c.startswith("get_status:")] == [sentry_check]
    assert calls == ["get_status_by"]
