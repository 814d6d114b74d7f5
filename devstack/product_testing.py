"""Helpers for tests that drive the function app on a devstack: the product's fast settings, alerts, run
status, and the sentry's API and ring captures."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import httpx

from core.orchestration import TERMINAL_RUNTIME_STATUSES
from devstack.testing import AdminClient, DevstackState, loopback_config, wait_until

APP_SETTINGS = {
    "CAPTURE_TIME_LIMIT_SECONDS": "3",
    "ARM_POLLING_INTERVAL_SECONDS": "0.1",
    "ACTIVITY_RETRY_INTERVAL_SECONDS": "0.5",
    "ACTIVITY_RETRY_ATTEMPTS": "5",
    "OVERRUN_GRACE_SECONDS": "30",
}
RUN_TIMEOUT = 60.0


def product_config(path: Path, *, alert_rules: bool = False,
                   settings: dict[str, str] | None = None) -> Path:
    """The default devstack config on loopback, with the product's fast settings (and `settings`)."""
    loopback_config(path, alert_rules=alert_rules)
    lines = "".join(f'{key} = "{value}"\n' for key, value in {**APP_SETTINGS, **(settings or {})}.items())
    text = path.read_text()
    assert "[app_settings]\n" in text
    path.write_text(text.replace("[app_settings]\n", "[app_settings]\n" + lines, 1))
    return path


def post(state: DevstackState, body: Any) -> httpx.Response:
    """POST an alert payload to the webhook with the function key."""
    return httpx.post(f"{state.function_host}/api/alerts", params={"code": state.function_key}, json=body,
                      timeout=15)


def run_status(state: DevstackState, instance_id: str) -> dict[str, Any] | None:
    """An instance's Durable status (master key), None when unknown."""
    response = httpx.get(f"{state.function_host}/runtime/webhooks/durabletask/instances/{instance_id}",
                         params={"code": state.master_key}, timeout=10)
    return response.json() if response.status_code == 200 else None


def wait_for_run(state: DevstackState, instance_id: str, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
    """The instance's status once it ended."""
    def done() -> dict[str, Any] | None:
        status = run_status(state, instance_id)
        return status if status and status["runtimeStatus"] in TERMINAL_RUNTIME_STATUSES else None

    return wait_until(done, timeout, interval=0.2, message=f"run {instance_id} finished")


def sentry_api(state: DevstackState, method: str, action: str = "", body: Any = None,
               key: str | None = None) -> httpx.Response:
    """Call `/api/sentry[/action]` (the master key unless `key`)."""
    url = f"{state.function_host}/api/sentry" + (f"/{action}" if action else "")
    return httpx.request(method, url, params={"code": key or state.master_key}, json=body, timeout=15)


def ring_captures(admin: AdminClient, vm_id: str, running_only: bool = True) -> list[dict[str, Any]]:
    """The VM's continuous captures (running ones only, unless told otherwise)."""
    return [c for c in admin.captures() if c["target"].lower() == vm_id.lower() and c.get("continuous")
            and (not running_only or c["status"] == "Running")]


class Sink:
    """A loopback TCP server that accepts and drains connections (a burst's destination)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.sent: list[tuple[float, int]] = []  # (time.time() before connecting, the client's port)

    def burst(self, connections: int, size: int = 400) -> None:
        """`connections` connections, each sending `size` bytes, accepted and read."""
        for _ in range(connections):
            started = time.time()
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                self.sent.append((started, conn.getsockname()[1]))
                conn.sendall(b"b" * size)
                accepted, _ = self.sock.accept()
                accepted.recv(65536)
                accepted.close()

    def close(self) -> None:
        """Stop listening."""
        self.sock.close()


def packets_to(pcap: bytes, port: int) -> list[tuple[float, Any]]:
    """(capture time, dpkt TCP segment) of every TCP packet to `port` in a classic pcap."""
    import io

    import dpkt

    found = []
    for when, frame in dpkt.pcap.Reader(io.BytesIO(pcap)):
        ip = dpkt.ethernet.Ethernet(frame).data
        if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP):
            tcp: Any = ip.data  # dpkt makes header fields at run time: a type checker cannot see them
            if tcp.dport == port:
                found.append((when, tcp))
    return found


def incident_blob_urls(state: DevstackState, run_id: str) -> list[str]:
    """Every blob URL under `incidents/<run id>/` of the capture account (managed identity), sorted."""
    import os
    from unittest import mock

    from azure.identity import DefaultAzureCredential
    from azure.storage.blob import ContainerClient

    with mock.patch.dict(os.environ, state.azure_env()):
        container = ContainerClient(state.blob_endpoint.rstrip("/"), "incidents",
                                    credential=DefaultAzureCredential())
        blobs = container.list_blobs(name_starts_with=f"{run_id}/")
        return sorted(f"{container.url}/{b.name}" for b in blobs)


def ring_packets(state: DevstackState, target_id: str, port: int) -> list[tuple[float, Any]]:
    """Every packet to `port` in every ring file of the target (all sessions, as the devstack names them),
    read with the devstack's managed identity, oldest first."""
    import os
    from unittest import mock

    from azure.identity import DefaultAzureCredential
    from azure.storage.blob import ContainerClient

    with mock.patch.dict(os.environ, state.azure_env()):
        container = ContainerClient(state.blob_endpoint.rstrip("/"), "network-watcher-logs",
                                    credential=DefaultAzureCredential())
        found: list[tuple[float, Any]] = []
        for blob in container.list_blobs(name_starts_with=target_id.lower().lstrip("/") + "/"):
            found += packets_to(container.download_blob(blob.name).readall(), port)
    return sorted(found, key=lambda item: item[0])
