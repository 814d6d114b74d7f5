"""Issue 9 on the host: no purge of a run that is still going, strict JSON, and truncated bodies answered."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from devstack.host.testing import HostProcess, wait_for_status


@pytest.fixture
def api(patterns_host: HostProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=patterns_host.management_url, params={"code": patterns_host.master_key}, timeout=10
    ) as client:
        yield client


def test_purging_a_running_instance_is_412_as_the_extension_answers(
        api: httpx.Client, patterns_host: HostProcess) -> None:
    """Defect 2: DELETE of a Running instance answered 200 and the run was silently lost."""
    running = api.post("/orchestrators/long_wait").json()["id"]
    wait_for_status(patterns_host, running, ("Running",))
    refused = api.delete(f"/instances/{running}")
    assert refused.status_code == 412, refused.text
    assert refused.json() == (f"Only orchestrations in a terminal state can be purged, but the orchestration "
                              f"with instance ID {running} has status Running")
    assert api.get(f"/instances/{running}").json()["runtimeStatus"] == "Running"
    assert api.post(f"/instances/{running}/terminate").status_code == 202
    wait_for_status(patterns_host, running, ("Terminated",))
    assert api.delete(f"/instances/{running}").json() == {"instancesDeleted": 1}


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_standard_json_literals_to_start_are_400_and_start_nothing(
        api: httpx.Client, literal: bytes) -> None:
    before = len(api.get("/instances", params={"top": "1000"}).json())
    response = api.post("/orchestrators/chain", content=b"[" + literal + b"]",
                        headers={"content-type": "application/json"})
    assert response.status_code == 400 and literal.decode() in response.json()["ExceptionMessage"]
    assert len(api.get("/instances", params={"top": "1000"}).json()) == before


def test_a_body_shorter_than_its_content_length_gets_400_within_five_seconds(
        api: httpx.Client, patterns_host: HostProcess) -> None:
    """Defect 6: the host held such a connection for 15 s or more without an answer."""
    url = urlsplit(patterns_host.base_url)
    request = (f"POST /runtime/webhooks/durabletask/orchestrators/chain?code={patterns_host.master_key} "
               f"HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
               "Content-Length: 100\r\n\r\n[\"short\"]").encode()
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        answer = sock.recv(4096).decode()
    elapsed = time.monotonic() - started
    assert answer.startswith("HTTP/1.1 400"), answer
    assert "Content-Length" in answer and elapsed <= 6.0, elapsed
    assert api.get("/instances", params={"top": "1"}).status_code == 200  # still serving
