"""The devstack config file: the default loads, and bad keys are reported by name."""

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from devstack.config import DEFAULT_CONFIG_PATH, ConfigError, load_config

MINIMAL = """
subscription_id = "00000000-0000-0000-0000-000000000001"
tenant_id = "00000000-0000-0000-0000-0000000000aa"
principal_id = "11111111-1111-1111-1111-111111111111"
capture_storage_account = "caps"
[[storage_accounts]]
name = "caps"
resource_group = "rg"
key = "a2V5"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "devstack.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_default_config_describes_the_demo() -> None:
    config = load_config(None)
    demo = next(vm for vm in config.vms if vm.name == "vm-demo")
    assert demo.netns == "alertcap-vm-demo"
    assert demo.id == (
        f"/subscriptions/{config.subscription_id}/resourceGroups/rg-alertcap-demo"
        "/providers/Microsoft.Compute/virtualMachines/vm-demo"
    )
    assert len({vm.location for vm in config.vms}) == 2
    assert config.scale_sets and config.scale_sets[0].instances == ["vmss-web_0", "vmss-web_1", "vmss-web_3"]
    assert config.capture_account.name == "alertcapcaptures"
    assert config.capture_storage_account.endswith("/storageAccounts/alertcapcaptures")
    assert config.role_assignments[0].principal_id == config.principal_id
    assert config.session_limit_per_region == 10000
    rule = config.alert_rules[0]
    assert (rule.vm, rule.metric, rule.threshold) == ("vm-demo", "TcpSegmentsSent", 100)
    assert config.communication_service is not None
    assert DEFAULT_CONFIG_PATH.name == "devstack.toml"


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.vms == [] and config.ports.arm == 0 and config.capture.speed == 1.0
    assert config.email.sender == "DoNotReply@alertcap.localhost"
    assert config.communication_service is not None and config.communication_service.name == "acs-alertcap"


def test_vm_defaults_and_normalisation(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, MINIMAL + '[[vms]]\nname = "v1"\nresource_group = "rg"\nlocation = "West Europe"\n')
    )
    vm = config.vms[0]
    assert (vm.location, vm.os, vm.interface, vm.netns, vm.agent_installed, vm.power_state) == (
        "westeurope",
        "Linux",
        "lo",
        None,
        True,
        "running",
    )
    assert len(vm.vm_id) == 36


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (
            '[[vms]]\nname = "v1"\nresource_group = "rg"\nlocation = "x"\npower_state = "off"\n',
            "vms[0].power_state",
        ),
        ('[[vms]]\nname = "v1"\nresource_group = "rg"\n', "vms[0].location"),
        ('[[vms]]\nname = "v1"\nresource_group = "rg"\nlocation = "west/europe"\n', "vms[0].location"),
        ('[[vms]]\nname = "v1"\nresource_group = "rg"\nlocation = "x"\ncolour = "red"\n', "vms[0].colour"),
        (
            '[[vms]]\nname = "v1"\nresource_group = "rg"\nlocation = "x"\nagent_installed = "yes"\n',
            "vms[0].agent_installed",
        ),
        ('[[vms]]\nname = "v1"\nresource_group = "rg"\nlocation = "x"\nnetns = "other"\n', "vms[0].netns"),
        ("[ports]\narm = 70000\n", "ports.arm"),
        ("[capture]\nspeed = 0\n", "capture.speed"),
        ('[[role_assignments]]\nrole = "Nope"\n', "role_assignments[0].role"),
        ('[[role_assignments]]\nrole = "Reader"\nprincipal_id = "x"\n', "role_assignments[0].principal_id"),
        (
            '[[alert_rules]]\nname = "r"\nvm = "nope"\nmetric = "TcpSegmentsSent"\nthreshold = 1\n',
            "alert_rules[0].vm",
        ),
        (
            '[[alert_rules]]\nname = "r"\nvm = "nope"\nmetric = "Cpu"\nthreshold = 1\n',
            "alert_rules[0].metric",
        ),
        ("session_limit_per_region = 0\n", "session_limit_per_region"),
        ("surprise = 1\n", "surprise"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, extra: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load_config(write(tmp_path, MINIMAL + extra))


def test_unknown_capture_account_and_bad_guid(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="capture_storage_account"):
        load_config(
            write(
                tmp_path, MINIMAL.replace('capture_storage_account = "caps"', 'capture_storage_account = "x"')
            )
        )
    with pytest.raises(ConfigError, match="subscription_id must be a GUID"):
        load_config(write(tmp_path, MINIMAL.replace("00000000-0000-0000-0000-000000000001", "sub1")))


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(write(tmp_path, "a = ["))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_loopback_config_drops_namespaces_and_alert_rules(tmp_path: Path) -> None:
    from devstack.testing import loopback_config

    config = load_config(loopback_config(tmp_path / "a.toml"))
    assert [vm.netns for vm in config.vms] == [None] * len(config.vms) and config.alert_rules == []
    assert config.vms == [replace(vm, netns=None) for vm in load_config(None).vms]
    assert len(load_config(loopback_config(tmp_path / "b.toml", alert_rules=True)).alert_rules) == 1
