"""The injectable clock and the local CA."""

import asyncio
import ssl
import time
from pathlib import Path

import pytest
from cryptography import x509

from devstack.common.clock import Clock
from devstack.common.tls import ensure_tls


def test_speed_factor_scales_elapsed_time() -> None:
    real = [100.0]
    clock = Clock(speed=10.0, start=1000.0, monotonic=lambda: real[0])
    real[0] += 2.0
    assert clock.now() == pytest.approx(1020.0)
    clock.set_speed(1.0)
    real[0] += 2.0
    assert clock.now() == pytest.approx(1022.0)


def test_manual_clock_moves_only_when_advanced() -> None:
    real = [0.0]
    clock = Clock(manual=True, start=50.0, monotonic=lambda: real[0])
    real[0] += 100
    assert clock.now() == 50.0
    assert clock.advance(30) == 80.0
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.set_manual(False)
    real[0] += 1
    assert clock.now() == pytest.approx(81.0)


def test_reset_returns_to_the_wall_clock() -> None:
    clock = Clock(manual=True, start=0.0)
    clock.advance(10)
    clock.reset(speed=2.0)
    assert abs(clock.now() - time.time()) < 1 and clock.speed == 2.0 and not clock.manual


async def test_sleep_until_wakes_on_advance_without_real_waiting() -> None:
    clock = Clock(manual=True, start=0.0)
    task = asyncio.create_task(clock.sleep(3600))
    while clock.sleepers == 0:  # scheduling steps, not time: the task registers on its first run
        await asyncio.sleep(0)
    clock.advance(1800)
    for _ in range(5):  # let the woken task run and re-check its deadline
        await asyncio.sleep(0)
    assert not task.done() and clock.sleepers == 1
    clock.advance(1800)
    await asyncio.wait_for(task, 1.0)


async def test_sleep_in_real_mode_uses_speed() -> None:
    clock = Clock(speed=100.0)
    await asyncio.wait_for(clock.sleep(20), 2.0)  # 20 emulated seconds = 0.2 s


def test_tls_material_is_made_once_and_reused(tmp_path: Path) -> None:
    first = ensure_tls(tmp_path)
    cert_bytes = first.cert_path.read_bytes()
    again = ensure_tls(tmp_path)
    assert again.cert_path.read_bytes() == cert_bytes
    cert = x509.load_pem_x509_certificate(cert_bytes)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert "*.localhost" in san.get_values_for_type(x509.DNSName)
    bundle = first.bundle_path.read_text()
    assert first.ca_cert_path.read_text() in bundle
    assert bundle.count("BEGIN CERTIFICATE") > 1  # system CAs too
    assert (tmp_path / "server-key.pem").stat().st_mode & 0o077 == 0
    assert isinstance(first.server_ssl_context(), ssl.SSLContext)
