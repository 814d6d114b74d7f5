"""Errors the ACS Email service answers with (`{"error": {"code", "message"}}` + `x-ms-error-code`)."""

from devstack.common.errors import ApiError


class EmailError(ApiError):
    """Base of the ACS Email wire errors."""


class BadRequest(EmailError):
    """400: the message breaks a rule; the message names the field."""

    def __init__(self, message: str, target: str | None = None) -> None:
        super().__init__(400, "BadRequest", message, target)


class PayloadTooLarge(EmailError):
    """413: the request (attachments included) exceeds the 10 MB limit."""

    def __init__(self, message: str) -> None:
        super().__init__(413, "PayloadTooLarge", message)


class DomainNotLinked(EmailError):
    """404: the sender's domain is not linked to the Communication Services resource."""

    def __init__(self, domain: str) -> None:
        super().__init__(
            404, "DomainNotLinked", f"The specified sender domain '{domain}' has not been linked."
        )


class OperationNotFound(EmailError):
    """404: no send operation with that id."""

    def __init__(self, operation_id: str) -> None:
        super().__init__(404, "NotFound", f"Operation '{operation_id}' was not found.")


class Unauthorized(EmailError):
    """401: missing, malformed, expired or wrongly signed credentials."""

    def __init__(self, message: str) -> None:
        super().__init__(401, "Unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="acs"'})


class Forbidden(EmailError):
    """403: the identity has no role assignment allowing the call on this resource."""

    def __init__(self, message: str) -> None:
        super().__init__(403, "Forbidden", message)
