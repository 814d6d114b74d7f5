"""What checking Azure Monitor's Entra ID token costs the webhook, in process, against a real HTTPS tenant.

Serves a test tenant (discovery document + key set, devstack CA) on loopback and measures, per call:
- `key`: WEBHOOK_AUTH=key (the host checked the key; the starter checks nothing): the baseline;
- `entra cached`: a valid token against the cached key set (RS256 verify + claim checks);
- `entra cold`: a fresh validator (discovery document + key set fetched over HTTPS, then the check);
- `unknown kid`: a token whose kid the tenant never published, inside the refresh cooldown (no fetch).
Prints medians in microseconds, ratios to `entra cached`, and a machine calibration (SHA-256 of 1 MiB) so
figures from different machines can be compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import azure.functions as func

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout importable

from core.webhook_auth import TokenRejected, WebhookAuthSettings
from devstack.common.tokens import TokenIssuer
from devstack.entra.testing import serving_tenant
from http_starter.auth import EntraTokenValidator, WebhookAuthenticator

TENANT = "0a0b0c0d-1111-2222-3333-444455556666"
ROUNDS = 300


def median_us(action: Callable[[], object], rounds: int = ROUNDS) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def calibration_us() -> float:
    block = b"x" * (1 << 20)
    return median_us(lambda: hashlib.sha256(block).digest(), 50)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, serving_tenant(TENANT, Path(tmp)) as tenant:
        assert tenant.tls is not None
        os.environ["SSL_CERT_FILE"] = str(tenant.tls.bundle_path)
        settings = WebhookAuthSettings.from_mapping(tenant.app_settings("entra"))
        token, stranger = tenant.token(), tenant.token(signer=TokenIssuer(TENANT))
        request = func.HttpRequest(method="POST", url="https://app/api/alerts", body=b"{}",
                                   headers={"Authorization": f"Bearer {token}"})
        key_mode = WebhookAuthenticator.from_mapping({"WEBHOOK_AUTH": "key"})
        loop = asyncio.new_event_loop()
        key = median_us(lambda: loop.run_until_complete(key_mode.check(request)))
        validator = EntraTokenValidator(settings)
        validator.validate(token)
        cached = median_us(lambda: validator.validate(token))
        cold = median_us(lambda: EntraTokenValidator(settings).validate(token), 30)

        def unknown() -> None:
            with contextlib.suppress(TokenRejected):
                validator.validate(stranger)

        unknown_kid = median_us(unknown)
        fetches = tenant.emulator.jwks_requests
        loop.close()
    calib = calibration_us()
    print(f"calibration: sha256(1 MiB) median {calib:.0f} us")
    for name, value in (("key (baseline)", key), ("entra cached", cached), ("entra cold", cold),
                        ("unknown kid", unknown_kid)):
        print(f"{name:<16} median {value:9.1f} us  = {value / cached:6.2f} x entra cached"
              f"  = {value / calib:6.3f} calibration units")
    print(f"key set fetches: {fetches} (1 warm-up + 30 cold validators; unknown kids fetched nothing)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
