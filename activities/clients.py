"""Azure SDK clients, made once per worker process from the app settings (lazily, never at import time)."""

from __future__ import annotations

import os
import threading
from functools import cache

from azure.communication.email import EmailClient
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.storage.blob import BlobServiceClient

from core.settings import Settings

_lock = threading.Lock()


@cache
def settings() -> Settings:
    """The validated app settings of this worker."""
    return Settings.from_mapping(os.environ)


@cache
def credential() -> DefaultAzureCredential:
    """The managed identity (or developer) credential shared by every client."""
    return DefaultAzureCredential()


def _arm_kwargs() -> dict:
    s = settings()
    return {"base_url": s.arm_endpoint, "credential_scopes": [s.arm_audience + "/.default"]}


@cache
def _network(subscription_id: str) -> NetworkManagementClient:
    with _lock:
        return NetworkManagementClient(credential(), subscription_id, **_arm_kwargs())


@cache
def _compute(subscription_id: str) -> ComputeManagementClient:
    with _lock:
        return ComputeManagementClient(credential(), subscription_id, **_arm_kwargs())


def network(subscription_id: str) -> NetworkManagementClient:
    """Network management client for one subscription (subscription ids are case-insensitive)."""
    return _network(subscription_id.lower())


def compute(subscription_id: str) -> ComputeManagementClient:
    """Compute management client for one subscription."""
    return _compute(subscription_id.lower())


@cache
def email() -> EmailClient:
    """ACS Email client with the managed identity."""
    return EmailClient(settings().acs_endpoint, credential())


@cache
def blob_service(account_url: str) -> BlobServiceClient:
    """Blob service client for one storage account endpoint."""
    return BlobServiceClient(account_url, credential=credential())


def polling_interval() -> float:
    """Seconds between long-running-operation polls (``ARM_POLLING_INTERVAL_SECONDS``)."""
    return settings().arm_polling_interval_seconds


def reset() -> None:
    """Forget every cached client and the settings (after the environment changed, e.g. in tests)."""
    for cached in (settings, credential, _network, _compute, email, blob_service):
        cached.cache_clear()
