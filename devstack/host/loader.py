"""Import a Python v2-model function app and index its functions through ``azure.functions``."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func


class AppLoadError(Exception):
    """The function app cannot be loaded or uses something the host does not support."""


SUPPORTED_BINDINGS = {"httpTrigger", "http", "orchestrationTrigger", "activityTrigger", "durableClient"}
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")


@dataclass(frozen=True)
class HttpFunction:
    """An ``httpTrigger`` function."""

    name: str
    fn: Callable[..., Any]
    route: str
    methods: tuple[str, ...]
    auth_level: str
    request_param: str
    client_param: str | None
    context_param: str | None


@dataclass(frozen=True)
class OrchestratorFunction:
    """An ``orchestrationTrigger`` function: ``handle`` is the SDK's Orchestrator.create handle."""

    name: str
    handle: Callable[[Any], str]


@dataclass(frozen=True)
class ActivityFunction:
    """An ``activityTrigger`` function."""

    name: str
    fn: Callable[..., Any]
    input_param: str
    context_param: str | None
    is_async: bool


@dataclass
class FunctionIndex:
    """All functions of an app; durable names resolve case-insensitively as the extension does."""

    http: list[HttpFunction] = field(default_factory=list)
    orchestrators: dict[str, OrchestratorFunction] = field(default_factory=dict)
    activities: dict[str, ActivityFunction] = field(default_factory=dict)

    def orchestrator(self, name: str) -> OrchestratorFunction | None:
        """The orchestrator with this name (any case)."""
        return self.orchestrators.get(name.lower())

    def activity(self, name: str) -> ActivityFunction | None:
        """The activity with this name (any case)."""
        return self.activities.get(name.lower())


def import_app(app_dir: Path, module_name: str = "function_app") -> list[func.FunctionRegister]:
    """Import ``app_dir/function_app.py`` with the app root on sys.path; return its FunctionRegisters."""
    entry = app_dir / f"{module_name}.py"
    if not entry.exists():
        raise AppLoadError(f"{entry} not found: a v2-model app needs function_app.py at its root")
    sys.path.insert(0, str(app_dir))
    spec = importlib.util.spec_from_file_location(module_name, entry)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise AppLoadError(f"importing {entry} failed: {type(exc).__name__}: {exc}") from exc
    apps = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if not apps:
        raise AppLoadError(f"{entry} defines no FunctionApp/DFApp instance")
    return apps


def _str(value: Any) -> str:
    return str(getattr(value, "value", value))


def index_functions(apps: list[func.FunctionRegister]) -> FunctionIndex:
    """Index every function; unsupported bindings fail fast with a clear message."""
    index = FunctionIndex()
    for app in apps:
        for function in app.get_functions():
            _index_one(index, function)
    return index


def _index_one(index: FunctionIndex, function: Any) -> None:
    name = function.get_function_name()
    bindings = json.loads(function.get_function_json())["bindings"]
    for binding in bindings:
        if binding["type"] not in SUPPORTED_BINDINGS:
            raise AppLoadError(
                f"function '{name}': binding type '{binding['type']}' is not supported by the devstack host "
                f"(supported: {', '.join(sorted(SUPPORTED_BINDINGS))})"
            )
    trigger = next((b for b in bindings if b["type"].endswith("Trigger")), None)
    if trigger is None:
        raise AppLoadError(f"function '{name}' has no trigger")
    user_fn = function.get_user_function()
    params = _context_param(user_fn)
    if trigger["type"] == "httpTrigger":
        index.http.append(_http_function(name, user_fn, trigger, bindings, params))
    elif trigger["type"] == "orchestrationTrigger":
        durable_name = trigger.get("orchestration") or name
        if durable_name.startswith("@"):
            raise AppLoadError(f"orchestrator name '{durable_name}' may not start with '@'")
        _add_unique(index.orchestrators, durable_name, OrchestratorFunction(durable_name, user_fn))
    elif trigger["type"] == "activityTrigger":
        durable_name = trigger.get("activity") or name
        activity = ActivityFunction(
            durable_name, user_fn, trigger["name"], params, inspect.iscoroutinefunction(user_fn)
        )
        _add_unique(index.activities, durable_name, activity)


def _add_unique(table: dict[str, Any], name: str, value: Any) -> None:
    if name.lower() in table:
        raise AppLoadError(f"two functions are named '{name}'")
    table[name.lower()] = value


def _context_param(user_fn: Callable[..., Any]) -> str | None:
    """The parameter that receives ``func.Context``, if the function declares one (named ``context``)."""
    target = getattr(user_fn, "client_function", user_fn)
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return None
    for param in params.values():
        if param.name == "context" or param.annotation is func.Context:
            return param.name
    return None


def _http_function(
    name: str,
    user_fn: Callable[..., Any],
    trigger: dict[str, Any],
    bindings: list[dict[str, Any]],
    context_param: str | None,
) -> HttpFunction:
    clients = [b["name"] for b in bindings if b["type"] == "durableClient"]
    if clients and not inspect.iscoroutinefunction(user_fn):
        raise AppLoadError(f"function '{name}': a durable client function must be 'async def'")
    methods = tuple(_str(m).upper() for m in trigger.get("methods") or ALL_METHODS)
    route = str(trigger.get("route") or name).strip("/")
    return HttpFunction(
        name=name,
        fn=user_fn,
        route=route,
        methods=methods,
        auth_level=_str(trigger.get("authLevel", "function")).lower(),
        request_param=trigger["name"],
        client_param=clients[0] if clients else None,
        context_param=context_param if context_param != trigger["name"] else None,
    )


def load_app(app_dir: Path) -> FunctionIndex:
    """Chdir to the app root, import and index the app (its settings must already be in the environment)."""
    os.chdir(app_dir)
    return index_functions(import_app(app_dir))
