"""SDK clients are made once per worker, lazily, even when activity threads ask for them at the same time."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from activities import clients

SUB = "00000000-0000-0000-0000-000000000001"
ENV = {"ACS_ENDPOINT": "https://acs.example", "EMAIL_SENDER": "a@example.com",
       "EMAIL_RECIPIENTS": "ops@example.com",
       "CAPTURE_STORAGE_ACCOUNT_ID": f"/subscriptions/{SUB}/resourceGroups/d/providers/Microsoft.Storage/"
                                     "storageAccounts/caps"}
THREADS = 16


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    clients.reset()
    yield
    clients.reset()


def _racing(get: object) -> set[int]:
    barrier = threading.Barrier(THREADS)

    def one(_: int) -> int:
        barrier.wait()
        return id(get())  # type: ignore[operator]

    with ThreadPoolExecutor(THREADS) as pool:
        return set(pool.map(one, range(THREADS)))


@pytest.mark.parametrize("name", ["credential", "network", "compute", "email"])
def test_racing_threads_share_one_client(fresh: None, name: str) -> None:
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # make the threads interleave inside the factories
    try:
        get = {"network": lambda: clients.network(SUB), "compute": lambda: clients.compute(SUB.upper()),
               "credential": clients.credential, "email": clients.email}[name]
        assert len(_racing(get)) == 1
    finally:
        sys.setswitchinterval(switch)


def test_one_client_per_subscription_whatever_its_case(fresh: None) -> None:
    assert clients.network(SUB) is clients.network(SUB.upper())
    assert clients.network(SUB) is not clients.network(SUB.replace("1", "2"))
