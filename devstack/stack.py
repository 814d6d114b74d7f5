"""Assembling a running devstack: TLS, emulators, Azurite, namespaces, the durable host, the alert monitor.

`Stack.start()` brings everything up in order and writes `<state dir>/state.json` last (atomically: its
presence means "ready"); `Stack.stop()` takes it all down in reverse order and removes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from devstack.acs import AcsEmulator
from devstack.admin import ADMIN_PREFIX, AdminApi
from devstack.arm import ArmEmulator
from devstack.azurite import Azurite, AzuriteError
from devstack.blobauth import BlobAuthorizer
from devstack.capture import netns
from devstack.capture.netns import NetnsError
from devstack.common.clock import Clock
from devstack.common.context import StackContext, StorageRuntime
from devstack.common.faults import FaultInjector
from devstack.common.persist import PersistedStateError
from devstack.common.process import die_with_parent, stop_process_group
from devstack.common.rbac import Rbac
from devstack.common.server import start_https
from devstack.common.statefile import live_owner, read_state, write_json_atomic
from devstack.common.supervisor import Supervisor, stop_stray_process
from devstack.common.tls import ensure_tls
from devstack.common.tokens import TokenIssuer
from devstack.config import DevstackConfig
from devstack.entra import AppRegistration, EntraEmulator
from devstack.identity import IDENTITY_PATH, IdentityEmulator
from devstack.monitor import AlertEvaluator
from devstack.monitor.secure_webhook import secure_webhook_caller
from devstack.paths import REPO_ROOT
from devstack.persistence import remember_ports

DEFAULT_STATE_DIR = Path(".devstack")
TASK_HUB = "alertcap"
# How long the function host may take to index the app and bind its port. A healthy host is ready in a few
# seconds; a crashed one is seen at once (its exit code), so this limit only matters on a starved machine,
# where importing the Azure SDKs alone took over 30 s (a full test run at load average 10).
HOST_READY_TIMEOUT = 90.0
CA_ENV_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
FOREIGN_AZURE_ENV = ("AZURE_", "MSI_", "IDENTITY_", "IMDS_")
ARM_AUDIENCE = "https://management.azure.com"  # the audience the ARM emulator accepts, as Azure's ARM does


class StackError(RuntimeError):
    """The devstack could not start (the message says which part and why)."""


@dataclass
class Stack:
    """One devstack: its config, state dir and the running parts."""

    config: DevstackConfig
    state_dir: Path
    with_host: bool = True
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))
    ctx: StackContext | None = None
    state: dict[str, Any] = field(default_factory=dict)
    _cleanups: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list)
    _host: asyncio.subprocess.Process | None = None
    _host_port: int = 0
    _azurite: Azurite | None = None
    supervisor: Supervisor | None = None

    @property
    def state_file(self) -> Path:
        """`<state dir>/state.json`."""
        return self.state_dir / "state.json"

    async def start(self) -> dict[str, Any]:
        """Start everything; on failure, stop what was started and raise StackError."""
        started = time.monotonic()
        self.state_dir = self.state_dir.resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._claim_state_dir()
        try:
            await self._start_all()
        except BaseException:
            await self.stop()
            raise
        self.log(f"devstack ready in {time.monotonic() - started:.1f} s")
        return self.state

    def _claim_state_dir(self) -> None:
        pid = live_owner(self.state_file)
        if pid and pid != os.getpid():
            raise StackError(
                f"a devstack (pid {pid}) already uses {self.state_dir}; run `python -m devstack down`"
            )
        self.state_file.unlink(missing_ok=True)  # stale, from a crashed run

    async def _start_all(self) -> None:
        ctx = self.ctx = self._make_context()
        azurite = asyncio.create_task(self._start_azurite(ctx))  # Node starts while we set up the rest
        try:
            await self._ensure_namespaces()  # before ARM, so tcpdumps are stopped before namespaces go
            urls, identity_header = await self._start_emulators(ctx)
        except BaseException:
            azurite.cancel()
            with contextlib.suppress(BaseException):
                await azurite
            raise
        await azurite
        self.state = self._initial_state(ctx, urls, identity_header)
        settings = {"IsEncrypted": False, "Values": self.app_settings()}
        write_json_atomic(self.state_dir / "app.settings.json", settings)
        if self.with_host:
            await self._start_host()
            await self._start_monitor()
        remember_ports(self.state_dir, ctx.endpoints)  # a restart binds them again (devstack.persistence)
        self._supervise()
        write_json_atomic(self.state_file, self.state)

    def _make_context(self) -> StackContext:
        config = self.config
        tls = ensure_tls(self.state_dir / "tls")
        for var in CA_ENV_VARS:  # children (Azurite clients, the host, the app) trust our CA
            os.environ[var] = str(tls.bundle_path)
        return StackContext(
            config=config,
            tls=tls,
            tokens=TokenIssuer.load_or_create(
                self.state_dir / "tls" / "token-signing-key.pem", config.tenant_id
            ),
            rbac=Rbac.from_config(config.role_assignments, config.custom_roles),
            faults=FaultInjector(),
            clock=Clock(speed=config.capture.speed),
            state_dir=self.state_dir,
        )

    async def _start_emulators(self, ctx: StackContext) -> tuple[dict[str, str], str]:
        """Identity, ACS, ARM (if available) and admin servers; returns their URLs and the identity secret."""
        identity = IdentityEmulator(ctx)
        acs = AcsEmulator(ctx)
        arm = self._make_arm(ctx)
        admin = AdminApi(ctx, acs, arm)
        admin.parts = lambda: self.supervisor.health() if self.supervisor else {}
        entra = EntraEmulator(ctx.config.tenant_id, lambda: [ctx.tokens], ctx.faults)
        ports = ctx.config.ports
        urls = {
            "identity": await self._serve("identity", identity.app, ports.identity),
            "entra": await self._serve("entra", entra.app, 0),
            "acs": await self._serve("acs", acs.app, ports.acs),
            "arm": await self._serve("arm", arm.app, ports.arm),
            "admin": await self._serve("admin", admin.app, ports.admin) + ADMIN_PREFIX,
        }
        return urls, identity.identity_header

    def _initial_state(self, ctx: StackContext, urls: dict[str, str], identity_header: str) -> dict[str, Any]:
        """state.json before the host adds its keys."""
        config = ctx.config
        assert config.communication_service is not None
        return {
            "pid": os.getpid(),
            "subscription_id": config.subscription_id,
            "tenant_id": config.tenant_id,
            "arm_endpoint": urls["arm"],
            "identity_endpoint": urls["identity"] + IDENTITY_PATH,
            "identity_header": identity_header,
            "entra_authority": urls["entra"],
            "principal_id": config.principal_id,
            "acs_endpoint": urls["acs"],
            "acs_connection_string": f"endpoint={urls['acs']}/;accesskey={config.communication_service.key}",
            "blob_endpoint": ctx.storage_for_id(config.capture_storage_account).blob_endpoint,
            "capture_storage_account_id": config.capture_storage_account,
            "ca_bundle": str(ctx.tls.bundle_path),
            "admin_url": urls["admin"],
            "app_settings_file": str(self.state_dir / "app.settings.json"),
            "state_dir": str(self.state_dir),
        }

    async def _start_azurite(self, ctx: StackContext) -> None:
        """Azurite on a port of its own, behind the blob RBAC proxy (`devstack.blobauth`) that clients use."""
        azurite = Azurite(ctx.tls, ctx.config.storage_accounts, self.state_dir / "azurite", 0)
        self._cleanups.append(azurite.stop)
        self._azurite = azurite
        await azurite.start()
        proxy = BlobAuthorizer(ctx, lambda: azurite.base_url)
        url = await self._serve("blob", proxy.app, ctx.config.ports.blob)
        for account in ctx.config.storage_accounts:
            ctx.storage[account.id.lower()] = StorageRuntime(account.id, account.name, account.key,
                                                             f"{url}/{account.name}")
        self.log(f"  blob (Azurite)    {azurite.base_url}, authorised through {url}")

    def _make_arm(self, ctx: StackContext) -> ArmEmulator:
        arm = ArmEmulator(ctx)
        self._cleanups.append(arm.close)
        return arm

    async def _serve(self, name: str, app: web.Application, port: int) -> str:
        assert self.ctx is not None
        runner, bound = await start_https(app, "127.0.0.1", port, self.ctx.tls.server_ssl_context())
        self._cleanups.append(runner.cleanup)
        url = f"https://127.0.0.1:{bound}"
        self.ctx.endpoints[name] = url
        self.log(f"  {name:<17} {url}")
        return url

    async def _ensure_namespaces(self) -> None:
        if not any(vm.netns for vm in [*self.config.vms, *self.config.scale_sets]):
            return
        self._cleanups.append(lambda: asyncio.to_thread(netns.teardown_namespaces, self.config))
        await asyncio.to_thread(netns.ensure_namespaces, self.config)
        self.log("  namespaces        " + ", ".join(sorted({vm.netns for vm in self.config.vms if vm.netns})))

    def app_settings(self) -> dict[str, str]:
        """The function app's settings for this devstack (the `local.settings.json` `Values`): the names
        `infra/app-settings.json` lists (as main.bicep sets them in Azure) with the devstack's endpoints, plus
        its `devstackOnly` names; `[app_settings]` of the config is merged last."""
        config, state = self.config, self.state
        bundle = state["ca_bundle"]
        settings = {
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "ARM_ENDPOINT": state["arm_endpoint"],
            "ARM_AUDIENCE": ARM_AUDIENCE,
            "IDENTITY_ENDPOINT": state["identity_endpoint"],
            "IDENTITY_HEADER": state["identity_header"],
            "REQUESTS_CA_BUNDLE": bundle,
            "SSL_CERT_FILE": bundle,
            "ACS_ENDPOINT": state["acs_endpoint"],
            "EMAIL_SENDER": config.email.sender,
            "EMAIL_RECIPIENTS": ";".join(config.email.recipients),
            "CAPTURE_STORAGE_ACCOUNT_ID": config.capture_storage_account,
            "CAPTURE_TIME_LIMIT_SECONDS": "300",  # main.bicep's captureTimeLimitSeconds default
            "AGENT_AUTO_INSTALL": "false",  # main.bicep's agentAutoInstall default
            "NETWORK_WATCHER_AUTO_CREATE": "false",  # main.bicep's networkWatcherAutoCreate default
            "ALLOWED_SCOPES": f"/subscriptions/{config.subscription_id}",  # Azure: the deployment's one
            "WEBHOOK_AUTH": "key",  # main.bicep's webhookAuth default
            **self._webhook_auth_settings(),
        }
        settings.update(config.app_settings)
        return {key: value for key, value in settings.items() if value}

    def _webhook_auth_settings(self) -> dict[str, str]:
        """Where the app finds the tenant's signing keys and which app registration its tokens are for; they
        matter only when WEBHOOK_AUTH asks for tokens (the default stays `key`)."""
        registration = AppRegistration.for_tenant(self.config.tenant_id)
        return {
            "WEBHOOK_TENANT_ID": self.config.tenant_id,
            "WEBHOOK_AUDIENCES": f"{registration.identifier_uri};{registration.client_id}",
            "WEBHOOK_AUTHORITY_HOST": self.state["entra_authority"],
        }

    def _supervise(self) -> None:
        """Restart Azurite and the host if they die (stopped first when the devstack goes down)."""
        supervisor = self.supervisor = Supervisor(self.log)
        if self._azurite is not None:
            supervisor.watch("blob", lambda: self._azurite.process if self._azurite else None,
                             self._restart_azurite)
        if self._host is not None:
            supervisor.watch("host", lambda: self._host, self._restart_host)
        self._cleanups.append(supervisor.stop)

    async def _restart_azurite(self) -> None:
        assert self._azurite is not None
        self._azurite.requested_port = self._azurite.port or 0  # the same port: clients keep the URL
        await self._azurite.stop()
        await self._azurite.start()

    async def _restart_host(self) -> None:
        """Start the host again on its first port (same URL and keys, so state.json stays right)."""
        try:
            await self._start_host(port=self._host_port)
        except BaseException:
            await self._stop_host()
            raise

    async def _start_host(self, port: int = 0) -> None:
        host_dir = self.state_dir / "host"
        host_state = host_dir / "state.json"
        host_state.unlink(missing_ok=True)
        host_dir.mkdir(parents=True, exist_ok=True)
        log = (self.state_dir / "host.log").open("ab")
        command = [
            sys.executable,
            "-m",
            "devstack.host",
            "--app",
            str(REPO_ROOT),
            "--port",
            str(port),
            "--state-dir",
            str(host_dir),
            "--settings",
            self.state["app_settings_file"],
        ]
        # Like App Service: the app sees its settings, not the Azure credentials of whoever runs the devstack.
        env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_AZURE_ENV)}
        try:
            self._host = await asyncio.create_subprocess_exec(
                *command,
                cwd=REPO_ROOT,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )
        finally:
            log.close()
        if self._stop_host not in self._cleanups:
            self._cleanups.append(self._stop_host)
        deadline = time.monotonic() + HOST_READY_TIMEOUT
        while (host := read_state(host_state)) is None:
            if self._host.returncode is not None:
                raise StackError(f"the function host exited with {self._host.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                raise StackError(
                    f"the function host was not ready in {HOST_READY_TIMEOUT:.0f} s; see {log.name}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._host.wait(), 0.05)
        self.state.update(
            {
                "function_host": host["base_url"],
                "function_key": host["function_key"],
                "master_key": host["master_key"],
                "task_hub": host.get("task_hub", TASK_HUB),
            }
        )
        self._host_port = int(host["base_url"].rsplit(":", 1)[1].split("/", 1)[0])
        self.log(f"  function host     {host['base_url']}")

    async def _stop_host(self) -> None:
        process, self._host = self._host, None
        if process is not None:
            await stop_process_group(process)
        # a host started by hand on this state dir (its pid is in host/state.json) goes down with us too
        stray = read_state(self.state_dir / "host" / "state.json") or {}
        await stop_stray_process(stray.get("pid"), "devstack.host", str(self.state_dir / "host"))

    async def _start_monitor(self) -> None:
        if not self.config.alert_rules or "function_host" not in self.state:
            return
        assert self.ctx is not None
        caller = secure_webhook_caller(self.app_settings(), self.ctx.tokens, self.state["function_key"])
        evaluator = AlertEvaluator(
            self.config,
            f"{self.state['function_host']}/api/alerts",
            caller.function_key,
            self.state["ca_bundle"],
            token_provider=caller.token_provider,
        )
        await evaluator.start()
        self._cleanups.append(evaluator.stop)
        rules = len(self.config.alert_rules)
        self.log(f"  alert monitor     {rules} rule(s) -> /api/alerts (WEBHOOK_AUTH={caller.mode.value})")

    async def stop(self) -> None:
        """Stop every started part in reverse order (errors are logged, not raised) and remove state.json."""
        if (read_state(self.state_file) or {}).get("pid") == os.getpid():
            self.state_file.unlink(missing_ok=True)
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                result = cleanup()
                if result is not None:
                    await asyncio.wait_for(result, 15)
            except Exception as exc:  # keep stopping the rest
                self.log(f"devstack: error while stopping: {type(exc).__name__}: {exc}")



def print_endpoints(state: dict[str, Any]) -> None:
    """The endpoints, for people (stdout)."""
    keys = (
        "arm_endpoint",
        "identity_endpoint",
        "acs_endpoint",
        "blob_endpoint",
        "admin_url",
        "function_host",
        "ca_bundle",
    )
    for key in keys:
        if state.get(key):
            print(f"{key:<20} {state[key]}")
    print(f"{'state':<20} {Path(state['state_dir']) / 'state.json'}", flush=True)


async def serve(config: DevstackConfig, state_dir: Path, with_host: bool = True) -> int:
    """Run the devstack in the foreground until SIGINT/SIGTERM; returns the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stack = Stack(config, state_dir, with_host=with_host)
    try:
        start = asyncio.create_task(stack.start())
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({start, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if start not in done:  # interrupted while starting
            start.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await start
            return 130
        waiter.cancel()
        state = start.result()
        print_endpoints(state)
        await stop.wait()
        print("devstack: stopping", file=sys.stderr, flush=True)
        return 0
    except (StackError, AzuriteError, NetnsError, PersistedStateError, OSError) as exc:
        print(f"devstack: failed to start: {exc}", file=sys.stderr)
        return 1
    finally:
        await stack.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
