"""Handlers of the admin API. Each one validates its input (400 naming the problem) and calls one service."""

from __future__ import annotations

import copy
import os
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, Protocol

from aiohttp import web

from devstack.acs import AcsEmulator
from devstack.acs.models import SendOutcome
from devstack.common.context import StackContext
from devstack.common.errors import bad_request, error_middleware, read_json
from devstack.common.faults import Fault, FaultSpecError
from devstack.config import RoleAssignment

ADMIN_PREFIX = "/_devstack"
MAX_TOKEN_LIFETIME = 7 * 24 * 3600


class ArmLike(Protocol):
    """What the admin API needs from the ARM emulator (devstack.arm.ArmEmulator)."""

    def add_vm(self, spec: dict) -> dict: ...
    def list_captures(self) -> list[dict]: ...
    def reset(self) -> None: ...


class AdminApi:
    """`/_devstack/*`: test and operator controls over the running emulators."""

    def __init__(
        self,
        ctx: StackContext,
        acs: AcsEmulator,
        arm: ArmLike,
        on_reset: list[Callable[[], Awaitable[None] | None]] | None = None,
    ) -> None:
        self.ctx, self.acs, self.arm = ctx, acs, arm
        self.on_reset = on_reset or []
        self.parts: Callable[[], dict[str, dict[str, Any]]] = dict  # supervised children (the stack sets it)
        self._initial_assignments = list(ctx.rbac.assignments)
        self._initial_clock = (ctx.clock.speed, ctx.clock.manual)
        self.app = web.Application(middlewares=[error_middleware])
        routes = [
            ("GET", "/health", self.health, "Admin_Health"),
            ("POST", "/reset", self.reset, "Admin_Reset"),
            ("GET", "/captures", self.captures, "Admin_ListCaptures"),
            ("GET", "/emails", self.emails, "Admin_ListEmails"),
            ("POST", "/emails/outcomes", self.add_email_outcome, "Admin_AddEmailOutcome"),
            ("DELETE", "/emails/outcomes", self.clear_email_outcomes, "Admin_ClearEmailOutcomes"),
            ("GET", "/emails/{operation_id}", self.email, "Admin_GetEmail"),
            ("GET", "/emails/{operation_id}/eml", self.email_eml, "Admin_GetEmailEml"),
            ("POST", "/vms", self.add_vm, "Admin_AddVm"),
            ("GET", "/faults", self.list_faults, "Admin_ListFaults"),
            ("POST", "/faults", self.add_faults, "Admin_AddFaults"),
            ("DELETE", "/faults", self.clear_faults, "Admin_ClearFaults"),
            ("GET", "/clock", self.get_clock, "Admin_GetClock"),
            ("POST", "/clock", self.set_clock, "Admin_SetClock"),
            ("GET", "/role-assignments", self.list_assignments, "Admin_ListRoleAssignments"),
            ("POST", "/role-assignments", self.add_assignment, "Admin_AddRoleAssignment"),
            ("DELETE", "/role-assignments", self.remove_assignments, "Admin_RemoveRoleAssignments"),
            ("POST", "/tokens", self.issue_token, "Admin_IssueToken"),
        ]
        for method, path, handler, name in routes:
            self.app.router.add_route(method, ADMIN_PREFIX + path, handler, name=name)

    async def health(self, request: web.Request) -> web.Response:
        """GET health: each part's state; 200 when all run, 503 while a child is down or restarting."""
        parts: dict[str, dict] = {name: {"state": "running", "pid": os.getpid()}
                                  for name in self.ctx.endpoints if name != "blob"}  # served in-process
        parts.update(self.parts())
        ok = all(part["state"] == "running" for part in parts.values())
        return web.json_response({"ok": ok, "parts": parts, "endpoints": self.ctx.endpoints},
                                 status=200 if ok else 503)

    async def reset(self, request: web.Request) -> web.Response:
        """POST reset: forget captures, added VMs, emails, faults, runtime role assignments; reset clock."""
        self.arm.reset()
        self.acs.backend.reset()
        self.ctx.faults.clear()
        self.ctx.rbac.assignments[:] = self._initial_assignments
        speed, manual = self._initial_clock
        self.ctx.clock.reset(speed, manual)
        for hook in self.on_reset:
            result = hook()
            if result is not None:
                await result
        return web.json_response({"reset": True})

    async def captures(self, request: web.Request) -> web.Response:
        """GET captures: every packet capture with its target and pcap location."""
        return web.json_response({"value": self.arm.list_captures()})

    async def emails(self, request: web.Request) -> web.Response:
        """GET emails: the outbox, oldest first."""
        return web.json_response({"value": [r.to_dict() for r in self.acs.backend.list()]})

    async def add_email_outcome(self, request: web.Request) -> web.Response:
        """POST emails/outcomes {"status", "polls"?, "code"?, "message"?, "count"?}: how next sends end."""
        outcome = SendOutcome.from_dict(await read_json(request))
        self.acs.backend.add_outcome(outcome)
        return web.json_response(asdict(outcome), status=201)

    async def clear_email_outcomes(self, request: web.Request) -> web.Response:
        """DELETE emails/outcomes: every send succeeds again."""
        self.acs.backend.clear_outcomes()
        return web.json_response({"cleared": True})

    async def email(self, request: web.Request) -> web.Response:
        """GET emails/{id}: one message."""
        return web.json_response(self.acs.backend.get(request.match_info["operation_id"]).to_dict())

    async def email_eml(self, request: web.Request) -> web.Response:
        """GET emails/{id}/eml: the message as written to the outbox (message/rfc822)."""
        record = self.acs.backend.get(request.match_info["operation_id"])
        with open(record.eml_path, "rb") as f:
            return web.Response(body=f.read(), content_type="message/rfc822")

    async def add_vm(self, request: web.Request) -> web.Response:
        """POST vms {"id", "location", ...}: add a VM or scale set at run time (201)."""
        spec = await read_json(request)
        if not isinstance(spec, dict):
            raise bad_request("The body must be a JSON object with at least 'id' and 'location'.")
        try:
            created = self.arm.add_vm(copy.deepcopy(spec))
        except ValueError as exc:
            raise bad_request(str(exc), code="InvalidVm") from exc
        return web.json_response(created, status=201)

    async def list_faults(self, request: web.Request) -> web.Response:
        """GET faults: the active faults and how often they fired."""
        return web.json_response({"value": [f.to_dict() for f in self.ctx.faults.list()]})

    async def add_faults(self, request: web.Request) -> web.Response:
        """POST faults: one fault object or a list of them (201)."""
        body = await read_json(request)
        specs: list[Any] = body if isinstance(body, list) else [body]  # Fault.from_dict checks each
        try:
            faults = [Fault.from_dict(spec) for spec in specs]  # validate all before adding any
        except FaultSpecError as exc:
            raise bad_request(str(exc), code="InvalidFault") from exc
        added = [self.ctx.faults.add(f).to_dict() for f in faults]
        return web.json_response({"value": added}, status=201)

    async def clear_faults(self, request: web.Request) -> web.Response:
        """DELETE faults[?service=&operation=]: remove faults."""
        removed = self.ctx.faults.clear(request.query.get("service"), request.query.get("operation"))
        return web.json_response({"removed": removed})

    async def get_clock(self, request: web.Request) -> web.Response:
        """GET clock: emulated now, speed, manual."""
        return web.json_response(self.ctx.clock.to_dict())

    async def set_clock(self, request: web.Request) -> web.Response:
        """POST clock {"speed": x, "manual": bool, "advance": seconds}: any of them, in that order."""
        body = await read_json(request)
        if not isinstance(body, dict) or not body or set(body) - {"speed", "manual", "advance"}:
            raise bad_request("The body must be an object with some of 'speed', 'manual', 'advance'.")
        speed, manual, advance = body.get("speed"), body.get("manual"), body.get("advance")
        for name, value in (("speed", speed), ("advance", advance)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise bad_request(f"'{name}' must be a number.")
        if speed is not None and not 0 < speed <= 10_000:
            raise bad_request("'speed' must be > 0 and <= 10000.")
        if advance is not None and not 0 <= advance <= 10 * 365 * 86400:
            raise bad_request("'advance' must be between 0 and 10 years, in seconds.")
        if manual is not None and not isinstance(manual, bool):
            raise bad_request("'manual' must be true or false.")
        if speed is not None:
            self.ctx.clock.set_speed(float(speed))
        if manual is not None:
            self.ctx.clock.set_manual(manual)
        if advance:
            self.ctx.clock.advance(float(advance))
        return web.json_response(self.ctx.clock.to_dict())

    async def list_assignments(self, request: web.Request) -> web.Response:
        """GET role-assignments."""
        return web.json_response({"value": [_assignment_dict(a) for a in self.ctx.rbac.assignments]})

    async def add_assignment(self, request: web.Request) -> web.Response:
        """POST role-assignments {"principal_id", "role", "scope"} (201)."""
        body = await read_json(request)
        if not isinstance(body, dict) or set(body) != {"principal_id", "role", "scope"}:
            raise bad_request("The body must be an object with exactly 'principal_id', 'role' and 'scope'.")
        if not all(isinstance(v, str) and v for v in body.values()) or not body["scope"].startswith("/"):
            raise bad_request("principal_id, role and scope must be non-empty strings; scope an ARM id.")
        assignment = RoleAssignment(
            body["principal_id"].lower(), body["role"], body["scope"].rstrip("/") or "/"
        )
        try:
            self.ctx.rbac.add(assignment)
        except KeyError as exc:
            raise bad_request(f"Unknown role {body['role']!r}.", code="RoleDefinitionNotFound") from exc
        return web.json_response(_assignment_dict(assignment), status=201)

    async def remove_assignments(self, request: web.Request) -> web.Response:
        """DELETE role-assignments?principal_id=...[&role=...]: remove a principal's assignments."""
        principal = request.query.get("principal_id", "").lower()
        if not principal:
            raise bad_request("The principal_id query parameter is required.")
        role = request.query.get("role", "").lower()
        before = len(self.ctx.rbac.assignments)
        self.ctx.rbac.assignments[:] = [
            a
            for a in self.ctx.rbac.assignments
            if a.principal_id.lower() != principal or (role and a.role.lower() != role)
        ]
        return web.json_response({"removed": before - len(self.ctx.rbac.assignments)})

    async def issue_token(self, request: web.Request) -> web.Response:
        """POST tokens {"principal_id", "audience", "lifetime_seconds"?}: a signed token for tests
        (any principal, negative lifetime = already expired)."""
        body = await read_json(request)
        if not isinstance(body, dict) or set(body) - {"principal_id", "audience", "lifetime_seconds"}:
            raise bad_request(
                "The body must be an object with 'principal_id', 'audience', 'lifetime_seconds'."
            )
        principal, audience = body.get("principal_id"), body.get("audience")
        lifetime: Any = body.get("lifetime_seconds", 3600)
        if not isinstance(principal, str) or not principal or not isinstance(audience, str) or not audience:
            raise bad_request("'principal_id' and 'audience' are required strings.")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or abs(lifetime) > MAX_TOKEN_LIFETIME:
            raise bad_request(f"'lifetime_seconds' must be an integer within ±{MAX_TOKEN_LIFETIME}.")
        issued = self.ctx.tokens.issue(principal, audience, lifetime)
        return web.json_response({"access_token": issued.token, "expires_on": issued.expires_on}, status=201)


def _assignment_dict(assignment: RoleAssignment) -> dict[str, str]:
    return {"principal_id": assignment.principal_id, "role": assignment.role, "scope": assignment.scope}
