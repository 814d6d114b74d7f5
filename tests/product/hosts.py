"""App settings for a durable host running this function app with Azure out of reach: every Azure endpoint
is a closed port, so started runs fail fast and nothing leaves the machine."""

from __future__ import annotations

import json
from pathlib import Path

SUB = "00000000-0000-0000-0000-000000000001"
STORAGE = f"/subscriptions/{SUB}/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/caps"


def offline_settings(**extra: str) -> dict[str, str]:
    """The app's required settings, pointing at https://127.0.0.1:9, plus `extra`."""
    return {
        "FUNCTIONS_WORKER_RUNTIME": "python", "ARM_ENDPOINT": "https://127.0.0.1:9",
        "ACS_ENDPOINT": "https://127.0.0.1:9", "EMAIL_SENDER": "a@alertcap.localhost",
        "EMAIL_RECIPIENTS": "b@alertcap.localhost", "CAPTURE_STORAGE_ACCOUNT_ID": STORAGE,
        "ACTIVITY_RETRY_ATTEMPTS": "1", "ACTIVITY_RETRY_INTERVAL_SECONDS": "0.1",
        "IDENTITY_ENDPOINT": "https://127.0.0.1:9/msi/token", "IDENTITY_HEADER": "unused",
        **extra,
    }


def write_settings(path: Path, settings: dict[str, str]) -> Path:
    """`settings` as a local.settings.json file at `path`."""
    path.write_text(json.dumps({"IsEncrypted": False, "Values": settings}))
    return path
