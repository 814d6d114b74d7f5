"""RBAC evaluation: wildcards, NotActions, case-insensitivity and scope prefixes, as ARM evaluates them."""

from devstack.common.rbac import Rbac, action_matches, scope_covers
from devstack.config import DEFAULT_CONFIG_PATH, RoleAssignment, RoleDefinitionConfig, load_config

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
PC_WRITE = "Microsoft.Network/networkWatchers/packetCaptures/write"


def test_wildcards_match_any_run_of_characters_in_any_case() -> None:
    assert action_matches("*", PC_WRITE)
    assert action_matches("Microsoft.Network/*", PC_WRITE)
    assert action_matches("microsoft.network/networkwatchers/*/WRITE", PC_WRITE)
    assert action_matches("Microsoft.Authorization/*/read", "Microsoft.Authorization/roleAssignments/read")
    assert not action_matches("Microsoft.Network/*/read", PC_WRITE)
    assert not action_matches("Microsoft.Net", PC_WRITE)
    assert not action_matches("Microsoft.Network.*", PC_WRITE)  # '.' is literal


def test_scope_is_a_case_insensitive_prefix_on_whole_segments() -> None:
    vm = f"{SUB}/resourceGroups/RG1/providers/Microsoft.Compute/virtualMachines/vm1"
    assert scope_covers(SUB, vm)
    assert scope_covers(f"{SUB}/resourcegroups/rg1", vm)
    assert scope_covers(vm.upper(), vm)
    assert scope_covers("/", vm)
    assert not scope_covers(f"{SUB}/resourceGroups/RG", vm)  # RG is not RG1
    assert not scope_covers(vm, f"{SUB}/resourceGroups/RG1")


def test_builtin_roles() -> None:
    rbac = Rbac.from_config(
        [
            RoleAssignment("p-owner", "Owner", SUB),
            RoleAssignment("p-contrib", "Contributor", SUB),
            RoleAssignment("p-reader", "reader", SUB),
            RoleAssignment("p-net", "Network Contributor", f"{SUB}/resourceGroups/NetworkWatcherRG"),
        ],
        [],
    )
    nw_pc = f"{SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/nw"
    nw_pc += "/packetCaptures/c"
    assert rbac.check("p-owner", "Microsoft.Authorization/roleAssignments/write", SUB)
    assert rbac.check("p-contrib", PC_WRITE, nw_pc)
    assert not rbac.check("p-contrib", "Microsoft.Authorization/roleAssignments/write", SUB)
    assert rbac.check("p-reader", "Microsoft.Network/networkWatchers/read", nw_pc)
    assert not rbac.check("p-reader", PC_WRITE, nw_pc)
    assert rbac.check("p-net", PC_WRITE, nw_pc)
    assert not rbac.check("p-net", PC_WRITE, f"{SUB}/resourceGroups/other/providers/x/y/z")
    assert not rbac.check("p-net", "Microsoft.Compute/virtualMachines/read", nw_pc)
    assert not rbac.check("stranger", "Microsoft.Network/networkWatchers/read", nw_pc)


def test_custom_role_with_not_actions_and_data_actions() -> None:
    role = RoleDefinitionConfig(
        name="Capture Reader",
        actions=["Microsoft.Network/networkWatchers/*"],
        not_actions=["Microsoft.Network/networkWatchers/packetCaptures/delete"],
        data_actions=["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    )
    rbac = Rbac.from_config([RoleAssignment("p", "capture reader", SUB)], [role])
    assert rbac.check("P", PC_WRITE, SUB + "/x")
    assert not rbac.check("p", "Microsoft.Network/networkWatchers/packetCaptures/delete", SUB + "/x")
    blob_read = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
    assert rbac.check("p", blob_read, SUB, data_action=True)
    assert not rbac.check("p", blob_read, SUB)  # data actions do not grant control-plane actions


def test_default_config_grants_the_app_exactly_what_infra_deploys() -> None:
    config = load_config(None)
    rbac = Rbac.from_config(config.role_assignments, config.custom_roles)
    vm = config.vms[0].id
    region_ops = f"{SUB}/providers/Microsoft.Network/locations/westeurope/operations/x"
    for action, scope in (
        (PC_WRITE, vm),
        ("Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action", vm),
        ("Microsoft.Network/networkWatchers/read", vm),
        ("Microsoft.Compute/virtualMachines/read", vm),
        ("Microsoft.Compute/virtualMachines/instanceView/read", vm),
        ("Microsoft.Network/locations/operations/read", region_ops),
        ("Microsoft.Storage/storageAccounts/listKeys/action", config.capture_storage_account),
        ("Microsoft.Communication/EmailServices/write", config.communication_service.id),
    ):
        assert rbac.check(config.principal_id, action, scope), action
    # agentAutoInstall is off by default: no extension write (the agent installer role is not assigned)
    assert not rbac.check(config.principal_id, "Microsoft.Compute/virtualMachines/extensions/write", vm)
    # key listing only on the capture account, not on other accounts of the subscription
    other = f"{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/other"
    assert not rbac.check(config.principal_id, "Microsoft.Storage/storageAccounts/listKeys/action", other)
    assert not rbac.check(config.principal_id, "Microsoft.Compute/virtualMachines/delete", vm)
    assert not rbac.check(config.principal_id, "Microsoft.Network/virtualNetworks/write", vm)
    assert not rbac.check(
        "22222222-2222-2222-2222-222222222222", "Microsoft.Network/networkWatchers/read", vm
    )


def test_agent_auto_install_setting_assigns_the_installer_role(tmp_path) -> None:
    setting = '[app_settings]\nAGENT_AUTO_INSTALL = "true"\n'
    text = DEFAULT_CONFIG_PATH.read_text().replace("[app_settings]\n", setting)
    path = tmp_path / "devstack.toml"
    path.write_text(text)
    config = load_config(path)
    rbac = Rbac.from_config(config.role_assignments, config.custom_roles)
    write = "Microsoft.Compute/virtualMachines/extensions/write"
    assert rbac.check(config.principal_id, write, config.vms[0].id)
