"""Azure SDK clients, made once per worker process from the app settings (lazily, never at import time)."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from azure.communication.email import EmailClient
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient  # 26.x: no top-level export
from azure.storage.blob import BlobServiceClient

from core.settings import Settings

T = TypeVar("T")
_lock = threading.RLock()  # re-entrant: a client's factory asks for the credential and the settings


def _once(factory: Callable[..., T]) -> Callable[..., T]:
    """``functools.cache`` that builds each value once even when activity threads ask at the same time
    (``cache`` alone lets racing threads each build, and keep, their own client)."""
    cached = functools.cache(factory)

    @functools.wraps(factory)
    def get(*args: Any) -> T:
        with _lock:
            return cached(*args)

    get.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return get


@_once
def settings() -> Settings:
    """The validated app settings of this worker."""
    return Settings.from_mapping(os.environ)


@_once
def credential() -> DefaultAzureCredential:
    """The managed identity (or developer) credential shared by every client."""
    return DefaultAzureCredential()


def _arm_kwargs() -> dict:
    s = settings()
    return {"base_url": s.arm_endpoint, "credential_scopes": [s.arm_audience + "/.default"]}


@_once
def _network(subscription_id: str) -> NetworkManagementClient:
    return NetworkManagementClient(credential(), subscription_id, **_arm_kwargs())


@_once
def _compute(subscription_id: str) -> ComputeManagementClient:
    return ComputeManagementClient(credential(), subscription_id, **_arm_kwargs())


@_once
def _resources(subscription_id: str) -> ResourceManagementClient:
    return ResourceManagementClient(credential(), subscription_id, **_arm_kwargs())


def resources(subscription_id: str) -> ResourceManagementClient:
    """Resource management client (resource groups) for one subscription."""
    return _resources(subscription_id.lower())


def network(subscription_id: str) -> NetworkManagementClient:
    """Network management client for one subscription (subscription ids are case-insensitive)."""
    return _network(subscription_id.lower())


def compute(subscription_id: str) -> ComputeManagementClient:
    """Compute management client for one subscription."""
    return _compute(subscription_id.lower())


@_once
def email() -> EmailClient:
    """ACS Email client with the managed identity."""
    return EmailClient(settings().acs_endpoint, credential())


@_once
def blob_service(account_url: str) -> BlobServiceClient:
    """Blob service client for one storage account endpoint."""
    return BlobServiceClient(account_url, credential=credential())


def polling_interval() -> float:
    """Seconds between long-running-operation polls (``ARM_POLLING_INTERVAL_SECONDS``)."""
    return settings().arm_polling_interval_seconds


def reset() -> None:
    """Forget every cached client and the settings (after the environment changed, e.g. in tests)."""
    for cached in (settings, credential, _network, _compute, _resources, email, blob_service):
        cached.cache_clear()
