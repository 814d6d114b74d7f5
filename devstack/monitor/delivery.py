"""Webhook delivery with Azure Monitor action groups' retry policy.

Azure retries a webhook call only on HTTP 408, 429, 503, 504 or a transport failure/timeout, at most 5
times, waiting 5, 20, 5, 40 and 5 seconds before the retries. 500, 502 and every other 4xx are final.
After a delivery exhausts its retries the endpoint is muted for 15 minutes (no calls at all).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

log = logging.getLogger("devstack.monitor.delivery")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """When and how often a failed webhook call is tried again."""

    delays: tuple[float, ...] = (5.0, 20.0, 5.0, 40.0, 5.0)
    retry_statuses: frozenset[int] = frozenset({408, 429, 503, 504})
    timeout_seconds: float = 10.0
    mute_seconds: float = 900.0

    def retries(self, status: int | None) -> bool:
        """True for a retriable outcome (`None` = a transport error or a timeout)."""
        return status is None or status in self.retry_statuses


@dataclass(frozen=True)
class Attempt:
    """One HTTP call: its status, or the transport error when there was no response."""

    status: int | None
    error: str | None = None


@dataclass
class DeliveryResult:
    """What happened to one notification."""

    attempts: list[Attempt] = field(default_factory=list)
    delivered: bool = False
    response: Any = None
    muted: bool = False

    @property
    def final_status(self) -> int | None:
        """The status of the last attempt (None when it had no response or nothing was sent)."""
        return self.attempts[-1].status if self.attempts else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON view (journal, demo)."""
        return {
            "delivered": self.delivered,
            "muted": self.muted,
            "attempts": [{"status": a.status, "error": a.error} for a in self.attempts],
            "response": self.response,
        }


def redact(url: URL) -> str:
    """The URL without its query string, which carries the function key."""
    return str(url.with_query(None))


class WebhookSender:
    """Posts JSON to one webhook URL (the function key goes in `?code=`) with the retry policy; with a
    `token_provider`, each call also carries `Authorization: Bearer <token>` (a secure webhook)."""

    def __init__(self, session: aiohttp.ClientSession, url: str, function_key: str, *,
                 policy: RetryPolicy | None = None, sleep: Sleep = asyncio.sleep,
                 now: Callable[[], float] | None = None, ssl_context: ssl.SSLContext | None = None,
                 token_provider: Callable[[], str] | None = None) -> None:
        self._session = session
        self._token_provider = token_provider
        self._url = URL(url).update_query(code=function_key) if function_key else URL(url)
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._now = now or asyncio.get_running_loop().time
        self._ssl = ssl_context if ssl_context is not None else True
        self._muted_until = float("-inf")

    @property
    def endpoint(self) -> str:
        """The webhook URL without the key (safe to log)."""
        return redact(self._url)

    async def send(self, payload: dict[str, Any]) -> DeliveryResult:
        """Deliver `payload`, retrying per the policy; never raises for HTTP or transport failures."""
        result = DeliveryResult()
        if self._now() < self._muted_until:
            log.warning("webhook %s is muted after failed retries; notification dropped", self.endpoint)
            result.muted = True
            return result
        delays = iter(self._policy.delays)
        while True:
            attempt, body = await self._attempt(payload)
            result.attempts.append(attempt)
            if attempt.status is not None and 200 <= attempt.status < 300:
                result.delivered, result.response = True, body
                return result
            delay = next(delays, None) if self._policy.retries(attempt.status) else None
            if delay is None:
                self._give_up(result)
                return result
            log.info("webhook %s answered %s; retrying in %ss", self.endpoint,
                     attempt.status if attempt.status is not None else attempt.error, delay)
            await self._sleep(delay)

    def _give_up(self, result: DeliveryResult) -> None:
        last = result.attempts[-1]
        outcome = last.status if last.status is not None else last.error
        if self._policy.retries(last.status):
            self._muted_until = self._now() + self._policy.mute_seconds
            log.error("webhook %s failed after %d attempts (%s); muted for %ss", self.endpoint,
                      len(result.attempts), outcome, self._policy.mute_seconds)
        else:
            log.error("webhook %s answered %s, which is not retried", self.endpoint, outcome)

    async def _attempt(self, payload: dict[str, Any]) -> tuple[Attempt, Any]:
        headers = {"User-Agent": "IcMBroadcaster/1.0", "x-ms-request-id": str(uuid.uuid4())}
        if self._token_provider is not None:
            headers["Authorization"] = f"Bearer {self._token_provider()}"
        timeout = aiohttp.ClientTimeout(total=self._policy.timeout_seconds)
        try:
            async with self._session.post(self._url, json=payload, headers=headers, timeout=timeout,
                                          ssl=self._ssl) as response:
                text = await response.text(errors="replace")
                return Attempt(response.status), _json_or_text(response, text)
        except TimeoutError:
            return Attempt(None, f"timeout after {self._policy.timeout_seconds}s"), None
        except aiohttp.ClientError as exc:
            return Attempt(None, f"{type(exc).__name__}: {exc}".replace(str(self._url), self.endpoint)), None


def _json_or_text(response: aiohttp.ClientResponse, text: str) -> Any:
    if response.content_type == "application/json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
