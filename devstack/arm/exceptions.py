"""ARM wire errors, one class per error code (moto style). All are `ApiError`s: the shared error middleware
turns them into `{"error": {"code", "message", "target"?}}` responses.

Codes marked ASSUMED are not published by Azure (see docs/arm-emulator.md); their status and code can be
overridden per emulator through `AssumedErrors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from devstack.common.errors import ApiError


class AuthenticationFailed(ApiError):
    """401: no Authorization header (ARM's code for a missing token)."""

    def __init__(
        self, message: str = "Authentication failed. The 'Authorization' header is missing."
    ) -> None:
        super().__init__(401, "AuthenticationFailed", message, headers=_challenge("invalid_token", message))


class InvalidAuthenticationToken(ApiError):
    """401: a token that is malformed, badly signed or from another issuer."""

    def __init__(self, message: str = "The access token is invalid.") -> None:
        super().__init__(
            401, "InvalidAuthenticationToken", message, headers=_challenge("invalid_token", message)
        )


class ExpiredAuthenticationToken(ApiError):
    """401: an expired token."""

    def __init__(self, message: str = "The access token has expired.") -> None:
        super().__init__(
            401, "ExpiredAuthenticationToken", message, headers=_challenge("invalid_token", message)
        )


class InvalidAuthenticationTokenAudience(ApiError):
    """401: a token for another resource."""

    def __init__(self, audience: object) -> None:
        message = (
            f"The access token has been obtained for wrong audience or resource '{audience}'. "
            "It should exactly "
            "match with one of the allowed audiences 'https://management.core.windows.net/',"
            "'https://management.azure.com/'."
        )
        super().__init__(
            401, "InvalidAuthenticationTokenAudience", message, headers=_challenge("invalid_token", message)
        )


class AuthorizationFailed(ApiError):
    """403: the principal holds no role assignment granting `action` at `scope` (ARM's exact wording)."""

    def __init__(self, principal_id: str, action: str, scope: str) -> None:
        super().__init__(
            403,
            "AuthorizationFailed",
            f"The client '{principal_id}' with object id '{principal_id}' does not have authorization to "
            f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently "
            "granted, please refresh your credentials.",
        )


class LinkedAuthorizationFailed(ApiError):
    """403: the principal may perform `action` on `scope` but not `linked_action` on a resource the request
    links to (`linked_scope`), e.g. the storage account a packet capture writes into (ARM's wording)."""

    def __init__(
        self, principal_id: str, action: str, scope: str, linked_action: str, linked_scope: str
    ) -> None:
        super().__init__(
            403,
            "LinkedAuthorizationFailed",
            f"The client '{principal_id}' with object id '{principal_id}' has permission to perform action "
            f"'{action}' on scope '{scope}'; however, it does not have permission to perform action(s) "
            f"'{linked_action}' on the linked scope(s) '{linked_scope}' (respectively) or the linked "
            "scope(s) are invalid.",
        )


class SubscriptionNotFound(ApiError):
    """404: a subscription the emulator does not know."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__(
            404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found."
        )


class ResourceGroupNotFound(ApiError):
    """404: a resource group with no emulated resources."""

    def __init__(self, name: str) -> None:
        super().__init__(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


class InvalidResourceGroupLocation(ApiError):
    """409: a resource group exists in another location (ARM's code; a group's location cannot change)."""

    def __init__(self, name: str, existing: str, requested: str) -> None:
        super().__init__(
            409,
            "InvalidResourceGroupLocation",
            f"Invalid resource group location '{requested}'. The Resource group already exists in location "
            f"'{existing}'. A resource group cannot be moved to a different location.",
        )


class ResourceNotFound(ApiError):
    """404: ARM's message for a missing resource."""

    def __init__(self, resource_type: str, name: str, resource_group: str) -> None:
        super().__init__(
            404,
            "ResourceNotFound",
            f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. "
            "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        )


class NotFound(ApiError):
    """404 for things that are not resources (operations, unknown routes)."""

    def __init__(self, message: str) -> None:
        super().__init__(404, "NotFound", message)


class InvalidRequestContent(ApiError):
    """400: the body is not JSON or not a JSON object."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "InvalidRequestContent", message)


class InvalidRequestFormat(ApiError):
    """400: a required property is missing or has the wrong JSON type (the Network RP's code)."""

    def __init__(self, message: str, target: str | None = None) -> None:
        super().__init__(400, "InvalidRequestFormat", message, target=target)


class InvalidParameter(ApiError):
    """400: a property value is out of range or not allowed."""

    def __init__(self, message: str, target: str | None = None) -> None:
        super().__init__(400, "InvalidParameter", message, target=target)


class InvalidFilter(ApiError):
    """400: a `$filter` the emulator cannot evaluate."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "InvalidFilterInQueryString", message, target="$filter")


class MissingApiVersion(ApiError):
    """400: ARM rejects calls without `api-version`."""

    def __init__(self) -> None:
        super().__init__(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )


class OperationNotAllowed(ApiError):
    """409: an operation that conflicts with the resource's state."""

    def __init__(self, message: str) -> None:
        super().__init__(409, "OperationNotAllowed", message)


@dataclass(frozen=True)
class ErrorSpec:
    """Status and code of an ASSUMED error; the message is built by the model."""

    status: int
    code: str


@dataclass
class AssumedErrors:
    """The errors Azure does not document, with their (overridable) status and code."""

    agent_missing: ErrorSpec = field(
        default_factory=lambda: ErrorSpec(400, "NetworkWatcherAgentNotInstalled")
    )
    vm_not_running: ErrorSpec = field(default_factory=lambda: ErrorSpec(400, "VmNotRunning"))
    duplicate_running: ErrorSpec = field(default_factory=lambda: ErrorSpec(409, "PacketCaptureAlreadyExists"))
    session_limit: ErrorSpec = field(default_factory=lambda: ErrorSpec(400, "PacketCaptureCountLimitReached"))
    target_not_found: ErrorSpec = field(default_factory=lambda: ErrorSpec(404, "TargetResourceNotFound"))
    target_region: ErrorSpec = field(
        default_factory=lambda: ErrorSpec(400, "TargetNotInNetworkWatcherRegion")
    )
    storage_unknown: ErrorSpec = field(default_factory=lambda: ErrorSpec(400, "InvalidStorageId"))

    def set(self, kind: str, status: int | None = None, code: str | None = None) -> ErrorSpec:
        """Override one error's status and/or code; ValueError for an unknown kind or status."""
        if kind not in self.__dataclass_fields__:
            raise ValueError(f"unknown error kind {kind!r}; known: {', '.join(self.__dataclass_fields__)}")
        if status is not None and not 400 <= status <= 599:
            raise ValueError(f"status must be 400-599, got {status}")
        spec = replace(getattr(self, kind), **{k: v for k, v in (("status", status), ("code", code)) if v})
        setattr(self, kind, spec)
        return spec

    def error(self, kind: str, message: str, target: str | None = None) -> ApiError:
        """The ApiError for `kind` with this message."""
        spec: ErrorSpec = getattr(self, kind)
        return ApiError(spec.status, spec.code, message, target=target)


def _challenge(error: str, description: str) -> dict[str, str]:
    return {
        "WWW-Authenticate": (
            'Bearer authorization_uri="https://login.windows.net/", '
            f'error="{error}", error_description="{description}"'
        )
    }
