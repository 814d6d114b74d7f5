"""Assemble and run the host: load the app, open the task hub, serve HTTP, write state.json."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from devstack.host.body_timeout import body_timeout_middleware
from devstack.host.config import (
    DEFAULT_MAX_REQUEST_BYTES,
    HostConfig,
    HostConfigError,
    load_host_config,
    load_settings,
)
from devstack.host.engine import Engine
from devstack.host.errors import json_error, json_errors_middleware
from devstack.host.http_triggers import HttpTriggers, presented_key
from devstack.host.keys import HostKeys, load_or_create_keys
from devstack.host.loader import FunctionIndex, load_app
from devstack.host.management import PREFIX, ManagementApi
from devstack.host.store import Store, StoreInUseError

log = logging.getLogger("devstack.host")
# how long a shutdown lets HTTP functions still running finish (aiohttp's default is 60 s)
HTTP_SHUTDOWN_SECONDS = 2.0


@dataclass(frozen=True)
class HostOptions:
    """Command-line options of ``python -m devstack.host``."""

    app_dir: Path
    port: int = 0
    state_dir: Path | None = None
    settings_file: Path | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES

    @property
    def resolved_state_dir(self) -> Path:
        """``--state-dir`` or ``APP/.devstack``."""
        return (self.state_dir or self.app_dir / ".devstack").resolve()

    @property
    def resolved_settings(self) -> Path:
        """``--settings`` or ``APP/local.settings.json``."""
        return (self.settings_file or self.app_dir / "local.settings.json").resolve()


def client_binding_json(base_url: str, hub: str, keys: HostKeys) -> str:
    """The ``durableClient`` binding value; RPC calls carry the system key as basic auth."""
    base = f"{base_url}{PREFIX}"
    query = f"taskHub={quote(hub)}&connection=Storage&code={keys.system_key}"
    instance = f"{base}/instances/INSTANCEID"
    host_port = base_url.split("://", 1)[1]
    create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
    return json.dumps(
        {
            "taskHubName": hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{create}?code={keys.system_key}",
                "createAndWaitOnNewInstancePostUri": f"{create}"
                f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}"
                f"&code={keys.system_key}",
            },
            "managementUrls": {
                "id": "INSTANCEID",
                "statusQueryGetUri": f"{instance}?{query}",
                "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
                "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
                "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
                "purgeHistoryDeleteUri": f"{instance}?{query}",
                "restartPostUri": f"{instance}/restart?{query}",
                "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
                "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
            },
            "baseUrl": base,
            "requiredQueryStringParameters": f"code={keys.system_key}",
            "rpcBaseUrl": f"http://durabletask:{keys.system_key}@{host_port}{PREFIX}/",
            "httpBaseUrl": "",
        }
    )


def write_state(state_dir: Path, state: dict[str, Any]) -> Path:
    """Write ``state.json`` atomically (temp file + rename), readable only by the owner."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "state.json"
    tmp = state_dir / f".state.json.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=2)
    os.replace(tmp, path)
    return path


def _size_limit_middleware(limit: int):  # type: ignore[no-untyped-def]
    @web.middleware
    async def middleware(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
        if request.content_length is not None and request.content_length > limit:
            return json_error(
                413, f"request body of {request.content_length} bytes exceeds the limit of {limit} bytes"
            )
        return await handler(request)

    return middleware


class Host:
    """A running host: HTTP server + durable engine over one task hub."""

    def __init__(self, options: HostOptions):
        self.options = options
        self.state_dir = options.resolved_state_dir
        self.runner: web.AppRunner | None = None
        self.engine: Engine | None = None
        self.store: Store | None = None
        self.base_url = ""
        self.config: HostConfig | None = None
        self.keys: HostKeys | None = None
        self.index: FunctionIndex | None = None

    def load(self) -> None:
        """Settings into the environment, then host.json, then the app itself (fails fast)."""
        app_dir = self.options.app_dir.resolve()
        settings = load_settings(self.options.resolved_settings)
        os.environ.update(settings)
        self.config = load_host_config(app_dir)
        self.index = load_app(app_dir)
        self.keys = load_or_create_keys(self.state_dir)

    async def start(self) -> None:
        """Open the store, serve HTTP, resume work, write state.json."""
        assert self.config and self.keys and self.index
        app_dir = str(self.options.app_dir.resolve())
        try:
            self.store = Store(self.state_dir / f"{self.config.hub_name}.sqlite3")
        except StoreInUseError as exc:
            raise HostConfigError(f"cannot open the task hub: {exc}") from exc
        self.engine = Engine(self.store, self.index, self.config, app_dir)
        management = ManagementApi(self.engine, self.keys, self.config.hub_name)
        triggers = HttpTriggers(
            self.index.http, self.keys, lambda: self._binding, self.config.function_timeout_seconds, app_dir
        )
        app = web.Application(
            client_max_size=self.options.max_request_bytes,
            middlewares=[
                json_errors_middleware,
                _size_limit_middleware(self.options.max_request_bytes),
                body_timeout_middleware,
                management.auth_middleware,
            ],
        )
        app.add_routes(management.routes())
        app.add_routes([web.get("/admin/host/status", self._host_status)])
        prefix = f"/{self.config.route_prefix}" if self.config.route_prefix else ""
        app.add_routes([web.route("*", prefix + "/{tail:.*}", triggers.handle)])
        self.runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=HTTP_SHUTDOWN_SECONDS
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.options.port)
        try:
            await site.start()
        except OSError as exc:
            await self.runner.cleanup()
            self.store.close()
            raise HostConfigError(f"cannot listen on 127.0.0.1:{self.options.port}: {exc.strerror}") from exc
        port = self.runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._binding = client_binding_json(self.base_url, self.config.hub_name, self.keys)
        await self.engine.start()
        write_state(
            self.state_dir,
            {
                "pid": os.getpid(),
                "base_url": self.base_url,
                "function_key": self.keys.function_key,
                "master_key": self.keys.master_key,
                "task_hub": self.config.hub_name,
            },
        )
        log.info(
            "host ready on %s (%d functions, hub %s)",
            self.base_url,
            len(self.index.http) + len(self.index.orchestrators) + len(self.index.activities),
            self.config.hub_name,
        )

    async def _host_status(self, request: web.Request) -> web.Response:
        assert self.keys
        if not self.keys.is_master(presented_key(request)):
            return json_error(401, "the master key is required")
        return web.json_response({"state": "Running", "processId": os.getpid()})

    async def stop(self) -> None:
        """Stop serving and dispatching; persisted work resumes on the next start."""
        (self.state_dir / "state.json").unlink(missing_ok=True)
        if self.engine is not None:
            self.engine.release_waiters()
        if self.runner is not None:
            await self.runner.cleanup()
        if self.engine is not None:
            await self.engine.stop()
        if self.store is not None:
            self.store.close()


async def run_host(options: HostOptions) -> None:
    """Run until SIGINT/SIGTERM."""
    host = Host(options)
    host.load()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await host.start()
    # what is loaded by now (the app, the SDKs, aiohttp) lives as long as the host: keep it out of the
    # cyclic garbage collector's full passes, which would otherwise walk it again and again under load
    gc.freeze()
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await host.stop()
