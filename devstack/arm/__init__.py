"""The ARM emulator: Network Watcher packet captures (with a real tcpdump agent), VMs, extensions, scale sets
and generic resource reads, served by `ArmEmulator(ctx).app`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from devstack.arm.models import ArmBackend
from devstack.arm.responses import ArmResponses
from devstack.arm.urls import ArmRouter, routes
from devstack.capture.agent import Uploader
from devstack.common.context import StackContext

__all__ = ["ArmEmulator"]


class ArmEmulator:
    """One ARM emulator bound to a devstack context; `app` is served over HTTPS at `arm_endpoint`."""

    def __init__(self, ctx: StackContext, upload: Uploader | None = None) -> None:
        """`upload(blob_url, file)` stores a finished pcap; default `ctx.upload_blob` (Azurite)."""
        self.ctx = ctx
        self.backend = ArmBackend(ctx, upload=upload)
        self.responses = ArmResponses(self.backend)
        self.app = web.Application(
            # persistence outermost (whatever a request changed is saved), then authentication (as ARM), then
            # injected faults, so fault answers carry the ARM headers too
            middlewares=[self._save_after, self.responses.arm_middleware, ctx.faults.middleware("arm")],
            client_max_size=1 << 20,
            router=ArmRouter(),
        )
        self.app.add_routes(routes(self.responses))

    @web.middleware
    async def _save_after(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        finally:
            self.backend.changed()

    @property
    def errors(self):
        """The ASSUMED error codes (`errors.set("agent_missing", status=409, code="...")` to change one)."""
        return self.backend.errors

    def add_vm(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Add a VM or scale set at run time (admin `POST /_devstack/vms` body); ValueError if bad."""
        machine = self.backend.add_machine(spec)
        self.backend.changed()
        return machine.summary()

    def list_captures(self) -> list[dict[str, Any]]:
        """Every packet capture with its target, status and pcap location (blob URL and local file)."""
        return self.backend.all_capture_summaries()

    def reset(self) -> None:
        """Back to the configured state: running tcpdumps killed, captures and operations forgotten."""
        self.backend.reset()
        self.responses.throttle.reset()

    async def close(self) -> None:
        """Stop every running tcpdump (and wait for it): nothing is left behind."""
        await self.backend.close()
