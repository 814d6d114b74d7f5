"""Thin HTTP handlers of the ARM emulator: parse the request, authorise, call one model method, serialise.

Authentication (bearer token) and the api-version check happen in `arm_middleware`; each handler checks the
RBAC action the real operation needs (Network Watcher's documented actions, Compute's read/write actions).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from devstack.arm import compute, resources
from devstack.arm.asyncops import AsyncOperation
from devstack.arm.exceptions import (
    AuthenticationFailed,
    AuthorizationFailed,
    ExpiredAuthenticationToken,
    InvalidAuthenticationToken,
    InvalidAuthenticationTokenAudience,
    InvalidParameter,
    InvalidRequestContent,
    LinkedAuthorizationFailed,
    MissingApiVersion,
    NotFound,
)
from devstack.arm.models import ArmBackend
from devstack.arm.throttle import Throttle
from devstack.common.errors import JSON_ERRORS, ApiError, read_body, strict_loads
from devstack.common.tokens import TokenError, bearer_token

ARM_AUDIENCES = ["https://management.azure.com", "https://management.core.windows.net/"]
PAGE_SIZE = 100
NW = "Microsoft.Network/networkWatchers"
PC = f"{NW}/packetCaptures"
RG = "Microsoft.Resources/subscriptions/resourceGroups"
MAX_BODY = 1 << 20
INSTANCE_VIEW_READ = "Microsoft.Compute/virtualMachines/instanceView/read"
# What Network Watcher needs of the caller on the storage account a capture writes into: it obtains the SAS it
# uploads with through these (Network Watcher required RBAC permissions, "Additional actions").
CAPTURE_STORAGE_ACTIONS = (
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Storage/storageAccounts/listServiceSas/action",
    "Microsoft.Storage/storageAccounts/listAccountSas/action",
    "Microsoft.Storage/storageAccounts/listKeys/action",
)


class ArmResponses:
    """The request handlers, bound to one backend."""

    def __init__(self, backend: ArmBackend) -> None:
        self.backend = backend
        self.ctx = backend.ctx
        self.throttle = Throttle()

    # -- middleware --------------------------------------------------------------------------------

    @web.middleware
    async def arm_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Request ids and throttling headers on every answer; token check and api-version on every call."""
        try:
            request["principal"] = self._authenticate(request)
            if not request.query.get("api-version"):
                raise MissingApiVersion()
            response = await handler(request)
        except ApiError as exc:
            response = exc.response()
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = ApiError(
                exc.status,
                "NotFound" if exc.status == 404 else exc.reason.replace(" ", ""),
                f"No route matches {request.method} {request.path}.",
            ).response()
        sub = (request.match_info.get("sub") or _sub_from_path(request.path)).lower()
        if sub not in self.backend.subscriptions():
            sub = "-"  # one shared bucket for unknown subscriptions: garbage paths cannot grow the table
        request_id = str(uuid.uuid4())
        response.headers.setdefault("x-ms-request-id", request_id)
        response.headers.setdefault("x-ms-correlation-request-id", request_id)
        for name, value in self.throttle.headers(sub, request.method).items():
            response.headers.setdefault(name, value)  # an injected 429 keeps its own (zero) count
        return response

    def _authenticate(self, request: web.Request) -> str:
        try:
            token = bearer_token(request.headers.get("Authorization"))
            claims = self.ctx.tokens.verify(token, ARM_AUDIENCES)
        except TokenError as exc:
            if exc.reason == "missing":
                raise AuthenticationFailed() from exc
            if exc.reason == "expired":
                raise ExpiredAuthenticationToken() from exc
            if exc.reason == "audience":
                raise InvalidAuthenticationTokenAudience(_token_audience(request)) from exc
            raise InvalidAuthenticationToken(f"The access token is invalid: {exc.message}") from exc
        return claims.principal_id

    def _authorize(self, request: web.Request, action: str, scope: str) -> None:
        principal = request["principal"]
        if not self.ctx.rbac.check(principal, action, scope):
            raise AuthorizationFailed(principal, action, scope)

    def _authorize_capture_storage(self, request: web.Request, body: Any, scope: str) -> None:
        """Linked check on the capture's storage account: the caller must hold what lets Network Watcher get
        a SAS for it. A missing or malformed storage id is left to the model's validation."""
        properties = body.get("properties") if isinstance(body, dict) else None
        location = properties.get("storageLocation") if isinstance(properties, dict) else None
        storage_id = location.get("storageId") if isinstance(location, dict) else None
        if not isinstance(storage_id, str) or not storage_id.startswith("/"):
            return
        principal = request["principal"]
        for action in CAPTURE_STORAGE_ACTIONS:
            if not self.ctx.rbac.check(principal, action, storage_id):
                raise LinkedAuthorizationFailed(principal, f"{PC}/write", scope, action, storage_id)

    # -- network watchers --------------------------------------------------------------------------

    async def network_watchers_list_all(self, request: web.Request) -> web.Response:
        sub = request.match_info["sub"]
        self._authorize(request, f"{NW}/read", f"/subscriptions/{sub}")
        return self._page(request, [w.body() for w in self.backend.watchers(sub)])

    async def network_watchers_list(self, request: web.Request) -> web.Response:
        sub, rg = request.match_info["sub"], request.match_info["rg"]
        self._authorize(request, f"{NW}/read", f"/subscriptions/{sub}/resourceGroups/{rg}")
        return self._page(request, [w.body() for w in self.backend.watchers(sub, rg)])

    async def network_watchers_get(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{NW}/read", _scope(request, 8))
        return _json(self.backend.watcher(m["sub"], m["rg"], m["nw"]).body())

    async def network_watchers_create_or_update(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{NW}/write", _scope(request, 8))
        watcher, created = self.backend.put_watcher(m["sub"], m["rg"], m["nw"], await _read_json(request))
        return _json(watcher.body(), status=201 if created else 200)

    # -- resource groups ---------------------------------------------------------------------------

    async def resource_groups_get(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{RG}/read", _scope(request, 4))
        return _json(self.backend.resource_group(m["sub"], m["rg"]).body())

    async def resource_groups_check_existence(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{RG}/read", _scope(request, 4))
        exists = m["rg"].lower() in self.backend.resource_groups(m["sub"])
        return web.Response(status=204 if exists else 404)

    async def resource_groups_create_or_update(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{RG}/write", _scope(request, 4))
        group, created = self.backend.put_resource_group(m["sub"], m["rg"], await _read_json(request))
        return _json(group.body(), status=201 if created else 200)

    # -- packet captures ---------------------------------------------------------------------------

    async def packet_captures_create(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{PC}/write", _scope(request, 10))
        body = await _read_json(request)
        self._authorize_capture_storage(request, body, _scope(request, 10))
        capture, op = self.backend.create_capture(m["sub"], m["rg"], m["nw"], m["name"], body)
        headers = {
            "Azure-AsyncOperation": op.urls(_base(request), _api(request))["Azure-AsyncOperation"],
            "azure-asyncnotification": "Enabled",
        }
        return _json(capture.body(), status=201, headers=headers)

    async def packet_captures_get(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{PC}/read", _scope(request, 10))
        capture = self.backend.capture(m["sub"], m["rg"], m["nw"], m["name"])
        return _json(capture.body(), headers={"ETag": capture.etag})

    async def packet_captures_list(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{PC}/read", _scope(request, 8))
        return self._page(request, [c.body() for c in self.backend.list_captures(m["sub"], m["rg"], m["nw"])])

    async def packet_captures_delete(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{PC}/delete", _scope(request, 10))
        op = self.backend.delete_capture(m["sub"], m["rg"], m["nw"], m["name"])
        return _accepted(request, op)

    async def packet_captures_stop(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{PC}/stop/action", _scope(request, 10))
        op = self.backend.stop_capture(m["sub"], m["rg"], m["nw"], m["name"])
        return _accepted(request, op)

    async def packet_captures_get_status(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{PC}/queryStatus/action", _scope(request, 10))
        return _json(self.backend.query_status(m["sub"], m["rg"], m["nw"], m["name"]))

    # -- async operations: ARM authorises the status URLs like any read -----------------------------
    # (`<provider>/locations/operations/read`, `.../locations/operationResults/read` at the URL's scope)

    async def async_operations_get(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, f"{m['provider']}/locations/operations/read", request.path)
        op = await self.backend.poll_operation(m["sub"], m["provider"], m["location"], m["op"])
        return _json(op.body())

    async def async_operation_results_get(self, request: web.Request) -> web.Response:
        m = request.match_info
        self._authorize(request, _operation_results_action(m["provider"]), request.path)
        op = await self.backend.poll_operation(m["sub"], m["provider"], m["location"], m["op"])
        if op.status == "InProgress":
            return web.Response(status=202, headers={"Location": str(request.url), "Retry-After": "0"})
        if op.status != "Succeeded":
            return _json(
                {"error": op.error or {"code": op.status, "message": f"The operation {op.status}."}}, 200
            )
        if op.result_status == 204:
            return web.Response(status=204)
        return web.Response(status=200, text=json.dumps(op.result_body), content_type="application/json")

    # -- compute -----------------------------------------------------------------------------------

    async def virtual_machines_get(self, request: web.Request) -> web.Response:
        machine = self._machine(request, "vm", "Microsoft.Compute/virtualMachines/read")
        expand = request.query.get("$expand", "")
        if expand and expand.lower() not in ("instanceview", "userdata"):
            raise InvalidParameter(f"The value '{expand}' of $expand is not supported.", "$expand")
        if expand.lower() == "instanceview":
            self._authorize(request, INSTANCE_VIEW_READ, _scope(request, 8))
        return _json(compute.vm_body(machine, expand_instance_view=expand.lower() == "instanceview"))

    async def virtual_machines_instance_view(self, request: web.Request) -> web.Response:
        machine = self._machine(request, "vm", INSTANCE_VIEW_READ)
        return _json(compute.instance_view(machine))

    async def virtual_machine_extensions_list(self, request: web.Request) -> web.Response:
        machine = self._machine(request, "vm", "Microsoft.Compute/virtualMachines/extensions/read")
        return _json({"value": [e.body(machine) for e in machine.extensions.values()]})

    async def virtual_machine_extensions_get(self, request: web.Request) -> web.Response:
        machine = self._machine(request, "vm", "Microsoft.Compute/virtualMachines/extensions/read")
        return _json(self.backend.extension(machine, request.match_info["ext"]).body(machine))

    async def virtual_machine_extensions_create_or_update(self, request: web.Request) -> web.Response:
        machine = self._machine(request, "vm", "Microsoft.Compute/virtualMachines/extensions/write")
        body = await _read_json(request)
        extension, op, created = self.backend.put_extension(machine, request.match_info["ext"], body)
        headers = {"Azure-AsyncOperation": op.urls(_base(request), _api(request))["Azure-AsyncOperation"]}
        return _json(extension.body(machine), status=201 if created else 200, headers=headers)

    async def virtual_machine_scale_sets_get(self, request: web.Request) -> web.Response:
        machine = self._machine(request, "vmss", "Microsoft.Compute/virtualMachineScaleSets/read")
        return _json(compute.vmss_body(machine))

    async def virtual_machine_scale_set_vms_list(self, request: web.Request) -> web.Response:
        machine = self._machine(
            request, "vmss", "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read"
        )
        expand = request.query.get("$expand", "").lower() == "instanceview"
        return self._page(request, compute.vmss_vm_bodies(machine, expand_instance_view=expand))

    async def virtual_machine_scale_set_extensions_create_or_update(
        self, request: web.Request
    ) -> web.Response:
        action = "Microsoft.Compute/virtualMachineScaleSets/extensions/write"
        machine = self._machine(request, "vmss", action)
        body = await _read_json(request)
        extension, op, created = self.backend.put_extension(machine, request.match_info["ext"], body)
        headers = {"Azure-AsyncOperation": op.urls(_base(request), _api(request))["Azure-AsyncOperation"]}
        return _json(extension.body(machine), status=201 if created else 200, headers=headers)

    async def virtual_machine_scale_sets_update_instances(self, request: web.Request) -> web.Response:
        action = "Microsoft.Compute/virtualMachineScaleSets/manualUpgrade/action"
        machine = self._machine(request, "vmss", action)
        op = self.backend.update_instances(machine, await _read_json(request))
        return _accepted(request, op)

    def _machine(self, request: web.Request, kind: str, action: str) -> compute.Machine:
        m = request.match_info
        self._authorize(request, action, _scope(request, 8))
        return self.backend.machine(m["sub"], m["rg"], kind, m["vm"])

    # -- generic resources -------------------------------------------------------------------------

    async def resources_get_by_id(self, request: web.Request) -> web.Response:
        try:
            resource = resources.get_by_id(self.backend, request.path)
        except ApiError:
            # ARM checks access before the provider looks: without read access a missing id is 403, not 404
            action = resources.read_action_for(request.path)
            if action is not None:
                self._authorize(request, action, "/" + request.path.strip("/"))
            raise
        self._authorize(request, resource.read_action, resource.id)
        return _json(resource.body)

    async def resources_list(self, request: web.Request) -> web.Response:
        m = request.match_info
        terms = resources.parse_filter(request.query.get("$filter"))
        if "rg" in m:
            self.backend.check_group(m["sub"], m["rg"])
            terms["resourcegroup"] = m["rg"].lower()
        else:
            self.backend.check_subscription(m["sub"])
        principal = request["principal"]
        visible = [  # ARM lists only what the caller may read
            r.generic_body()
            for r in resources.all_resources(self.backend, m["sub"])
            if resources.matches(r, terms) and self.ctx.rbac.check(principal, r.read_action, r.id)
        ]
        return self._page(request, visible)

    async def not_found(self, request: web.Request) -> web.Response:
        raise NotFound(f"No route matches {request.method} {request.path}.")

    # -- helpers -----------------------------------------------------------------------------------

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        """A `{"value": [...], "nextLink"}` page; `$skiptoken` is the offset."""
        token = request.query.get("$skiptoken", "0")
        if not token.isdigit():
            raise InvalidParameter(f"Invalid $skiptoken {token!r}.", "$skiptoken")
        start = int(token)
        body: dict[str, Any] = {"value": items[start : start + PAGE_SIZE]}
        if start + PAGE_SIZE < len(items):
            body["nextLink"] = str(request.url.update_query({"$skiptoken": str(start + PAGE_SIZE)}))
        return _json(body)


def _operation_results_action(provider: str) -> str:
    """The action ARM checks on a `Location` (operationResults) URL: Microsoft.Network publishes
    `locations/operationResults/read`; Microsoft.Compute publishes only `locations/operations/read` ("Gets the
    status of an asynchronous operation", resource provider operations list), used for both of its URLs."""
    if provider.lower() == "microsoft.compute":
        return "Microsoft.Compute/locations/operations/read"
    return f"{provider}/locations/operationResults/read"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def _accepted(request: web.Request, op: AsyncOperation) -> web.Response:
    headers = {**op.urls(_base(request), _api(request)), "azure-asyncnotification": "Enabled"}
    return web.Response(status=202, headers=headers)


async def _read_json(request: web.Request) -> Any:
    raw = await read_body(request, MAX_BODY)
    if not raw.strip():
        raise InvalidRequestContent("The request content was empty; a JSON object is required.")
    try:
        return strict_loads(raw)
    except JSON_ERRORS as exc:
        raise InvalidRequestContent(
            f"The request content was invalid and could not be deserialized: {exc}."
        ) from exc


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _api(request: web.Request) -> str:
    return request.query.get("api-version", "")


def _scope(request: web.Request, segments: int) -> str:
    """The first `segments` path segments: the resource id an action applies to."""
    return "/" + "/".join(request.path.strip("/").split("/")[:segments])


def _sub_from_path(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else ""


def _token_audience(request: web.Request) -> str:
    import jwt

    try:
        token = bearer_token(request.headers.get("Authorization"))
        return str(jwt.decode(token, options={"verify_signature": False}).get("aud"))
    except Exception:
        return "unknown"
