"""The management API over plain HTTP: auth, bad input, listing with continuation tokens, limits."""

from collections.abc import Iterator

import httpx
import pytest

from devstack.host.keys import load_or_create_keys
from devstack.host.testing import HostProcess, wait_for_status


@pytest.fixture
def api(patterns_host: HostProcess) -> httpx.Client:
    with httpx.Client(
        base_url=patterns_host.management_url, params={"code": patterns_host.master_key}, timeout=10
    ) as client:
        yield client


def assert_json_error(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert fragment in response.json()["ExceptionMessage"]


def test_management_api_requires_the_system_or_master_key(patterns_host: HostProcess) -> None:
    url = f"{patterns_host.management_url}/instances"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, params={"code": patterns_host.function_key}).status_code == 401
    assert httpx.get(url, headers={"x-functions-key": patterns_host.master_key}).status_code == 200


def test_function_and_admin_auth_levels(patterns_host: HostProcess) -> None:
    start = f"{patterns_host.base_url}/api/start/chain"
    assert httpx.post(start).status_code == 401
    assert httpx.post(start, params={"code": "wrong"}).status_code == 401
    admin = f"{patterns_host.base_url}/api/admin-only"
    assert httpx.get(admin, params={"code": patterns_host.function_key}).status_code == 401
    assert httpx.get(admin, params={"code": patterns_host.master_key}).text == "admin ok"


def test_route_templates_methods_and_unknown_routes(patterns_host: HostProcess) -> None:
    base = patterns_host.base_url
    found = httpx.get(f"{base}/api/items/42/a/b", params={"q": "x"})
    assert found.json() == {"id": "42", "rest": "a/b", "q": "x"}
    assert httpx.get(f"{base}/api/items/notanint/a").status_code == 404
    assert httpx.delete(f"{base}/api/items/42/a").status_code == 405
    missing = httpx.get(f"{base}/api/nothing-here")
    assert missing.status_code == 404 and "no function" in missing.json()["Message"]


def test_malformed_json_to_start_and_raise_event_is_400(api: httpx.Client) -> None:
    bad = api.post("/orchestrators/chain", content=b"{not json", headers={"content-type": "application/json"})
    assert_json_error(bad, 400, "not valid JSON")
    instance_id = api.post("/orchestrators/long_wait").json()["id"]
    raised = api.post(
        f"/instances/{instance_id}/raiseEvent/never",
        content=b"[1,",
        headers={"content-type": "application/json"},
    )
    assert_json_error(raised, 400, "not valid JSON")
    wrong_type = api.post(
        f"/instances/{instance_id}/raiseEvent/never", content=b"1", headers={"content-type": "text/plain"}
    )
    assert_json_error(wrong_type, 400, "application/json")
    assert api.post(f"/instances/{instance_id}/terminate").status_code == 202


def test_unknown_orchestrator_and_invalid_ids_are_400(api: httpx.Client) -> None:
    assert_json_error(api.post("/orchestrators/not_there"), 400, "The function 'not_there' doesn't exist")
    assert_json_error(api.post("/orchestrators/chain/@entity"), 400, "may not start with '@'")
    assert_json_error(api.post("/orchestrators/chain/a%3Fb"), 400, "may not contain")
    assert_json_error(api.post("/orchestrators/chain/" + "x" * 300), 400, "longer than 256")


def test_unknown_instances_are_404(api: httpx.Client) -> None:
    assert api.get("/instances/ghost").status_code == 404
    assert api.get("/instances/ghost").content == b""
    for operation in ("terminate", "suspend", "resume", "rewind"):
        assert_json_error(api.post(f"/instances/ghost/{operation}"), 404, "No instance with ID 'ghost'")
    assert_json_error(api.post("/instances/ghost/raiseEvent/x", json=1), 404, "ghost")
    assert_json_error(api.post("/instances/ghost/restart"), 404, "ghost")
    assert_json_error(api.delete("/instances/ghost"), 404, "ghost")


def test_wrong_state_operations(api: httpx.Client, patterns_host: HostProcess) -> None:
    instance_id = api.post("/orchestrators/chain", json=["W"]).json()["id"]
    wait_for_status(patterns_host, instance_id)
    assert api.post(f"/instances/{instance_id}/terminate").status_code == 410
    assert api.post(f"/instances/{instance_id}/suspend").status_code == 410
    assert api.post(f"/instances/{instance_id}/raiseEvent/x", json=1).status_code == 410
    assert_json_error(api.post(f"/instances/{instance_id}/rewind"), 410, "only Failed")
    running = api.post("/orchestrators/long_wait").json()["id"]
    wait_for_status(patterns_host, running, ("Running",))
    assert_json_error(api.post(f"/instances/{running}/resume"), 400, "not suspended")
    assert_json_error(api.post(f"/instances/{running}/rewind"), 400, "only Failed")
    assert api.post(f"/instances/{running}/terminate").status_code == 202


def test_status_codes_follow_the_runtime_status(api: httpx.Client, patterns_host: HostProcess) -> None:
    running = api.post("/orchestrators/long_wait").json()["id"]
    wait_for_status(patterns_host, running, ("Running",))
    response = api.get(f"/instances/{running}")
    assert response.status_code == 202 and response.headers["Retry-After"] == "5"
    assert response.json()["customStatus"] == "waiting for 'never'"
    api.post(f"/instances/{running}/terminate")
    assert api.get(f"/instances/{running}").status_code == 200
    failed = api.post("/orchestrators/nondeterministic").json()["id"]
    wait_for_status(patterns_host, failed)
    assert api.get(f"/instances/{failed}").status_code == 200
    assert (
        api.get(f"/instances/{failed}", params={"returnInternalServerErrorOnFailure": "true"}).status_code
        == 500
    )
    without_input = api.get(f"/instances/{failed}", params={"showInput": "false"}).json()
    assert without_input["input"] is None


def test_start_and_wait_returns_the_output(api: httpx.Client) -> None:
    response = api.post(
        "/orchestrators/chain", json=["Wait"], params={"timeout": "10", "pollingInterval": "0.05"}
    )
    assert response.status_code == 200
    assert response.json() == ["Hello Wait!"]


def test_start_and_wait_with_a_non_finite_timeout_is_400_and_starts_nothing(api: httpx.Client) -> None:
    for timeout, interval in (("inf", "1"), ("nan", "1"), ("10", "inf"), ("1e999", "1")):
        instance_id = f"wait-bad-{timeout}-{interval}"
        response = api.post(
            f"/orchestrators/chain/{instance_id}",
            json=["X"],
            params={"timeout": timeout, "pollingInterval": interval},
        )
        assert_json_error(response, 400, "finite")
        assert api.get(f"/instances/{instance_id}").status_code == 404


def test_list_with_filters_and_continuation_tokens(api: httpx.Client, patterns_host: HostProcess) -> None:
    ids = [f"page-{n:02d}" for n in range(5)]
    for instance_id in ids:
        assert api.post(f"/orchestrators/chain/{instance_id}", json=["P"]).status_code == 202
    for instance_id in ids:
        wait_for_status(patterns_host, instance_id)
    seen, token, pages = [], None, 0
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        response = api.get(
            "/instances",
            params={"instanceIdPrefix": "page-", "top": "2", "runtimeStatus": "Completed,Failed"},
            headers=headers,
        )
        assert response.status_code == 200
        seen += [item["instanceId"] for item in response.json()]
        pages += 1
        token = response.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert sorted(seen) == ids and pages == 3
    assert (
        api.get("/instances", params={"instanceIdPrefix": "page-", "runtimeStatus": "Running"}).json() == []
    )
    assert_json_error(api.get("/instances", params={"runtimeStatus": "Sleeping"}), 400, "Sleeping")
    assert_json_error(api.get("/instances", headers={"x-ms-continuation-token": "garbage!"}), 400, "token")


def test_purge_by_filter_requires_created_time_from(api: httpx.Client) -> None:
    assert_json_error(api.delete("/instances"), 400, "createdTimeFrom")
    empty = api.delete(
        "/instances",
        params={"createdTimeFrom": "2000-01-01T00:00:00Z", "createdTimeTo": "2000-01-02T00:00:00Z"},
    )
    assert empty.status_code == 404


def test_oversized_requests_get_413_and_the_host_keeps_serving(api: httpx.Client) -> None:
    big = b'"' + b"x" * (17 * 1024 * 1024) + b'"'
    response = api.post("/orchestrators/chain", content=big, headers={"content-type": "application/json"})
    assert_json_error(response, 413, "exceeds the limit")
    assert api.get("/instances", params={"top": "1"}).status_code == 200


def test_oversized_chunked_requests_get_413_on_both_surfaces(
    api: httpx.Client, patterns_host: HostProcess
) -> None:
    """Without a Content-Length the limit is enforced while reading, for webhooks and HTTP triggers alike."""

    def chunks() -> Iterator[bytes]:
        yield b'"'
        for _ in range(17):
            yield b"x" * (1024 * 1024)
        yield b'"'

    webhook = api.post("/orchestrators/chain", content=chunks(), headers={"content-type": "application/json"})
    assert_json_error(webhook, 413, "too large")
    trigger = httpx.post(
        f"{patterns_host.base_url}/api/start/chain",
        params={"code": patterns_host.function_key},
        content=chunks(),
        timeout=10,
    )
    assert_json_error(trigger, 413, "too large")
    assert api.get("/instances", params={"top": "1"}).status_code == 200


def test_entities_are_reported_as_unsupported(api: httpx.Client) -> None:
    assert_json_error(api.get("/entities/counter/one"), 501, "not supported")


def test_list_page_size_out_of_range_is_400(api: httpx.Client) -> None:
    for top in ("0", "-3", "ten", str(2**63)):
        assert_json_error(api.get("/instances", params={"top": top}), 400, "top")
    assert api.get("/instances", params={"top": str(2**31 - 1)}).status_code == 200


def test_created_time_filters_out_of_range_are_400(api: httpx.Client) -> None:
    # valid ISO-8601 whose UTC instant falls outside year 1..9999
    cases = (("GET", "createdTimeFrom"), ("DELETE", "createdTimeFrom"), ("GET", "createdTimeTo"))
    for moment in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        for method, name in cases:
            response = api.request(method, "/instances", params={name: moment})
            assert_json_error(response, 400, name)


def test_keys_never_reach_the_log(api: httpx.Client, patterns_host: HostProcess) -> None:
    """Requests that log (errors, 4xx, a failing orchestrator, durable-client calls) carry keys in code=,
    x-functions-key and basic auth; the host's log shows none of them."""
    keys = load_or_create_keys(patterns_host.state_dir)
    base = patterns_host.base_url
    httpx.get(f"{base}/api/nothing-here", params={"code": keys.function_key})
    httpx.get(f"{base}/api/admin-only", headers={"x-functions-key": keys.function_key})
    httpx.get(f"{patterns_host.management_url}/instances/x", auth=("durabletask", keys.system_key))
    api.post("/orchestrators/chain", content=b"{", headers={"content-type": "application/json"})
    failed = api.post("/orchestrators/point_output").json()["id"]
    wait_for_status(patterns_host, failed)
    started = httpx.post(f"{base}/api/start/chain", params={"code": keys.function_key}, json=["K"])
    wait_for_status(patterns_host, started.json()["id"])
    log = patterns_host.log_text()
    assert f"instance={failed}" in log  # the log is the one these requests wrote to
    for key in (keys.function_key, keys.master_key, keys.system_key):
        assert key not in log
