"""The ARM emulator's state and rules: machines, network watchers, packet captures, async operations.

All decisions live here (moto's `models.py`); `responses.py` only parses requests and serialises results.
Every failure is a typed error from `exceptions.py`, or an ASSUMED error from `AssumedErrors`.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from devstack.arm.asyncops import AsyncOperation, AsyncOperations
from devstack.arm.compute import (
    Extension,
    Machine,
    extension_from_body,
    instance_ids,
    machine_from_config,
    machine_from_spec,
    scoped_instances,
)
from devstack.arm.exceptions import (
    AssumedErrors,
    InvalidParameter,
    InvalidResourceGroupLocation,
    NotFound,
    ResourceGroupNotFound,
    ResourceNotFound,
    SubscriptionNotFound,
)
from devstack.arm.network import (
    CAPTURE_CONTAINER,
    CAPTURE_NAME_RE,
    CAPTURE_TYPE,
    RESOURCE_GROUP_RE,
    WATCHER_RG,
    WATCHER_TYPE,
    NetworkWatcher,
    PacketCapture,
    ResourceGroup,
)
from devstack.arm.state import ArmState
from devstack.arm.store import ArmStore
from devstack.arm.validation import CaptureParameters, parse_capture_body
from devstack.capture.agent import STOP_MANUAL, CaptureAgent, Uploader
from devstack.common.persist import Autosaver
from devstack.config import region_name


def _body_location(body: Any) -> str:
    """The `location` of a PUT body as a region name; 400 when it is missing or not a region."""
    location = body.get("location") if isinstance(body, dict) else None
    try:
        return region_name(location)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"location must be an Azure region, got {location!r}.", "location") from exc


class SharedKeyNotPermitted(RuntimeError):
    """The capture account refuses the SAS Network Watcher writes with (allowSharedKeyAccess is false)."""


class ArmBackend:
    """All emulated ARM state of one devstack, kept in `self.state` and persisted by `self.store`."""

    def __init__(self, ctx: Any, upload: Uploader | None = None) -> None:
        """Starts from the configured machines, then what `<state dir>/arm/state.json` holds (if any);
        PersistedStateError when that file is damaged."""
        self.ctx = ctx
        self.errors = AssumedErrors()
        self.state = ArmState()
        self.operations = AsyncOperations(self.state.operations)
        delete = getattr(ctx, "delete_blob", None)  # ring files beyond fileCount
        self._upload = upload or ctx.upload_blob
        self.agent = CaptureAgent(ctx.clock, self._upload_capture, delete=delete)
        self.capture_dir = Path(ctx.state_dir) / "captures"
        self.session_limit = ctx.config.session_limit_per_region
        self.store = ArmStore(Path(ctx.state_dir))
        self.autosave = Autosaver(lambda: self.store.save(self.state), busy=self._busy)
        self._load_config_machines()
        saved = self.store.load()
        if saved is not None:
            self.restore(saved)

    @property
    def machines(self) -> dict[str, Machine]:
        """VMs and scale sets by lower-case id."""
        return self.state.machines

    @property
    def captures(self) -> dict[str, PacketCapture]:
        """Packet captures by lower-case id, oldest first."""
        return self.state.captures

    @property
    def watcherless(self) -> set[tuple[str, str]]:
        """(sub, region) whose default watcher was opted out."""
        return self.state.watcherless

    @property
    def created_watchers(self) -> set[tuple[str, str]]:
        """(sub, region) whose watcher was created through a PUT."""
        return self.state.created_watchers

    @property
    def created_groups(self) -> dict[tuple[str, str], ResourceGroup]:
        """(sub, lower-case name) -> a resource group created through a PUT."""
        return self.state.created_groups

    # -- persistence -------------------------------------------------------------------------------

    def restore(self, saved: ArmState) -> None:
        """Continue from a saved state. Machines of the config keep their configured properties and get
        the extensions they had (installed at run time); other saved machines come back as they were.
        Work the devstack was doing when it went down is settled: running captures end in `Error` with
        `AgentStopped`, unfinished operations are `Canceled` (quick poll-driven ones complete)."""
        configured = dict(self.state.machines)
        self.state = saved
        for key, machine in configured.items():
            kept = saved.machines.get(key)
            if kept is not None:
                machine.extensions = kept.extensions
            saved.machines[key] = machine
        for capture in saved.captures.values():
            capture.machine = saved.machines.get(capture.machine.id.lower(), capture.machine)
            if capture.active:
                capture.agent_stopped()
        self.operations = AsyncOperations(saved.operations)
        for op in saved.operations.values():
            op.interrupt()
        for machine in saved.machines.values():
            for extension in machine.extensions.values():
                if extension.provisioning_state in ("Creating", "Updating"):
                    extension.provisioning_state = "Succeeded"

    def changed(self) -> None:
        """Something may have changed (a request was served): save soon."""
        self.autosave.touch()

    def _busy(self) -> bool:
        return self.operations.busy() or any(c.active for c in self.captures.values())

    # -- machines ----------------------------------------------------------------------------------

    def _load_config_machines(self) -> None:
        self.machines.clear()
        for vm in self.ctx.config.vms:
            self._put_machine(machine_from_config(vm, "vm"))
        for vmss in self.ctx.config.scale_sets:
            self._put_machine(machine_from_config(vmss, "vmss"))

    def _put_machine(self, machine: Machine) -> Machine:
        self.machines[machine.id.lower()] = machine
        return machine

    def add_machine(self, spec: Any) -> Machine:
        """Add (or replace) a VM or scale set from the admin API's body; ValueError on bad input.

        `"networkWatcher": false` leaves the machine's region without a Network Watcher (an organisation that
        opted out of the automatic one), until one is created through ARM.
        """
        with_watcher = spec.pop("networkWatcher", True) if isinstance(spec, dict) else True
        if not isinstance(with_watcher, bool):
            raise ValueError(f"networkWatcher must be true or false, got {with_watcher!r}")
        machine = self._put_machine(machine_from_spec(spec))
        if not with_watcher:
            self.watcherless.add((machine.subscription_id.lower(), machine.location))
        return machine

    def machine(self, sub: str, rg: str, kind: str, name: str) -> Machine:
        """A VM (`kind` "vm") or scale set ("vmss"); 404 in ARM's words otherwise."""
        self.check_group(sub, rg)
        provider = "virtualMachines" if kind == "vm" else "virtualMachineScaleSets"
        machine = self.machines.get(
            f"/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/{provider}/{name}".lower()
        )
        if machine is None:
            raise ResourceNotFound(f"Microsoft.Compute/{provider}", name, rg)
        return machine

    def extension(self, machine: Machine, name: str) -> Extension:
        """One extension of a machine; 404 otherwise."""
        extension = machine.extensions.get(name.lower())
        if extension is None:
            raise ResourceNotFound(
                "Microsoft.Compute/virtualMachines/extensions",
                f"{machine.name}/{name}",
                machine.resource_group,
            )
        return extension

    def put_extension(self, machine: Machine, name: str, body: Any) -> tuple[Extension, AsyncOperation, bool]:
        """Create or update an extension (an LRO: `Creating`, then `Succeeded` after one status poll)."""
        created = name.lower() not in machine.extensions
        extension = extension_from_body(name, body, created)
        machine.extensions[name.lower()] = extension
        if machine.kind == "vmss":  # a scale set's extension is in its model: instances lag (Manual policy)
            machine.outdated.update(instance_ids(machine))
        op = self.operations.start(machine.subscription_id, "Microsoft.Compute", machine.location, polls=1)

        def provisioned(_: AsyncOperation) -> None:
            extension.provisioning_state = "Succeeded"

        op.on_done = provisioned
        return extension, op, created

    def update_instances(self, machine: Machine, body: Any) -> AsyncOperation:
        """`manualupgrade`: bring the listed instances to the latest model (an LRO; 400 for an unknown id)."""
        ids = body.get("instanceIds") if isinstance(body, dict) else None
        known = instance_ids(machine)
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise InvalidParameter("instanceIds must be a non-empty list of instance ids.", "instanceIds")
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InvalidParameter(
                f"The instance ids {', '.join(unknown)} are not instances of scale set '{machine.name}'.",
                "instanceIds",
            )
        op = self.operations.start(machine.subscription_id, "Microsoft.Compute", machine.location, polls=1)

        def upgraded(_: AsyncOperation) -> None:
            machine.outdated.difference_update(ids)

        op.on_done = upgraded
        return op

    # -- resource groups and subscriptions ---------------------------------------------------------

    def subscriptions(self) -> set[str]:
        """Every subscription with emulated resources (plus the configured one)."""
        return {
            self.ctx.config.subscription_id.lower(),
            *(m.subscription_id.lower() for m in self.machines.values()),
        }

    def resource_groups(self, sub: str) -> set[str]:
        """Lower-case names of the resource groups that hold something in `sub`."""
        groups = {
            m.resource_group.lower()
            for m in self.machines.values()
            if m.subscription_id.lower() == sub.lower()
        }
        if self._watcher_regions(sub):
            groups.add(WATCHER_RG.lower())
        groups.update(name for s, name in self.created_groups if s == sub.lower())
        for account in self.ctx.config.storage_accounts:
            if account.id.lower().startswith(f"/subscriptions/{sub.lower()}/"):
                groups.add(account.id.split("/")[4].lower())
        return groups

    def check_subscription(self, sub: str) -> None:
        """404 SubscriptionNotFound unless something lives in `sub`."""
        if sub.lower() not in self.subscriptions():
            raise SubscriptionNotFound(sub)

    def check_group(self, sub: str, rg: str) -> None:
        """404 (subscription or resource group) unless `rg` holds something in `sub`."""
        self.check_subscription(sub)
        if rg.lower() not in self.resource_groups(sub):
            raise ResourceGroupNotFound(rg)

    # -- network watchers --------------------------------------------------------------------------

    def watchers(self, sub: str, rg: str | None = None) -> list[NetworkWatcher]:
        """The watchers of `sub` (one per region with machines), optionally in one resource group."""
        if rg is None:
            self.check_subscription(sub)
        else:
            self.check_group(sub, rg)
        regions = sorted(self._watcher_regions(sub))
        canonical = next((s for s in self.subscriptions() if s == sub.lower()), sub)
        found = [NetworkWatcher(canonical, region) for region in regions]
        return [w for w in found if rg is None or rg.lower() == WATCHER_RG.lower()]

    def _watcher_regions(self, sub: str) -> set[str]:
        """Regions of `sub` with a watcher: those with machines (Azure enables one by default) unless opted
        out, and those where one was created."""
        key = sub.lower()
        default = {m.location for m in self.machines.values() if m.subscription_id.lower() == key}
        return {r for r in default if (key, r) not in self.watcherless} | {
            r for s, r in self.created_watchers if s == key
        }

    def put_watcher(self, sub: str, rg: str, name: str, body: Any) -> tuple[NetworkWatcher, bool]:
        """Create (201) or update (200) a region's watcher; the resource group must exist (404 otherwise).

        Azure allows one watcher per region and subscription; the emulator serves the default name and group
        (`NetworkWatcher_<region>` in `NetworkWatcherRG`), which is what the portal and the app create.
        """
        self.check_group(sub, rg)
        location = _body_location(body)
        watcher = NetworkWatcher(sub.lower(), location)
        if name.lower() != watcher.name.lower() or rg.lower() != WATCHER_RG.lower():
            raise InvalidParameter(
                f"The devstack serves one watcher per region named '{watcher.name}' in '{WATCHER_RG}'; "
                f"got '{name}' in '{rg}'.",
                "name",
            )
        created = location not in self._watcher_regions(sub)
        self.created_watchers.add((sub.lower(), location))
        return watcher, created

    def resource_group(self, sub: str, name: str) -> ResourceGroup:
        """A resource group; 404 ResourceGroupNotFound when it holds nothing and was not created."""
        self.check_group(sub, name)
        made = self.created_groups.get((sub.lower(), name.lower()))
        if made is not None:
            return made
        locations = [m.location for m in self.machines.values() if m.resource_group.lower() == name.lower()]
        return ResourceGroup(sub.lower(), name, (locations or sorted(self._watcher_regions(sub)) or [""])[0])

    def put_resource_group(self, sub: str, name: str, body: Any) -> tuple[ResourceGroup, bool]:
        """Create (201) or update (200) a resource group; its location cannot change (409, as ARM says)."""
        self.check_subscription(sub)
        location = _body_location(body)
        if not RESOURCE_GROUP_RE.match(name) or name.endswith("."):
            raise InvalidParameter(f"Resource group name '{name}' is invalid.", "resourceGroupName")
        existing = self.resource_group(sub, name) if name.lower() in self.resource_groups(sub) else None
        if existing is not None and existing.location and existing.location != location:
            raise InvalidResourceGroupLocation(name, existing.location, location)
        group = existing or ResourceGroup(sub.lower(), name, location)
        self.created_groups[(sub.lower(), name.lower())] = group
        return group, existing is None

    def watcher(self, sub: str, rg: str, name: str) -> NetworkWatcher:
        """One watcher; 404 otherwise."""
        for watcher in self.watchers(sub, rg):
            if watcher.name.lower() == name.lower():
                return watcher
        raise ResourceNotFound(WATCHER_TYPE, name, rg)

    # -- packet captures ---------------------------------------------------------------------------

    def capture(self, sub: str, rg: str, watcher_name: str, name: str) -> PacketCapture:
        """One capture; 404 otherwise."""
        watcher = self.watcher(sub, rg, watcher_name)
        capture = self.captures.get(f"{watcher.id}/packetCaptures/{name}".lower())
        if capture is None:
            raise ResourceNotFound(CAPTURE_TYPE, f"{watcher.name}/{name}", rg)
        return capture

    def list_captures(self, sub: str, rg: str, watcher_name: str) -> list[PacketCapture]:
        """The captures of one watcher, oldest first."""
        watcher = self.watcher(sub, rg, watcher_name)
        prefix = f"{watcher.id}/packetCaptures/".lower()
        return [c for key, c in self.captures.items() if key.startswith(prefix)]

    def create_capture(
        self, sub: str, rg: str, watcher_name: str, name: str, body: Any
    ) -> tuple[PacketCapture, AsyncOperation]:
        """Validate and start a capture: the resource (provisioning `Updating`) and its async operation."""
        watcher = self.watcher(sub, rg, watcher_name)
        if not CAPTURE_NAME_RE.match(name):
            raise InvalidParameter(
                f"The packet capture name '{name}' is invalid (1-80 letters, digits, '_', '.', '-').", "name"
            )
        params = parse_capture_body(body)
        machine = self._capture_target(watcher, params)
        instances = scoped_instances(machine, params.scope) if machine.kind == "vmss" else []
        lagging = [n for i, n in enumerate(machine.instances) if n in instances
                   and instance_ids(machine)[i] in machine.outdated]
        if lagging:
            raise self.errors.error(
                "agent_missing",
                f"The Network Watcher agent VM extension is in the model of scale set '{machine.name}' but "
                f"instances {', '.join(lagging)} do not run the latest model yet (upgrade them).",
                "properties.target",
            )
        key = f"{watcher.id}/packetCaptures/{name}".lower()
        existing = self.captures.get(key)
        if existing is not None and existing.active:
            raise self.errors.error(
                "duplicate_running",
                f"A packet capture named '{name}' is already running on network watcher '{watcher.name}'. "
                "Stop or delete it first.",
            )
        running = sum(1 for c in self.captures.values() if c.active and c.watcher == watcher)
        if running >= self.session_limit:
            raise self.errors.error(
                "session_limit",
                f"Cannot create more than {self.session_limit} packet capture sessions for this subscription "
                f"in region '{watcher.location}'.",
            )
        self._fill_storage_path(params, machine)
        capture = PacketCapture(
            id=f"{watcher.id}/packetCaptures/{name}",
            name=name,
            watcher=watcher,
            params=params,
            machine=machine,
            file_path=self.capture_dir
            / sub.lower()
            / watcher.location
            / f"{name}-{uuid.uuid4().hex[:8]}.cap",
            created=self.ctx.clock.now(),
            instances=instances,
        )
        self.captures[key] = capture
        capture.provisioning = asyncio.ensure_future(self._provision(capture))
        op = self.operations.start(
            watcher.subscription_id, "Microsoft.Network", watcher.location, work=capture.provisioning
        )
        return capture, op

    def _capture_target(self, watcher: NetworkWatcher, params: CaptureParameters) -> Machine:
        machine = self.machines.get(params.target.lower())
        if machine is None:
            raise self.errors.error(
                "target_not_found",
                f"The target resource '{params.target}' was not found.",
                "properties.target",
            )
        if machine.location != watcher.location:
            raise self.errors.error(
                "target_region",
                f"The target resource is in region '{machine.location}' but network watcher '{watcher.name}' "
                f"is in '{watcher.location}'; use the watcher of the target's region.",
                "properties.target",
            )
        if machine.power_state != "running":
            raise self.errors.error(
                "vm_not_running",
                f"The target virtual machine '{machine.name}' is {machine.power_state}; "
                "packet capture needs a running VM.",
                "properties.target",
            )
        if not machine.agent_ready:
            raise self.errors.error(
                "agent_missing",
                f"The Network Watcher agent VM extension (publisher Microsoft.Azure.NetworkWatcher, type "
                f"NetworkWatcherAgent{machine.os}) is not installed on '{machine.name}'.",
                "properties.target",
            )
        return machine

    def _fill_storage_path(self, params: CaptureParameters, machine: Machine) -> None:
        location = params.storage_location
        storage_id = location.get("storageId")
        if not storage_id:
            return
        try:
            account = self.ctx.storage_for_id(storage_id)
        except KeyError as exc:
            raise self.errors.error(
                "storage_unknown",
                f"The storage account '{storage_id}' was not found.",
                "properties.storageLocation.storageId",
            ) from exc
        if location.get("storagePath"):
            return
        when = self.ctx.clock.utcnow()
        used = {c.storage_path for c in self.captures.values()}
        # a ring's path is the prefix of its files' names; a scale set's capture is a folder that receives
        # one file per instance; a VM's is one .cap blob
        suffix = "" if params.continuous or machine.kind == "vmss" else ".cap"
        while True:  # a frozen (manual) clock must not give two captures the same blob
            path = (
                f"{account.blob_endpoint.rstrip('/')}/{CAPTURE_CONTAINER}{machine.id.lower()}/"
                f"{when:%Y/%m/%d}/packetcapture_{when:%H_%M_%S}_{when.microsecond // 1000:03d}{suffix}"
            )
            if path not in used:
                break
            when += timedelta(milliseconds=1)
        location["storagePath"] = path

    async def _upload_capture(self, storage_path: str, file: Path) -> None:
        """Upload a finished pcap: to its blob, or for a scale-set capture one file per captured instance.

        The devstack's instances of one scale set share the scale set's interface, so each instance file holds
        what that interface carried; the folder layout is what the product must read.
        """
        capture = next((c for c in self.captures.values() if c.storage_path == storage_path), None)
        if capture is not None:
            self._check_shared_key(capture.params.storage_location.get("storageId", ""))
        targets = capture.instance_files if capture is not None and capture.instances else [storage_path]
        for url in targets:
            result = self._upload(url, file)
            if inspect.isawaitable(result):
                await result

    def _check_shared_key(self, storage_id: str) -> None:
        """Network Watcher uploads with a SAS; an account with `allowSharedKeyAccess: false` rejects it with
        Azure Storage's 403, which the agent reports as the capture's `StorageFailed` error."""
        try:
            account = self.ctx.config.storage_account(storage_id)
        except KeyError:
            return
        if not account.allow_shared_key_access:
            raise SharedKeyNotPermitted(
                f"{account.name}: KeyBasedAuthenticationNotPermitted: "
                "Key based authentication is not permitted on this storage account."
            )

    async def _provision(self, capture: PacketCapture) -> None:
        capture.session = await self.agent.start(capture.spec())
        capture.provisioning_state = "Succeeded"
        capture.etag = f'W/"{uuid.uuid4()}"'

    def stop_capture(self, sub: str, rg: str, watcher_name: str, name: str) -> AsyncOperation:
        """Stop a capture (Manual); the operation ends once the pcap is uploaded. Stopping twice is fine."""
        capture = self.capture(sub, rg, watcher_name, name)
        return self.operations.start(
            capture.watcher.subscription_id,
            "Microsoft.Network",
            capture.watcher.location,
            work=self._stop(capture),
        )

    async def _stop(self, capture: PacketCapture, reason: str = STOP_MANUAL) -> None:
        if capture.provisioning is not None:
            await asyncio.shield(capture.provisioning)
        if capture.session is not None:
            await self.agent.stop(capture.session, reason)

    def delete_capture(self, sub: str, rg: str, watcher_name: str, name: str) -> AsyncOperation:
        """Delete a capture (stopping it first; the pcap is still uploaded, as Azure keeps the blob)."""
        capture = self.capture(sub, rg, watcher_name, name)
        del self.captures[capture.id.lower()]
        return self.operations.start(
            capture.watcher.subscription_id,
            "Microsoft.Network",
            capture.watcher.location,
            work=self._stop(capture),
            result_status=204,
        )

    def query_status(self, sub: str, rg: str, watcher_name: str, name: str) -> dict[str, Any]:
        """The capture's status (synchronous, as the live service answers)."""
        return self.capture(sub, rg, watcher_name, name).status_body()

    # -- async operations --------------------------------------------------------------------------

    async def poll_operation(self, sub: str, provider: str, location: str, op_id: str) -> AsyncOperation:
        """Read (and advance) an operation; 404 when unknown."""
        op = self.operations.find(sub, provider, location, op_id)
        if op is None:
            raise NotFound(f"The operation '{op_id}' was not found.")
        return await self.operations.poll(op)

    # -- lifecycle ---------------------------------------------------------------------------------

    def all_capture_summaries(self) -> list[dict[str, Any]]:
        """Every capture's admin view."""
        return [c.summary() for c in self.captures.values()]

    def reset(self) -> None:
        """Back to the configured state (persisted at once): tcpdumps killed; captures, operations, added
        VMs, created watchers and resource groups gone."""
        self.watcherless.clear()
        self.created_watchers.clear()
        self.created_groups.clear()
        self.agent.kill_all()
        for capture in self.captures.values():
            if capture.provisioning is not None:
                capture.provisioning.cancel()
        self.captures.clear()
        self.operations.clear()
        self._load_config_machines()
        self.autosave.save_now()

    async def close(self) -> None:
        """Stop every tcpdump (no uploads), cancel pending work and save the state a restart continues
        from: captures that were running end as the agent's interruption shows them (`AgentStopped`)."""
        interrupted = [c for c in self.captures.values() if c.active]
        for capture in self.captures.values():
            if capture.provisioning is not None and not capture.provisioning.done():
                capture.provisioning.cancel()
        await self.operations.close()
        await self.agent.close()
        for capture in interrupted:
            capture.agent_stopped()
        await self.autosave.close()
