"""Test helpers for the ARM emulator and the capture agent: SDK clients against a running devstack, traffic
on chosen ports, pcap reading. Imported by tests/devstack/test_arm_*.py (and usable by other areas)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import dpkt
import httpx

from devstack.testing import AdminClient, DevstackState, wait_until

ARM_AUDIENCE = "https://management.azure.com"
WATCHER_RG = "NetworkWatcherRG"


@dataclass
class ArmClients:
    """Real SDK clients for one devstack, authenticated with `DefaultAzureCredential` (managed identity)."""

    state: DevstackState
    credential: Any
    network: Any
    compute: Any
    resources: Any

    @classmethod
    def for_state(cls, state: DevstackState, polling_interval: float = 0, **client_kwargs: Any) -> ArmClients:
        """Clients as the product builds them; the environment must already point at the devstack."""
        from azure.identity import DefaultAzureCredential
        from azure.mgmt.compute import ComputeManagementClient
        from azure.mgmt.network import NetworkManagementClient
        from azure.mgmt.resource.resources import ResourceManagementClient

        credential = DefaultAzureCredential()
        common = {"base_url": state.arm_endpoint, "polling_interval": polling_interval, **client_kwargs}
        sub = state.subscription_id
        return cls(
            state=state,
            credential=credential,
            network=NetworkManagementClient(credential, sub, **common),
            compute=ComputeManagementClient(credential, sub, **common),
            resources=ResourceManagementClient(credential, sub, **common),
        )

    def vm_id(self, resource_group: str, name: str, scale_set: bool = False) -> str:
        """The ARM id of a VM (or scale set) in the devstack's subscription."""
        kind = "virtualMachineScaleSets" if scale_set else "virtualMachines"
        sub = self.state.subscription_id
        return (
            f"/subscriptions/{sub}/resourceGroups/{resource_group}/providers/Microsoft.Compute/{kind}/{name}"
        )

    def capture_body(self, target: str, **properties: Any) -> dict[str, Any]:
        """A packet-capture PUT body writing to the devstack's capture account."""
        storage = {"storageId": self.state.capture_storage_account_id}
        return {"properties": {"target": target, "storageLocation": storage, **properties}}

    def create(self, name: str, target: str, region: str = "westeurope", **properties: Any) -> Any:
        """Create a capture and wait for the LRO (returns the final `PacketCaptureResult`)."""
        poller = self.network.packet_captures.begin_create(
            WATCHER_RG, f"NetworkWatcher_{region}", name, self.capture_body(target, **properties)
        )
        return poller.result()

    def status(self, name: str, region: str = "westeurope") -> Any:
        """queryStatus of a capture."""
        return self.network.packet_captures.begin_get_status(
            WATCHER_RG, f"NetworkWatcher_{region}", name
        ).result()

    def wait_stopped(self, name: str, region: str = "westeurope", timeout: float = 15) -> Any:
        """Poll queryStatus until the capture is Stopped or Error."""
        return wait_until(
            lambda: (s := self.status(name, region)).packet_capture_status in ("Stopped", "Error") and s,
            timeout,
            interval=0.1,
            message=f"capture {name} stopped",
        )

    def download(self, blob_url: str) -> bytes:
        """The capture blob, read with azure-storage-blob and the managed identity."""
        from azure.storage.blob import BlobClient

        return BlobClient.from_blob_url(blob_url, credential=self.credential).download_blob().readall()


class Listener:
    """A TCP server on one port that accepts (the kernel completes handshakes) and is never read."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def send(self, payload: bytes = b"x" * 200, times: int = 1) -> None:
        """Open a connection to this port and send `payload`, `times` times."""
        for _ in range(times):
            with socket.create_connection((self.host, self.port), timeout=2) as conn:
                conn.sendall(payload)

    def close(self) -> None:
        """Stop listening."""
        self.sock.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tcp_ports(pcap: bytes) -> set[int]:
    """Every TCP port in a classic pcap (parsing it with dpkt also proves the file is valid)."""
    import io

    ports: set[int] = set()
    for _, frame in dpkt.pcap.Reader(io.BytesIO(pcap)):
        payload = getattr(dpkt.ethernet.Ethernet(frame).data, "data", None)
        if isinstance(payload, dpkt.tcp.TCP):
            tcp: Any = payload  # dpkt makes header fields at run time: a type checker cannot see them
            ports |= {tcp.sport, tcp.dport}
    return ports


def raw_arm(state: DevstackState, token: str | None) -> httpx.Client:
    """An httpx client for wire-level checks against the ARM emulator (with a bearer token if given)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=state.arm_endpoint, verify=state.ssl_context(), headers=headers, timeout=10)


def app_token(admin: AdminClient, principal_id: str | None = None, lifetime_seconds: int = 3600) -> str:
    """A token for the app's identity (or another principal) with the ARM audience."""
    return admin.issue_token(principal_id or admin.state.principal_id, ARM_AUDIENCE, lifetime_seconds)
