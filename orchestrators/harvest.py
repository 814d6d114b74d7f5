"""The capture run's harvest for an armed target: copy the ring's files around the alert instead of starting a
second capture. Called from ``CaptureRun._capture`` when the starter found the target armed.

First pass at once (the files from before the alert, before the ring can delete them); then, once
``fired + after`` has passed, further passes pick up the files written since, until a file reaches past the
window's end or the settle waits run out. Every pass is idempotent (copies already made are not redone), and
the incident keeps every copy any pass made: a ring file deleted meanwhile (rotated out, or a retired
session's) stays in the incident.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

from activities.ring_blueprint import harvest_ring
from core.arm_ids import parse_resource_id
from core.capture_files import CaptureFile, total_size
from core.harvest import HarvestRequest, HarvestResult
from core.sentry import SentryView, ring_name_prefix
from core.targets import AZURE_VMSS

SETTLE_SECONDS = (2, 10, 30)  # after the window's end: files close when full, so give the last one time


def harvest_incident(run: Any, view: SentryView) -> Generator[Any, Any, str]:
    """Fill the run record's incident fields (``run`` is the ``CaptureRun``); returns why the run failed,
    or '' when the incident has files."""
    fired = datetime.fromisoformat(run.req.alert.fired_at.replace("Z", "+00:00"))
    start = fired - timedelta(seconds=view.lookback_seconds)
    end = fired + timedelta(seconds=view.after_seconds)
    target = run.req.target
    scale_set = parse_resource_id(target.id).name if target.target_type == AZURE_VMSS else ""
    request = HarvestRequest(run.ctx.instance_id, view.storage_paths, start.isoformat(), end.isoformat(),
                             watcher_id=view.watcher_id, ring_prefix=ring_name_prefix(view.target),
                             scale_set=scale_set, instances=target.scope_include)
    run.record.armed = True
    run.record.capture_name = view.capture_name
    run._phase("harvesting", window_start=request.window_start, window_end=request.window_end)
    result = yield from _pass(run, request)
    for settle in SETTLE_SECONDS:
        _, covered_to = result.covered()
        if covered_to is not None and covered_to >= end:
            break
        run._phase("waiting for the ring's files after the alert", until=end.isoformat())
        yield run.ctx.create_timer(max(run._now(), end + timedelta(seconds=settle)))
        result = result.merged((yield from _pass(run, request)))
    _record(run, result, fired)
    if not result.files:
        return ("the continuous capture had no files for the alert's window "
                f"({request.window_start} to {request.window_end})")
    return ""


def _pass(run: Any, request: HarvestRequest) -> Generator[Any, Any, HarvestResult]:
    result = yield run._call(harvest_ring, request.to_dict())
    return HarvestResult.from_dict(run._ok(result, "harvesting the continuous capture"))


def _record(run: Any, result: HarvestResult, fired: datetime) -> None:
    record = run.record
    record.files = [CaptureFile(f.url, f.size_bytes, f.instance) for f in result.files]
    covered_from, covered_to = result.covered()
    record.incident_before_seconds = (fired - covered_from).total_seconds() if covered_from else None
    record.incident_after_seconds = (covered_to - fired).total_seconds() if covered_to else None
    record.size_bytes = total_size(record.files)
    record.capture_status = "Harvested"
    record.timings["harvested"] = run._now().isoformat()
