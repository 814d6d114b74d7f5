"""The sentry HTTP API (`/api/sentry...`, master key) over the CLI's DurableClient connection and errors."""

from __future__ import annotations

import json
from typing import Any

from alertcap_cli.client import DurableClient, _error_message, _json, _suffix
from alertcap_cli.errors import NotFoundError, UsageError

SENTRY_ROUTE = "api/sentry"


class SentryClient:
    """arm, disarm and list, with the management key (the API is admin level)."""

    def __init__(self, client: DurableClient) -> None:
        self.client = client

    def _post(self, action: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        response = self.client._request(
            "POST", f"{SENTRY_ROUTE}/{action}", base=f"{self.client.target.base_url}/",
            content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        if response.status_code == 400:
            raise UsageError(f"{what}: the app rejected the request" + _suffix(_error_message(response)))
        if response.status_code == 404 and action == "disarm":
            raise NotFoundError(f"{body.get('target')} is not armed", "see `alertcap sentry list`")
        self.client._check(response, what)
        reply = _json(response, what)
        return reply if isinstance(reply, dict) else {}

    def arm(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST api/sentry/arm."""
        return self._post("arm", body, "sentry arm")

    def disarm(self, target: str) -> dict[str, Any]:
        """POST api/sentry/disarm."""
        return self._post("disarm", {"target": target}, "sentry disarm")

    def list(self) -> list[dict[str, Any]]:
        """GET api/sentry: the armed targets."""
        response = self.client._request("GET", SENTRY_ROUTE, base=f"{self.client.target.base_url}/")
        self.client._check(response, "sentry list")
        reply = _json(response, "sentry list")
        items = reply.get("sentries") if isinstance(reply, dict) else None
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
