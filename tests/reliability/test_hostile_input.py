"""Property-based fuzzing (hypothesis) of the webhook and the Durable management API on a running devstack:
never a 5xx, never a run from bad input, and the host keeps serving."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import product_payloads as p
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.testing import DevstackState

pytestmark = pytest.mark.e2e
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
MGMT = "/runtime/webhooks/durabletask"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20)
NON_STANDARD = st.sampled_from([b"NaN", b"Infinity", b"-Infinity"])


def mutated_alert(draw_path: list[str], value: Any) -> bytes:
    """A valid alert with one field (by path) replaced: the kind of payload a broken sender produces."""
    alert = p.common_metric_static(targets=["/subscriptions/x/resourceGroups/rg/providers/"
                                            "Microsoft.Compute/virtualMachines/fuzz"])
    node = alert
    for key in draw_path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node
    if isinstance(node, dict):
        node[draw_path[-1]] = value
    return json.dumps(alert).encode()


ALERT_FIELDS = st.sampled_from([
    ["schemaId"], ["data"], ["data", "essentials"], ["data", "essentials", "alertTargetIDs"],
    ["data", "essentials", "firedDateTime"], ["data", "essentials", "monitorCondition"],
    ["data", "essentials", "severity"], ["data", "essentials", "alertId"], ["data", "alertContext"],
])

bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.tuples(ALERT_FIELDS, json_values).map(lambda t: mutated_alert(*t)),
    NON_STANDARD.map(lambda lit: json.dumps(p.common_metric_static()).replace('"Sev3"', lit.decode())
                     .encode()),
)


@pytest.fixture
def http(stack: DevstackState) -> httpx.Client:
    with httpx.Client(base_url=stack.function_host, timeout=15) as client:
        yield client


def runs_started(http: httpx.Client, stack: DevstackState) -> set[str]:
    listed = http.get(f"{MGMT}/instances", params={"code": stack.master_key, "top": "5000"})
    assert listed.status_code == 200
    return {i["instanceId"] for i in listed.json()}


def test_hostile_alert_bodies_never_get_a_5xx_or_start_a_run(
        stack: DevstackState, http: httpx.Client) -> None:
    before = runs_started(http, stack)
    accepted: set[str] = set()

    @FUZZ
    @given(body=bodies, content_type=st.sampled_from(["application/json", "text/plain", "", "application/x"]))
    def post(body: bytes, content_type: str) -> None:
        response = http.post("/api/alerts", params={"code": stack.function_key}, content=body,
                             headers={"Content-Type": content_type} if content_type else {})
        assert response.status_code < 500, (body[:200], response.status_code, response.text[:300])
        if response.status_code == 202:  # a valid alert after all: it may start a run, and says so
            accepted.update(r["instanceId"] for r in response.json()["runs"] if r["outcome"] == "started")
        elif response.status_code >= 400:
            assert response.json()  # a JSON body naming the problem

    post()
    assert runs_started(http, stack) - before <= accepted, "a run started from a rejected request"
    assert http.get("/api/alerts").status_code in (401, 404, 405)  # still serving


def test_hostile_management_calls_never_get_a_5xx(stack: DevstackState, http: httpx.Client) -> None:
    ids = st.text(min_size=1, max_size=40).filter(lambda s: s not in (".", ".."))
    params = st.dictionaries(
        st.sampled_from(["top", "createdTimeFrom", "createdTimeTo", "runtimeStatus", "instanceIdPrefix",
                         "showInput", "showHistory", "timeout", "pollingInterval", "reason"]),
        st.text(max_size=30), max_size=4)
    before = runs_started(http, stack)

    @FUZZ
    @given(method=st.sampled_from(["GET", "DELETE", "POST"]), instance=ids, params=params, body=bodies,
           action=st.sampled_from(["", "/terminate", "/suspend", "/resume", "/rewind", "/restart",
                                   "/raiseEvent/x"]))
    def call(method: str, instance: str, params: dict[str, str], body: bytes, action: str) -> None:
        path = f"{MGMT}/instances/{quote(instance, safe='')}{action}"
        response = http.request(method, path, params={**params, "code": stack.master_key}, content=body,
                                headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (method, path, params, response.status_code, response.text[:300])
        listed = http.get(f"{MGMT}/instances", params={**params, "code": stack.master_key})
        assert listed.status_code < 500, (params, listed.text[:300])

    call()
    assert runs_started(http, stack) == before, "a management call on unknown ids started a run"
