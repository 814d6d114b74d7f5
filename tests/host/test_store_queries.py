"""The store's typed instance queries: filters, paging after a key, and the terminal-only purge."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.host.history import RuntimeStatus
from devstack.host.store import Instance, InstanceFilter, PageKey, Store


def _instance(instance_id: str, created: str, status: str) -> Instance:
    return Instance(
        instance_id=instance_id,
        name="orch",
        version=None,
        execution_id="e-" + instance_id,
        status=status,
        input=None,
        output=None,
        custom_status=None,
        created_time=created,
        last_updated_time=created,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "hub.sqlite3")
    rows = [
        ("run-a", "2026-01-01T00:00:00.0000000Z", RuntimeStatus.COMPLETED),
        ("run-b", "2026-01-02T00:00:00.0000000Z", RuntimeStatus.RUNNING),
        ("job-c", "2026-01-02T00:00:00.0000000Z", RuntimeStatus.FAILED),
        ("run-d", "2026-01-03T00:00:00.0000000Z", RuntimeStatus.TERMINATED),
    ]
    with db.transaction():
        for row in rows:
            db.put_instance(_instance(*row))
    yield db
    db.close()


def _ids(instances: list[Instance]) -> list[str]:
    return [i.instance_id for i in instances]


def test_no_filter_lists_everything_in_created_then_id_order(store: Store) -> None:
    assert _ids(store.list_instances(InstanceFilter())) == ["run-a", "job-c", "run-b", "run-d"]


def test_filters_combine(store: Store) -> None:
    assert _ids(store.list_instances(InstanceFilter(id_prefix="run-"))) == ["run-a", "run-b", "run-d"]
    assert (
        _ids(store.list_instances(InstanceFilter(id_prefix="RUN-"))) == []
    )  # case-sensitive, as the extension
    window = InstanceFilter(
        created_from="2026-01-02T00:00:00.0000000Z", created_to="2026-01-02T00:00:00.0000000Z"
    )
    assert _ids(store.list_instances(window)) == ["job-c", "run-b"]  # both ends inclusive
    wanted = InstanceFilter(
        id_prefix="run-", statuses=frozenset({RuntimeStatus.RUNNING, RuntimeStatus.FAILED})
    )
    assert _ids(store.list_instances(wanted)) == ["run-b"]


def test_an_empty_status_set_matches_nothing(store: Store) -> None:
    assert store.list_instances(InstanceFilter(statuses=frozenset())) == []
    only_running = InstanceFilter(statuses=frozenset({RuntimeStatus.RUNNING}))
    assert store.list_instances(only_running.restricted_to(RuntimeStatus.TERMINAL)) == []


def test_paging_resumes_strictly_after_the_key(store: Store) -> None:
    first = store.list_instances(InstanceFilter(), limit=2)
    assert _ids(first) == ["run-a", "job-c"]
    after = PageKey(first[-1].created_time, first[-1].instance_id)
    assert _ids(store.list_instances(InstanceFilter(), after=after, limit=2)) == ["run-b", "run-d"]
    last = PageKey("2026-01-03T00:00:00.0000000Z", "run-d")
    assert store.list_instances(InstanceFilter(), after=last) == []


def test_restricted_to_intersects_the_requested_statuses() -> None:
    anything = InstanceFilter()
    assert anything.restricted_to(RuntimeStatus.TERMINAL).statuses == RuntimeStatus.TERMINAL
    some = InstanceFilter(statuses=frozenset({RuntimeStatus.RUNNING, RuntimeStatus.COMPLETED}))
    assert some.restricted_to(RuntimeStatus.TERMINAL).statuses == {RuntimeStatus.COMPLETED}
