"""An httpx client for the Durable HTTP management API and the alert webhook, with typed results and errors.

Spec: the Durable Functions HTTP API (`/runtime/webhooks/durabletask/`),
https://learn.microsoft.com/azure/azure-functions/durable/durable-functions-http-api (docs/host.md).
The key travels in the `x-functions-key` header, never in a URL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from alertcap_cli.errors import (
    AuthError,
    CliError,
    NotFoundError,
    RunEndedError,
    ServerError,
    UnreachableError,
    UsageError,
)
from alertcap_cli.models import Run, StartedRun, WebhookReply
from alertcap_cli.target import Target, tls_verify
from alertcap_cli.timeparse import format_api_time

CONTINUATION_HEADER = "x-ms-continuation-token"
WEBHOOK_ROUTE = "api/alerts"
DEFAULT_PAGE_SIZE = 100


class DurableClient:
    """Talks to one function app: management calls under `runtime/webhooks/durabletask`, and the webhook."""

    def __init__(self, target: Target, *, timeout: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.target = target
        self._http = httpx.Client(verify=tls_verify(target.verify), timeout=timeout, transport=transport,
                                  headers={"User-Agent": "alertcap-cli"})

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> DurableClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------------------
    def _params(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        params = {"taskHub": self.target.task_hub} if self.target.task_hub else {}
        params.update(extra or {})
        return params

    def _request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None, key: str | None = None,
                 content: bytes | None = None, base: str | None = None) -> httpx.Response:
        url = (base or self.target.management_url) + path
        all_headers = dict(headers or {})
        secret = key if key is not None else self.target.management_key
        if secret:
            all_headers["x-functions-key"] = secret
        try:
            return self._http.request(method, url, params=params, headers=all_headers, content=content)
        except httpx.InvalidURL as exc:
            raise UsageError(f"invalid app URL {self.target.base_url!r}: {exc}",
                             "use the app's origin, e.g. https://<app>.azurewebsites.net") from None
        except httpx.TimeoutException:
            raise UnreachableError(
                f"{self.target.base_url} did not answer in time",
                f"check that {self.target.description} is up and reachable",
            ) from None
        except httpx.HTTPError as exc:
            raise UnreachableError(
                f"cannot reach {self.target.base_url}: {_reason(exc)}",
                _unreachable_hint(self.target),
            ) from None

    def _check(self, response: httpx.Response, what: str, instance_id: str | None = None) -> None:
        code = response.status_code
        if code < 400:
            return
        message = _error_message(response)
        if code in (401, 403):
            raise AuthError(
                f"{self.target.base_url} rejected the key (HTTP {code}) for {what}",
                "use the master key or the durabletask_extension system key (--key or ALERTCAP_KEY)",
            )
        if code == 404 and instance_id is not None:
            raise NotFoundError(f"no run with id {instance_id!r}", "list runs with `alertcap runs list`")
        if code == 404:
            raise NotFoundError(f"{what}: not found (HTTP 404)", "is this an alertcap function app?")
        if code == 412 and instance_id is not None:  # the extension refuses to purge a run still going
            raise CliError(f"{what}: the run is not over, so its history cannot be purged" + _suffix(message),
                           *terminate_first_hints(instance_id))
        if code == 410:
            raise RunEndedError(f"{what}: the run {instance_id} has already ended" + _suffix(message))
        if code >= 500:
            raise ServerError(f"{what}: the app answered HTTP {code}" + _suffix(message),
                              "see the function host's log")
        raise CliError(f"{what}: the app answered HTTP {code}" + _suffix(message))

    # -- runs ----------------------------------------------------------------------------------------
    def get_run(self, instance_id: str, *, history: bool = False) -> Run:
        """GET instances/{id}; NotFoundError if it does not exist."""
        flags = {"showHistory": "true", "showHistoryOutput": "true"} if history else {}
        response = self._request("GET", f"instances/{_quote(instance_id)}", params=self._params(flags))
        self._check(response, f"show {instance_id}", instance_id)
        body = _json(response, f"show {instance_id}")
        if not isinstance(body, dict) or not body.get("instanceId"):
            raise ServerError(f"show {instance_id}: the status payload has no instanceId")
        return Run.from_api(body)

    def list_runs(self, *, statuses: Sequence[str] = (), created_from: datetime | None = None,
                  created_to: datetime | None = None, prefix: str | None = None,
                  page_size: int = DEFAULT_PAGE_SIZE, show_input: bool = True) -> Iterator[Run]:
        """GET instances, following `x-ms-continuation-token` until the last page."""
        params = {"top": str(page_size), "showInput": "true" if show_input else "false"}
        if statuses:
            params["runtimeStatus"] = ",".join(statuses)
        if created_from:
            params["createdTimeFrom"] = format_api_time(created_from)
        if created_to:
            params["createdTimeTo"] = format_api_time(created_to)
        if prefix:
            params["instanceIdPrefix"] = prefix
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            headers = {CONTINUATION_HEADER: token} if token else {}
            response = self._request("GET", "instances", params=self._params(params), headers=headers)
            self._check(response, "list runs")
            page = _json(response, "list runs")
            if not isinstance(page, list):
                raise ServerError("list runs: the app did not answer with a JSON array")
            yield from (Run.from_api(item) for item in page if isinstance(item, dict))
            token = response.headers.get(CONTINUATION_HEADER, "").strip()
            if not token or token == "null" or token in seen_tokens:
                return
            seen_tokens.add(token)

    def post_action(self, instance_id: str, action: str, reason: str | None = None) -> None:
        """POST instances/{id}/{action} (terminate, suspend, resume, rewind) with an optional reason."""
        params = self._params({"reason": reason} if reason is not None else {})
        response = self._request("POST", f"instances/{_quote(instance_id)}/{action}", params=params)
        self._check(response, f"{action} {instance_id}", instance_id)

    def rewind(self, instance_id: str, reason: str) -> None:
        """POST instances/{id}/rewind (Failed runs only)."""
        self.post_action(instance_id, "rewind", reason)

    def restart(self, instance_id: str) -> None:
        """POST instances/{id}/restart?restartWithNewInstanceId=false: same id and input, from the start."""
        params = self._params({"restartWithNewInstanceId": "false"})
        response = self._request("POST", f"instances/{_quote(instance_id)}/restart", params=params)
        self._check(response, f"restart {instance_id}", instance_id)

    def purge(self, instance_id: str) -> int:
        """DELETE instances/{id}; returns how many instances were deleted (NotFoundError if none)."""
        response = self._request("DELETE", f"instances/{_quote(instance_id)}", params=self._params())
        self._check(response, f"purge {instance_id}", instance_id)
        body = _json(response, f"purge {instance_id}", allow_empty=True)
        return int(body.get("instancesDeleted", 1)) if isinstance(body, dict) else 1

    # -- webhook -------------------------------------------------------------------------------------
    def post_alert(self, payload: bytes) -> WebhookReply:
        """POST the payload to `/api/alerts` with the function key; return the runs it reports."""
        response = self._request("POST", WEBHOOK_ROUTE, base=f"{self.target.base_url}/", content=payload,
                                 headers={"Content-Type": "application/json"},
                                 key=self.target.webhook_key or "")
        if response.status_code in (400, 413, 415, 422):
            raise UsageError(f"the webhook rejected the payload (HTTP {response.status_code})"
                             + _suffix(_error_message(response)),
                             "check it against `alertcap alert sample KIND --vm ID`")
        self._check(response, "send alert")
        body = _json(response, "send alert", allow_empty=True)
        return parse_webhook_reply(response.status_code, body)


def terminate_first_hints(instance_id: str) -> tuple[str, str]:
    """What to do instead of purging a run that has not ended."""
    return (f"terminate it first: `alertcap runs terminate {instance_id} --reason ...`, then purge it",
            "purging a run that is still going would lose its capture email and let the same alert start "
            "it again")


def parse_webhook_reply(status: int, body: Any) -> WebhookReply:
    """Find the runs (instance ids and status URLs) and ignore reasons in the webhook's JSON answer."""
    runs: list[StartedRun] = []
    seen: set[str] = set()
    for item in iter_dicts(body):
        run_id = item.get("instanceId") or item.get("id")
        if not isinstance(run_id, str) or run_id in seen or not ("statusQueryGetUri" in item or
                                                                 "instanceId" in item or "target" in item):
            continue
        seen.add(run_id)
        result = item.get("result") or item.get("status") or item.get("outcome")
        if result is None and isinstance(item.get("duplicate"), bool):
            result = "duplicate" if item["duplicate"] else "started"
        target = item.get("target") or item.get("targetId") or item.get("target_id")
        runs.append(StartedRun(id=run_id, target=target if isinstance(target, str) else None,
                               result=str(result) if result is not None else None,
                               status_url=item.get("statusQueryGetUri")))
    ignored: list[str] = []
    if isinstance(body, dict):
        if not runs and isinstance(body.get("reason"), str):
            ignored.append(body["reason"])
        raw = body.get("ignored")
        for item in raw if isinstance(raw, list) else [raw] if isinstance(raw, str) else []:
            if isinstance(item, dict):
                target, reason = item.get("target"), item.get("reason", "")
                ignored.append(f"{target}: {reason}" if target else str(reason))
            elif isinstance(item, str):
                ignored.append(item)
    return WebhookReply(http_status=status, runs=runs, ignored=ignored, body=body)


def iter_dicts(value: Any, depth: int = 3) -> Iterator[dict[str, Any]]:
    """Every JSON object in `value` (itself first, then nested ones down to `depth` levels)."""
    if isinstance(value, dict):
        yield value
        if depth > 0:
            for child in value.values():
                yield from iter_dicts(child, depth - 1)
    elif isinstance(value, list) and depth > 0:
        for child in value:
            yield from iter_dicts(child, depth - 1)


def _quote(instance_id: str) -> str:
    return quote(instance_id, safe="")


def _json(response: httpx.Response, what: str, *, allow_empty: bool = False) -> Any:
    if allow_empty and not response.content.strip():
        return {}
    try:
        return response.json()
    except ValueError:
        raise ServerError(f"{what}: the app answered HTTP {response.status_code} with a non-JSON body",
                          "is the URL an alertcap function app?") from None


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, str):  # the Durable extension answers some refusals with a bare JSON string
        return body[:300]
    if isinstance(body, dict):
        if isinstance(body.get("field"), str) and isinstance(body.get("message"), str):
            return f"{body['field']}: {body['message']}"[:300]
        for key in ("ExceptionMessage", "Message", "message", "error"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if value:
                return str(value)[:300]
    return ""


def _suffix(message: str) -> str:
    first = message.splitlines()[0].strip() if message else ""
    return f": {first}" if first else ""


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0]


def _unreachable_hint(target: Target) -> str:
    if target.devstack_state is not None:
        return f"is the devstack running? start it with `alertcap dev up` (state in {target.devstack_state})"
    return "check --app-url and that the app is running"
