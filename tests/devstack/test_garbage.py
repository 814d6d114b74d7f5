"""Garbage to every route of the identity, ACS and admin servers: clean 4xx answers in the ARM error shape
(never a 500 or a traceback), and the servers keep serving."""

import base64
import json
import os

import httpx
import pytest

from devstack.testing import AdminClient, DevstackState

GARBAGE_BODIES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b"[1, 2, 3]",
    b'"just a string"',
    b'{"a": ' * 200 + b"1" + b"}" * 200,
    b"[" * 100_000,  # nested deeper than the JSON parser's recursion limit
    os.urandom(512),
    b"\xff\xfe\x00garbage",
    b'{"senderAddress": 5, "content": [], "recipients": "x"}',
    b'{"id": {"nested": true}, "location": 7}',
    b'{"status": "500", "count": -1}',
    b'{"speed": -5, "advance": "later"}',
    b'{"principal_id": "", "role": 3, "scope": "not-an-id"}',
]
AUTH_HEADERS = [
    {},
    {
        "Authorization": b"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=\xe9\xff",
        "x-ms-date": b"Tue, 01 Jan 2030 00:00:00 GMT\xe9",
        "x-ms-content-sha256": b"\xe9",
    },
    {"Authorization": b"Bearer \xe9\xe9.\xff.\x7f"},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer " + "A" * 5000},
    {"Authorization": "Bearer a.b.c"},
    {"Authorization": "HMAC-SHA256 garbage"},
    {
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=AAAA",
        "x-ms-date": "yesterday",
        "x-ms-content-sha256": "zzz",
    },
    {
        "Authorization": "Basic " + base64.b64encode(b"u:p").decode(),
        "X-IDENTITY-HEADER": "\u00e9t\u00e9".encode("latin-1"),
    },
]


def routes(state: DevstackState) -> list[tuple[str, str]]:
    admin = state.admin_url
    return [
        ("GET", state.identity_endpoint + "?api-version=2019-08-01&resource=%ZZ%00"),
        ("POST", state.identity_endpoint),
        ("POST", state.acs_endpoint + "/emails:send?api-version=2025-09-01"),
        ("POST", state.acs_endpoint + "/emails:send"),
        ("GET", state.acs_endpoint + "/emails/operations/%00%ff?api-version=2025-09-01"),
        ("PUT", state.acs_endpoint + "/emails/operations/x"),
        ("GET", state.acs_endpoint + "/nope/../../etc/passwd"),
        ("POST", admin + "/reset"),
        ("GET", admin + "/captures"),
        ("GET", admin + "/emails"),
        ("GET", admin + "/emails/does-not-exist"),
        ("POST", admin + "/emails/outcomes"),
        ("DELETE", admin + "/emails/outcomes"),
        ("GET", admin + "/emails/does-not-exist/eml"),
        ("POST", admin + "/vms"),
        ("POST", admin + "/faults"),
        ("DELETE", admin + "/faults?service=%ff"),
        ("POST", admin + "/clock"),
        ("POST", admin + "/role-assignments"),
        ("DELETE", admin + "/role-assignments"),
        ("POST", admin + "/tokens"),
        ("PATCH", admin + "/reset"),
        ("GET", admin + "/../../x"),
    ]


def test_garbage_gets_clean_client_errors_and_servers_keep_serving(devstack_state: DevstackState) -> None:
    failures = []
    with httpx.Client(verify=devstack_state.ssl_context(), timeout=10) as http:
        for method, url in routes(devstack_state):
            for body in GARBAGE_BODIES:
                for headers in AUTH_HEADERS:
                    response = http.request(method, url, content=body, headers=headers)
                    if response.status_code >= 500:
                        failures.append(f"{method} {url} {body[:30]!r} {headers} -> {response.status_code}")
                    elif response.status_code >= 400 and response.headers.get("content-type", "").startswith(
                        "application/json"
                    ):
                        payload = response.json()
                        assert "Traceback" not in response.text
                        assert "error" in payload or "message" in payload, response.text
        assert not failures, "\n".join(failures[:20])
        assert http.get(devstack_state.admin_url + "/health").json()["ok"] is True
        ident = http.get(
            devstack_state.identity_endpoint,
            params={"api-version": "2019-08-01", "resource": "https://management.azure.com"},
            headers={"X-IDENTITY-HEADER": devstack_state.identity_header},
        )
        assert ident.status_code == 200


def test_oversized_bodies_get_413(devstack_state: DevstackState) -> None:
    big = b"x" * (11 * 1024 * 1024)
    with httpx.Client(verify=devstack_state.ssl_context(), timeout=30) as http:
        acs = http.post(devstack_state.acs_endpoint + "/emails:send?api-version=2025-09-01", content=big)
        admin = http.post(devstack_state.admin_url + "/faults", content=big)
    assert acs.status_code == 413 and admin.status_code == 413


@pytest.mark.parametrize("path", ["/faults", "/clock", "/tokens", "/role-assignments"])
def test_admin_validation_names_the_problem(devstack_state: DevstackState, path: str) -> None:
    bodies = {
        "/faults": ({"status": 200}, "status must be between"),
        "/clock": ({"speed": 0}, "'speed' must be > 0"),
        "/tokens": ({"principal_id": "p"}, "'audience' are required"),
        "/role-assignments": ({"principal_id": "p", "role": "Nope", "scope": "/"}, "Unknown role"),
    }
    body, fragment = bodies[path]
    with httpx.Client(verify=devstack_state.ssl_context()) as http:
        response = http.post(devstack_state.admin_url + path, json=body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def test_large_valid_bodies_are_read_whole(devstack_state: DevstackState) -> None:
    """A body larger than one TLS record (16 KB) arrives in several chunks: every server reads all of it."""
    from devstack.arm.testing import app_token, raw_arm

    padding = " " * (256 * 1024)  # JSON allows any whitespace: valid, and far past the first chunk
    admin = AdminClient(devstack_state)
    with admin, httpx.Client(verify=devstack_state.ssl_context(), timeout=10) as http:
        token = admin.issue_token(devstack_state.principal_id, "https://communication.azure.com")
        email = {
            "senderAddress": "DoNotReply@alertcap.localhost",
            "recipients": {"to": [{"address": "oncall@alertcap.localhost"}]},
            "content": {"subject": "Large", "html": "<p>" + "x" * (200 * 1024) + "</p>"},
        }
        sent = http.post(
            devstack_state.acs_endpoint + "/emails:send?api-version=2025-09-01",
            content=json.dumps(email) + padding,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert sent.status_code == 202, sent.text
        fault = http.post(devstack_state.admin_url + "/faults", content='{"status": 503}' + padding)
        assert fault.status_code < 300, fault.text
        admin.clear_faults()
        vm = f"/subscriptions/{devstack_state.subscription_id}/resourceGroups/rg-alertcap-demo/providers"
        admin.add_role_assignment(devstack_state.principal_id, "alertcap network watcher agent installer",
                                  f"/subscriptions/{devstack_state.subscription_id}")  # extensions/write
        with raw_arm(devstack_state, app_token(admin)) as arm:
            extension = arm.put(
                vm + "/Microsoft.Compute/virtualMachines/vm-web-01/extensions/big",
                params={"api-version": "2024-07-01"},
                content='{"location": "westeurope", "properties": {}}' + padding,
            )
        # parsed whole: the answer is about the body's content, not about its JSON
        assert extension.status_code == 400, extension.text
        assert extension.json()["error"]["message"] == "properties.publisher is required.", extension.text
        admin.reset()
