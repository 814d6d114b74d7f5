"""Split Azure errors into permanent ones (returned as an :class:`Outcome`) and transient ones (raised).

Durable's Python ``RetryOptions`` has no predicate: anything an activity raises is retried. So errors that a
retry cannot fix (every 4xx answer: validation, unauthorised, forbidden, not found, conflict, ...) become a
typed failure outcome, while 408, 429, 5xx, timeouts and connection errors (``ServiceRequestError``,
``ServiceResponseError``, which are not ``HttpResponseError``) propagate and are retried by
``call_activity_with_retry``. ARM's "another operation is in progress" codes are transient whatever the status
(Microsoft.Network answers 409 ``AnotherOperationInProgress`` or 429 ``RetryableErrorDueToAnotherOperation``).
An LRO that ends ``Failed`` raises ``HttpResponseError`` carrying the poll's 200 and is retried too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import HttpResponseError

from core.outcome import Outcome

TRANSIENT_CLIENT_STATUSES = frozenset({408, 429})
TRANSIENT_CODES = frozenset({"anotheroperationinprogress"})
TRANSIENT_CODE_PREFIX = "retryableerror"
log = logging.getLogger("alertcap.activities")


def error_code(exc: HttpResponseError) -> str:
    """The ARM/ACS error code of ``exc`` (Azure Storage's ``x-ms-error-code`` for a blob call), or the HTTP
    status as text."""
    code = getattr(getattr(exc, "error", None), "code", None) or getattr(exc, "error_code", None)
    return str(code or exc.status_code or "Unknown")


def error_message(exc: HttpResponseError) -> str:
    """A short message without headers or tokens."""
    message = getattr(getattr(exc, "error", None), "message", None) or exc.reason or ""
    return f"HTTP {exc.status_code} {error_code(exc)}: {message}"[:500]


def is_permanent(exc: BaseException) -> bool:
    """True for HTTP answers a retry cannot change: a 4xx other than 408/429 and not "try again later"."""
    if not isinstance(exc, HttpResponseError) or exc.status_code is None:
        return False
    if not 400 <= exc.status_code < 500 or exc.status_code in TRANSIENT_CLIENT_STATUSES:
        return False
    code = error_code(exc).lower()
    return code not in TRANSIENT_CODES and not code.startswith(TRANSIENT_CODE_PREFIX)


def outcome_activity(fn: Callable[..., Outcome]) -> Callable[..., dict[str, Any]]:
    """Run ``fn`` and serialise its outcome; permanent HTTP errors become failures, the rest re-raise."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return fn(*args, **kwargs).to_dict()
        except HttpResponseError as exc:
            if not is_permanent(exc):
                log.warning("%s: transient error, will be retried: %s", fn.__name__, error_message(exc))
                raise
            log.info("%s: permanent error: %s", fn.__name__, error_message(exc))
            return Outcome.failure(error_code(exc), error_message(exc)).to_dict()

    return wrapper
