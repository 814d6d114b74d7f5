"""Where the CLI points: the local devstack (its state file) or a deployed function app."""

from __future__ import annotations

import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from alertcap_cli import armkeys
from alertcap_cli.errors import AuthError, CliError, UsageError
from devstack.paths import REPO_ROOT

STATE_DIR_NAME = ".devstack"


def tls_verify(verify: str | bool) -> ssl.SSLContext | bool:
    """httpx's `verify`: a context trusting the CA bundle file, or True/False."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


@dataclass(frozen=True)
class TargetOptions:
    """The global targeting options as the user gave them (flags or environment)."""

    state_dir: Path | None = None
    app_url: str | None = None
    key: str | None = None
    app_id: str | None = None


@dataclass(frozen=True)
class Target:
    """A resolved function app: its origin, keys, TLS verification and task hub."""

    base_url: str
    management_key: str | None
    webhook_key: str | None
    verify: str | bool
    task_hub: str | None
    description: str
    devstack_state: Path | None = None

    @property
    def management_url(self) -> str:
        """The Durable HTTP management API base, with a trailing slash."""
        return f"{self.base_url}/runtime/webhooks/durabletask/"


def default_state_dir() -> Path:
    """`.devstack/` under the CWD or a parent that has one running, else under the repository root."""
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / STATE_DIR_NAME / "state.json").is_file():
            return folder / STATE_DIR_NAME
    return REPO_ROOT / STATE_DIR_NAME


def load_devstack_state(state_dir: Path) -> dict[str, object]:
    """Read `state_dir/state.json` (written by `python -m devstack up` or `python -m devstack.host`)."""
    path = state_dir / "state.json"
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise CliError(
            f"no devstack is running ({path} does not exist)",
            "start one with `alertcap dev up`",
            "or target a deployed app with --app-url and --key (or ALERTCAP_KEY)",
        ) from None
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}", "restart the devstack with `alertcap dev up`") from None
    if not isinstance(state, dict):
        raise CliError(f"{path} does not hold a JSON object", "restart the devstack with `alertcap dev up`")
    return state


def devstack_target(state_dir: Path) -> Target:
    """The function host of the devstack whose state lives in `state_dir`."""
    state = load_devstack_state(state_dir)
    base_url = state.get("function_host") or state.get("base_url")
    if not base_url:
        raise CliError(
            f"the devstack in {state_dir} runs no function host (started with --no-host?)",
            "restart it with `alertcap dev up`",
        )
    ca_bundle = state.get("ca_bundle")
    master_key = state.get("master_key")
    return Target(
        base_url=str(base_url).rstrip("/"),
        management_key=str(master_key) if master_key else None,
        webhook_key=str(state.get("function_key") or master_key or "") or None,
        verify=str(ca_bundle) if ca_bundle and Path(str(ca_bundle)).is_file() else True,
        task_hub=str(state["task_hub"]) if state.get("task_hub") else None,
        description=f"the devstack in {state_dir}",
        devstack_state=state_dir,
    )


def deployed_target(options: TargetOptions) -> Target:
    """A deployed app from --app-url/--app-id and a key from --key, ALERTCAP_KEY or ARM listkeys."""
    verify: str | bool = os.environ.get("ALERTCAP_CA_BUNDLE") or True
    app_url = options.app_url
    if app_url and not app_url.startswith(("http://", "https://")):
        raise UsageError(f"--app-url: {app_url!r} is not an http(s) URL",
                         "use the app's origin, e.g. https://<app>.azurewebsites.net")
    key = options.key or os.environ.get("ALERTCAP_KEY")
    if key:
        management_key = webhook_key = key
    elif options.app_id:
        keys = armkeys.fetch_host_keys(options.app_id, verify)
        management_key, webhook_key = keys.management_key, keys.webhook_key
    else:
        raise AuthError(
            f"no key for {app_url}",
            "pass --key KEY or set ALERTCAP_KEY (the app's master key or durabletask_extension system key)",
            "or pass --app-id <site resource id> to fetch it through ARM with your Azure sign-in",
        )
    if not app_url:
        app_url = armkeys.fetch_app_url(str(options.app_id), verify)
    return Target(
        base_url=app_url.rstrip("/"),
        management_key=management_key,
        webhook_key=webhook_key,
        verify=verify,
        task_hub=os.environ.get("ALERTCAP_TASK_HUB") or None,
        description=app_url,
    )


def resolve_target(options: TargetOptions) -> Target:
    """The devstack by default; a deployed app when --app-url or --app-id is given."""
    if options.app_url or options.app_id:
        return deployed_target(options)
    state_dir = options.state_dir or default_state_dir()
    target = devstack_target(state_dir)
    if options.key:
        return Target(**{**target.__dict__, "management_key": options.key, "webhook_key": options.key})
    return target
