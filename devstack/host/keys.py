"""Host keys: a function key, the master key and the durabletask system key, persisted per state dir."""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from devstack.host.config import HostConfigError


@dataclass(frozen=True)
class HostKeys:
    """The keys the host accepts. The system key is what the durable client binding's URLs carry."""

    function_key: str
    master_key: str
    system_key: str

    def is_master(self, presented: str | None) -> bool:
        """True for the master key."""
        return _same(presented, self.master_key)

    def allows_function(self, presented: str | None) -> bool:
        """Function-level access: the function key or the master key."""
        return _same(presented, self.function_key) or self.is_master(presented)

    def allows_system(self, presented: str | None) -> bool:
        """Durable extension webhooks: the system key or the master key."""
        return _same(presented, self.system_key) or self.is_master(presented)


def _same(presented: str | None, expected: str) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


def _new_key() -> str:
    return secrets.token_urlsafe(32)


def load_or_create_keys(state_dir: Path) -> HostKeys:
    """Read ``state_dir/keys.json`` or create it (mode 0600) so a restart keeps the same keys."""
    path = state_dir / "keys.json"
    if path.exists():
        try:
            data = json.loads(path.read_text())
            return HostKeys(data["function_key"], data["master_key"], data["system_key"])
        except (ValueError, KeyError, TypeError) as exc:
            raise HostConfigError(
                f"{path} is damaged ({type(exc).__name__}); delete it to get new keys"
            ) from exc
    keys = HostKeys(_new_key(), _new_key(), _new_key())
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(keys), handle)
    os.replace(tmp, path)
    return keys


def basic_auth_password(header: str | None) -> str | None:
    """The password of an ``Authorization: Basic`` header (how the SDK's RPC calls carry the system key)."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None
