"""The same host driven through the Python SDK's DurableOrchestrationClient (its RPC calls, its parsing)."""

import datetime as dt
from pathlib import Path

import pytest
from azure.durable_functions import OrchestrationRuntimeStatus

from devstack.host.testing import HostProcess, wait_for_status
from devstack.testing import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_start_new_and_get_status_with_history(patterns_host: HostProcess) -> None:
    client = patterns_host.durable_client()
    instance_id = await client.start_new("chain", None, ["Oslo"])
    wait_for_status(patterns_host, instance_id)
    status = await client.get_status(instance_id, show_history=True, show_history_output=True)
    assert status.runtime_status == OrchestrationRuntimeStatus.Completed
    assert status.output == ["Hello Oslo!"]
    assert status.input_ == '["Oslo"]'
    kinds = [e["EventType"] for e in status.historyEvents]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]


async def test_start_new_with_a_version_and_a_number_input(patterns_host: HostProcess) -> None:
    client = patterns_host.durable_client()
    instance_id = await client.start_new("versioned", None, 5, version="2.0")
    assert wait_for_status(patterns_host, instance_id)["output"] == {
        "version": "2.0",
        "child": "",
        "input": 5,
    }


async def test_get_status_of_an_unknown_instance_is_falsy(patterns_host: HostProcess) -> None:
    status = await patterns_host.durable_client().get_status("no-such-instance")
    assert not status


async def test_raise_event_payload_arrives_double_encoded_as_in_azure(patterns_host: HostProcess) -> None:
    client = patterns_host.durable_client()
    instance_id = await client.start_new("staged")
    wait_for_status(patterns_host, instance_id, ("Running",))
    await client.raise_event(instance_id, "go", {"ok": True})
    status = wait_for_status(patterns_host, instance_id)
    assert status["output"] == {"go": '{"ok": true}'}  # issue durable-python#295, reproduced faithfully


async def test_raise_event_to_a_finished_instance_raises_gone(patterns_host: HostProcess) -> None:
    client = patterns_host.durable_client()
    instance_id = await client.start_new("chain", None, ["A"])
    wait_for_status(patterns_host, instance_id)
    with pytest.raises(Exception, match="is gone"):
        await client.raise_event(instance_id, "go", 1)
    with pytest.raises(Exception, match="No instance with ID"):
        await client.raise_event("never-started", "go", 1)


async def test_start_new_of_a_running_id_and_of_an_unknown_orchestrator_raise(
    patterns_host: HostProcess,
) -> None:
    client = patterns_host.durable_client()
    instance_id = await client.start_new("long_wait", "sdk-dedup-1")
    wait_for_status(patterns_host, instance_id, ("Running",))
    with pytest.raises(Exception, match="already exists"):
        await client.start_new("long_wait", "sdk-dedup-1")
    with pytest.raises(Exception, match="The function 'nope' doesn't exist"):
        await client.start_new("nope")
    await client.terminate(instance_id, "cleanup")
    wait_for_status(patterns_host, instance_id, ("Terminated",))
    again = await client.start_new("chain", "sdk-dedup-1", ["after"])  # terminal ids may be reused
    assert wait_for_status(patterns_host, again)["output"] == ["Hello after!"]


async def test_suspend_queues_events_until_resume(patterns_host: HostProcess) -> None:
    client = patterns_host.durable_client()
    instance_id = await client.start_new("staged")
    wait_for_status(patterns_host, instance_id, ("Running",))
    await client.suspend(instance_id, "maintenance")
    assert (await client.get_status(instance_id)).runtime_status == OrchestrationRuntimeStatus.Suspended
    await client.raise_event(instance_id, "go", "queued")
    status = await client.get_status(instance_id)
    assert status.runtime_status == OrchestrationRuntimeStatus.Suspended
    await client.resume(instance_id, "back")
    assert wait_for_status(patterns_host, instance_id)["output"] == {"go": '"queued"'}


async def test_terminate_reports_the_reason(patterns_host: HostProcess) -> None:
    client = patterns_host.durable_client()
    instance_id = await client.start_new("long_wait")
    wait_for_status(patterns_host, instance_id, ("Running",))
    await client.terminate(instance_id, "no longer needed")
    status = await client.get_status(instance_id)
    assert status.runtime_status == OrchestrationRuntimeStatus.Terminated
    assert status.output == "no longer needed"
    await client.terminate(instance_id, "again")  # 410 Gone: the SDK treats it as done
    with pytest.raises(Exception, match="No instance with ID 'never-started' found"):  # 404
        await client.terminate("never-started", "x")


async def test_rewind_then_complete(patterns_host: HostProcess, scratch: Path) -> None:
    client = patterns_host.durable_client()
    flag = scratch / "sdk-block"
    flag.write_text("x")
    instance_id = await client.start_new("fragile", None, str(flag))
    assert wait_for_status(patterns_host, instance_id)["runtimeStatus"] == "Failed"
    flag.unlink()
    await client.rewind(instance_id, "dependency fixed")
    assert wait_for_status(patterns_host, instance_id)["output"] == {"first": 9, "second": "recovered"}


async def test_restart_purge_and_queries(patterns_host: HostProcess) -> None:
    client = patterns_host.durable_client()
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    first = await client.start_new("chain", "sdk-query-1", ["Q"])
    wait_for_status(patterns_host, first)
    restarted = await client.restart(first)  # returns the 202 payload (an SDK quirk: not the new id)
    new_id = restarted["id"]
    assert new_id != first
    assert wait_for_status(patterns_host, new_id)["output"] == ["Hello Q!"]
    same = await client.restart(first, restart_with_new_instance_id=False)
    assert same["id"] == first
    with pytest.raises(Exception, match="No instance with ID 'ghost' found"):
        await client.restart("ghost")
    wait_until(lambda: wait_for_status(patterns_host, first)["runtimeStatus"] == "Completed")

    mine = await client.get_status_by(instance_id_prefix="sdk-query-")
    assert [s.instance_id for s in mine] == [first]
    completed = await client.get_status_by(
        created_time_from=since, runtime_status=[OrchestrationRuntimeStatus.Completed]
    )
    assert {first, new_id} <= {s.instance_id for s in completed}
    assert all(s.runtime_status == OrchestrationRuntimeStatus.Completed for s in completed)
    assert len(await client.get_status_all()) >= 2

    purged = await client.purge_instance_history(first)
    assert purged.instances_deleted == 1
    assert not await client.get_status(first)
    assert (await client.purge_instance_history(first)).instances_deleted == 0
    bulk = await client.purge_instance_history_by(
        created_time_from=since, runtime_status=[OrchestrationRuntimeStatus.Completed]
    )
    assert bulk.instances_deleted >= 1
    assert not await client.get_status(new_id)
