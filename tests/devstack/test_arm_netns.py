"""A devstack of its own: a VM in a network namespace (capture on its veth, inside the namespace) and a
region session limit of 2. Both go through `python -m devstack up` and the real SDKs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError

from devstack.arm.testing import WATCHER_RG, ArmClients, Listener, tcp_ports
from devstack.capture import netns
from devstack.config import DEFAULT_CONFIG_PATH
from devstack.testing import AZURE_ENV_PREFIXES, AdminClient, DevstackState, run_devstack

NAMESPACE = "alertcap-armtest"
pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def ns_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackState]:
    state_dir = tmp_path_factory.mktemp("devstack-netns")
    text = DEFAULT_CONFIG_PATH.read_text()
    text = text.replace('netns = "alertcap-vm-demo"', f'netns = "{NAMESPACE}"')
    text = text.replace("session_limit_per_region = 10000", "session_limit_per_region = 2")
    assert NAMESPACE in text and "session_limit_per_region = 2" in text
    config = state_dir / "devstack.toml"
    config.write_text(text)
    with run_devstack(state_dir, config_path=config, host=False) as state:
        yield state
    assert not Path(f"/run/netns/{NAMESPACE}").exists(), "namespace left behind"


@pytest.fixture
def arm(ns_stack: DevstackState, monkeypatch: pytest.MonkeyPatch) -> ArmClients:
    with AdminClient(ns_stack) as admin:
        admin.reset()
    for name in list(os.environ):
        if name.startswith(AZURE_ENV_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in ns_stack.azure_env().items():
        monkeypatch.setenv(name, value)
    return ArmClients.for_state(ns_stack)


def test_capture_runs_on_the_namespace_veth(arm):
    network = netns.networks_for([NAMESPACE])[NAMESPACE]
    assert network.exists()
    vm = arm.vm_id("rg-alertcap-demo", "vm-demo")
    with Listener(network.outer_ip) as wanted, Listener(network.outer_ip) as other:
        filters = [{"protocol": "TCP", "localIPAddress": network.inner_ip, "remotePort": str(wanted.port)}]
        created = arm.create("pc-ns", vm, filters=filters)
        client = (
            "import socket\n"
            f"for port in ({wanted.port}, {other.port}):\n"
            f"    socket.create_connection(('{network.outer_ip}', port), timeout=2).sendall(b'n' * 300)\n"
        )
        subprocess.run(network.exec_argv([sys.executable, "-c", client]), check=True, timeout=10)
        arm.network.packet_captures.begin_stop(WATCHER_RG, "NetworkWatcher_westeurope", "pc-ns").result()
    assert arm.status("pc-ns").stop_reason == "Manual"
    ports = tcp_ports(arm.download(created.storage_location.storage_path))
    assert wanted.port in ports and other.port not in ports


def test_region_session_limit(arm):
    vm = arm.vm_id("rg-alertcap-demo", "vm-web-01")
    arm.create("pc-1", vm)
    arm.create("pc-2", vm)
    with pytest.raises(HttpResponseError) as err:
        arm.create("pc-3", vm)
    assert (err.value.status_code, err.value.error.code) == (400, "PacketCaptureCountLimitReached")
    assert "2 packet capture sessions" in err.value.error.message
    arm.create("pc-east", arm.vm_id("rg-alertcap-east", "vmss-web", scale_set=True), region="eastus")
    arm.network.packet_captures.begin_stop(WATCHER_RG, "NetworkWatcher_westeurope", "pc-1").result()
    assert arm.create("pc-3", vm).provisioning_state == "Succeeded"  # stopped sessions do not count
