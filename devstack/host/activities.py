"""Run one activity through the SDK's own converters and turn the result into a completion event."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devstack.host.history import Event, EventType, make_event, utcnow
from devstack.host.loader import FunctionIndex
from devstack.host.store import ActivityItem

log = logging.getLogger("devstack.host.activity")


class InvocationContext:
    """The ``func.Context`` handed to functions that declare a ``context`` parameter."""

    def __init__(self, function_name: str, function_directory: str):
        self.invocation_id = str(uuid.uuid4())
        self.function_name = function_name
        self.function_directory = function_directory
        self.trace_context = None
        self.retry_context = None
        self.thread_local_storage = None


class ActivityRunner:
    """Runs activities: async ones on the host loop, sync ones in a bounded thread pool."""

    def __init__(
        self, index: FunctionIndex, max_concurrency: int, timeout_seconds: float | None, app_dir: str
    ):
        self.index = index
        self.pool = ThreadPoolExecutor(max_workers=max(1, max_concurrency), thread_name_prefix="activity")
        self.timeout = timeout_seconds
        self.app_dir = app_dir

    def close(self) -> None:
        """Stop accepting work; running sync activities finish in their threads."""
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, item: ActivityItem) -> Event:
        """Run the activity; returns TaskCompleted or TaskFailed for its task id."""
        started = time.perf_counter()
        try:
            result = await self._invoke(item)
            event = make_event(
                EventType.TASK_COMPLETED, utcnow(), TaskScheduledId=item.task_id, Result=result
            )
            outcome = "completed"
        except Exception as exc:
            reason = f"Activity function '{item.name}' failed: {type(exc).__name__}: {exc}"
            details = "".join(traceback.format_exception(exc))
            event = make_event(
                EventType.TASK_FAILED, utcnow(), TaskScheduledId=item.task_id, Reason=reason, Details=details
            )
            outcome = f"failed ({type(exc).__name__})"
        log.info(
            "activity %s instance=%s task=%d %s in %.1f ms",
            item.name,
            item.instance_id,
            item.task_id,
            outcome,
            (time.perf_counter() - started) * 1000,
        )
        return event

    async def _invoke(self, item: ActivityItem) -> str:
        activity = self.index.activity(item.name)
        if activity is None:
            raise LookupError(
                f"The function '{item.name}' doesn't exist, is disabled, or is not an activity function."
            )
        value = ActivityTriggerConverter.decode(
            meta.Datum(type="json", value=item.input or "null"), trigger_metadata=None
        )
        kwargs: dict[str, Any] = {activity.input_param: value}
        if activity.context_param:
            kwargs[activity.context_param] = InvocationContext(activity.name, self.app_dir)
        if activity.is_async:
            pending = activity.fn(**kwargs)
        else:
            loop = asyncio.get_running_loop()
            pending = loop.run_in_executor(self.pool, functools.partial(activity.fn, **kwargs))
        try:
            result = await asyncio.wait_for(pending, self.timeout)
        except TimeoutError as exc:
            raise TimeoutError(
                f"Timeout value of {self.timeout} seconds was exceeded by function '{item.name}'"
            ) from exc
        return ActivityTriggerConverter.encode(result, expected_type=None).value
