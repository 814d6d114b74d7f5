"""Fetch a deployed function app's host keys through ARM `listkeys`, signed in with azure-identity.

The caller needs `Microsoft.Web/sites/host/listkeys/action` on the site (for example the built-in
"Website Contributor" role, or a custom role with that action plus `Microsoft.Web/sites/read`).
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from alertcap_cli.errors import AuthError, CliError, NotFoundError, ServerError, UnreachableError, UsageError

SITES_API_VERSION = "2024-04-01"
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
ROLE_HINT = (
    "the signed-in identity needs Microsoft.Web/sites/host/listkeys/action on the app "
    "(e.g. the 'Website Contributor' role)"
)


@dataclass(frozen=True)
class HostKeys:
    """The keys `listkeys` returns; the CLI uses the durabletask system key (or the master key)."""

    master_key: str | None
    function_keys: dict[str, str]
    system_keys: dict[str, str]

    @property
    def management_key(self) -> str | None:
        """The key for `/runtime/webhooks/durabletask`: the extension's system key, else the master key."""
        return self.system_keys.get("durabletask_extension") or self.master_key

    @property
    def webhook_key(self) -> str | None:
        """The key for `POST /api/alerts`: the default function key, else the master key."""
        return self.function_keys.get("default") or self.master_key


def arm_endpoint() -> str:
    """The ARM endpoint (`ALERTCAP_ARM_ENDPOINT`, default public Azure)."""
    return os.environ.get("ALERTCAP_ARM_ENDPOINT", DEFAULT_ARM_ENDPOINT).rstrip("/")


def _arm_token() -> str:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import DefaultAzureCredential

    audience = os.environ.get("ALERTCAP_ARM_AUDIENCE", DEFAULT_ARM_ENDPOINT).rstrip("/")
    try:
        credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
        return credential.get_token(f"{audience}/.default").token
    except ClientAuthenticationError as exc:
        raise AuthError(
            "could not get an Azure token to read the app's keys",
            "sign in with `az login` (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET), "
            "or pass the key with --key / ALERTCAP_KEY",
            str(exc).splitlines()[0] if str(exc) else "",
        ) from None


def _arm_call(method: str, path: str, token: str, verify: str | bool) -> dict[str, Any]:
    url = f"{arm_endpoint()}{path}?api-version={SITES_API_VERSION}"
    try:
        response = httpx.request(method, url, headers={"Authorization": f"Bearer {token}"},
                                 verify=ssl.create_default_context(cafile=verify) if isinstance(verify, str)
                                 else verify, timeout=30)
    except httpx.HTTPError as exc:
        raise UnreachableError(f"cannot reach ARM at {arm_endpoint()}: {exc}",
                               "check your network, or set ALERTCAP_ARM_ENDPOINT for another cloud") from None
    if response.status_code in (401, 403):
        raise AuthError(f"ARM refused {method} {path} (HTTP {response.status_code})", ROLE_HINT)
    if response.status_code == 404:
        raise NotFoundError(f"no function app at {path}", "check --app-id (the site's full ARM resource id)")
    if response.status_code >= 500:
        raise ServerError(f"ARM answered HTTP {response.status_code} to {method} {path}", "try again later")
    if response.status_code >= 400:
        raise CliError(f"ARM answered HTTP {response.status_code} to {method} {path}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError:
        raise ServerError(f"ARM answered {method} {path} with a body that is not JSON") from None
    return body if isinstance(body, dict) else {}


def validate_site_id(app_id: str) -> str:
    """Check that `app_id` is a `Microsoft.Web/sites` resource id; return it without a trailing slash."""
    parts = app_id.strip().strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if (len(parts) != 8 or lowered[0] != "subscriptions" or lowered[2] != "resourcegroups"
            or lowered[4] != "providers" or lowered[5] != "microsoft.web" or lowered[6] != "sites"):
        raise UsageError(
            f"--app-id: {app_id!r} is not a function app resource id",
            "use /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Web/sites/<app>",
        )
    return "/" + "/".join(parts)


def fetch_host_keys(app_id: str, verify: str | bool = True) -> HostKeys:
    """POST `<site>/host/default/listkeys` and return the keys."""
    site = validate_site_id(app_id)
    body = _arm_call("POST", f"{site}/host/default/listkeys", _arm_token(), verify)
    return HostKeys(
        master_key=body.get("masterKey"),
        function_keys=dict(body.get("functionKeys") or {}),
        system_keys=dict(body.get("systemKeys") or {}),
    )


def fetch_app_url(app_id: str, verify: str | bool = True) -> str:
    """GET the site and return `https://<defaultHostName>`."""
    site = validate_site_id(app_id)
    body = _arm_call("GET", site, _arm_token(), verify)
    host = (body.get("properties") or {}).get("defaultHostName")
    if not host:
        raise CliError(f"the site {site} has no defaultHostName", "pass --app-url explicitly")
    return f"https://{host}"
