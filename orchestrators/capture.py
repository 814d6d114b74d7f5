"""The capture orchestration: locate, clean up and check limits, ensure the agent, capture, wait, notify.

A pure generator: no I/O, clocks or environment reads. Time comes from ``context.current_utc_datetime``, ids
from ``context.new_uuid()``, configuration from the input the HTTP starter built.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType

from activities.blueprint import (
    check_agent,
    create_capture,
    create_watcher,
    describe_capture,
    install_agent,
    list_watchers,
    locate_target,
    prepare_region,
    query_capture,
    send_email,
    stop_capture,
    triage_capture,
)
from core.arm_ids import parse_resource_id
from core.capture_contract import (
    CaptureCreateRequest,
    CaptureRef,
    CaptureState,
    CreatedCapture,
    RegionRequest,
    RegionState,
)
from core.capture_errors import explain_capture_errors
from core.capture_files import DescribedCapture, DescribeRequest
from core.compute_contract import (
    AgentCheckRequest,
    AgentInstallRequest,
    AgentState,
    LocatedTarget,
    LocateRequest,
)
from core.email_contract import EmailRequest, EmailSent
from core.errors import InvalidRequest
from core.naming import capture_name, email_operation_id
from core.orchestration import (
    CAPTURE_ERROR,
    CAPTURE_TERMINAL_STATES,
    EXTRA_ALERT_EVENT,
    NOTIFICATION_FAILED,
    NOTIFICATION_FAILED_SUFFIX,
    NOTIFICATION_SENT,
    RUN_REJECTED,
    RUN_SUCCEEDED,
)
from core.outcome import Outcome
from core.records import DEFAULT_EMAIL_RETRY_SECONDS, CaptureRequest, RunRecord
from core.regions import pick_watcher
from core.schedule import email_retry_delays, status_check_offsets
from core.sentry import SentryView
from core.triage_model import TRIAGE_BUDGET_SECONDS, TriageRequest, TriageResult
from core.watchers import (
    CreatedWatcher,
    WatcherInfo,
    WatcherList,
    WatcherListRequest,
    WatcherRequest,
    missing_watcher_reason,
)
from orchestrators.harvest import harvest_incident
from orchestrators.inputs import orchestration_input

MAX_RECORDED_EXTRA_ALERTS = 20
RUNNING_POWER_STATES = {"running", "unknown"}
BLOB_WAIT_SECONDS = (10, 30, 60)


def _decode_alert(raw: Any) -> dict[str, str]:
    """An extra-alert event payload: JSON, usually double-encoded by ``raise_event`` (durable-python#295)."""
    value = raw
    for _ in range(3):
        if not isinstance(value, str):
            break
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {"alert_id": value[:200]}
    return {k: str(v)[:300] for k, v in value.items()} if isinstance(value, dict) else {}


class RunFailed(Exception):
    """The run cannot continue; the message is the reason the operators read."""


def capture_orchestration(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Entry point: validate the input first, then run the capture and always report."""
    raw = orchestration_input(context)
    try:
        request = CaptureRequest.from_dict(raw)
    except InvalidRequest as exc:
        return {"instance_id": context.instance_id, "status": RUN_REJECTED, "reason": str(exc)}
    return (yield from CaptureRun(context, request).execute())


class CaptureRun:
    """State of one run while the generator replays."""

    def __init__(self, context: df.DurableOrchestrationContext, request: CaptureRequest) -> None:
        self.ctx = context
        self.req = request
        self.cfg = request.config
        self.retry = df.RetryOptions(self.cfg["retry_interval_ms"], self.cfg["retry_attempts"])
        self.target = request.target
        self.rid = parse_resource_id(request.target.id)
        self.record = RunRecord(instance_id=context.instance_id, target=self.target.id,
                                target_type=self.target.target_type, alert=request.alert.to_dict())
        self.started = context.current_utc_datetime
        self.record.timings["started"] = self.started.isoformat()

    # --- helpers ------------------------------------------------------------------------------------------

    def _call(self, activity: Any, payload: dict[str, Any]) -> Any:
        return self.ctx.call_activity_with_retry(activity, self.retry, payload)

    def _phase(self, phase: str, **details: Any) -> None:
        self.record.phase = phase
        self.ctx.set_custom_status({"phase": phase, "target": self.target.id, **details})

    def _now(self) -> datetime:
        return self.ctx.current_utc_datetime

    @staticmethod
    def _ok(result: Any, step: str, not_found: str | None = None) -> dict[str, Any]:
        outcome = Outcome.from_dict(result)
        if outcome.ok:
            return outcome.value
        gone = outcome.error_code.endswith("NotFound") or outcome.message.startswith("HTTP 404")
        if not_found and gone:
            raise RunFailed(not_found)
        raise RunFailed(f"{step} failed: {outcome.message or outcome.error_code}")

    @staticmethod
    def _alert_key(alert: dict[str, Any]) -> str:
        return f"{alert.get('alert_id', '')}|{alert.get('fired_at', '')}|{alert.get('condition', '')}"

    # --- the run ------------------------------------------------------------------------------------------

    def execute(self) -> Generator[Any, Any, dict[str, Any]]:
        """Run every step; whatever happens, notify and return the record."""
        try:
            yield from self._capture()
            self.record.status = RUN_SUCCEEDED
        except RunFailed as exc:
            self.record.reason = str(exc)
        except Exception as exc:  # an activity exhausted its retries: the SDK raises a plain Exception
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.record.reason = f"{self.record.phase}: Azure kept failing after retries: {first_line[:300]}"
        yield from self._notify()
        return self.record.to_dict()

    def _capture(self) -> Generator[Any, Any, None]:
        view = SentryView.from_dict(self.req.sentry)
        if view is not None:  # armed: harvest the continuous capture, start no second one
            failed = yield from harvest_incident(self, view)
            if failed:
                raise RunFailed(failed)
            yield from self._triage()
            return
        watcher, located = yield from self._locate()
        region, agent = yield from self._clean_and_check(watcher)
        yield from self._wait_for_capacity(watcher, region)
        yield from self._ensure_agent(agent, located)
        capture_id = yield from self._create(watcher)
        yield from self._wait_for_capture(capture_id)
        yield from self._triage()

    def _locate(self) -> Generator[Any, Any, tuple[WatcherInfo, LocatedTarget]]:
        self._phase("locating")
        located, watchers = yield self.ctx.task_all([
            self._call(locate_target, LocateRequest(self.target.id, self.target.target_type).to_dict()),
            self._call(list_watchers, WatcherListRequest(self.rid.subscription_id).to_dict()),
        ])
        gone = f"target {self.target.id} not found (deleted?)"
        vm = LocatedTarget.from_dict(self._ok(located, "looking up the target", not_found=gone))
        self.record.location = vm.location
        if vm.power_state not in RUNNING_POWER_STATES:
            raise RunFailed(f"target is not running (power state {vm.power_state})")
        listed = WatcherList.from_dict(self._ok(watchers, "listing Network Watchers"))
        watcher = pick_watcher(listed.watchers, vm.location)
        if watcher is None:
            watcher = yield from self._create_watcher(vm.location)
        self.record.network_watcher = watcher.id
        return watcher, vm

    def _create_watcher(self, region: str) -> Generator[Any, Any, WatcherInfo]:
        """The region has no watcher: create it with NETWORK_WATCHER_AUTO_CREATE, else say what to run."""
        if not self.cfg.get("network_watcher_auto_create"):
            raise RunFailed(missing_watcher_reason(self.rid.subscription_id, region))
        self._phase("creating network watcher", region=region)
        result = yield self._call(create_watcher, WatcherRequest(self.rid.subscription_id, region).to_dict())
        created = CreatedWatcher.from_dict(self._ok(result, f"creating the Network Watcher of {region}"))
        self.record.network_watcher_created_by_us = created.created_watcher
        return created.watcher

    def _region_request(self, watcher: WatcherInfo) -> dict[str, Any]:
        retention = self.cfg["cleanup_retention_seconds"]
        return RegionRequest(watcher.id, self._now().isoformat(), retention).to_dict()

    def _region_state(self, result: Any) -> RegionState:
        region = RegionState.from_dict(self._ok(result, "cleaning up and counting captures"))
        self.record.stale_captures_deleted.extend(region.deleted)
        return region

    def _clean_and_check(self, watcher: WatcherInfo) -> Generator[Any, Any, tuple[RegionState, AgentState]]:
        self._phase("cleaning")
        check = AgentCheckRequest(self.target.id, self.target.target_type, self.target.scope_include)
        region, agent = yield self.ctx.task_all([
            self._call(prepare_region, self._region_request(watcher)),
            self._call(check_agent, check.to_dict()),
        ])
        region_state = self._region_state(region)
        return region_state, AgentState.from_dict(self._ok(agent, "checking the Network Watcher agent"))

    def _wait_for_capacity(self, watcher: WatcherInfo, region: RegionState) -> Generator[Any, Any, None]:
        limit, interval = self.cfg["region_limit"], self.cfg["limit_retry_interval_seconds"]
        deadline = self.started + timedelta(seconds=self.cfg["limit_wait_seconds"])
        while region.session_count >= limit:
            wake = self._now() + timedelta(seconds=interval)
            if wake > deadline:
                raise RunFailed(f"the region's capture limit is still reached ({region.session_count} of "
                                f"{limit}) after waiting {self.cfg['limit_wait_seconds']} s")
            self._phase("waiting for capacity", sessions=region.session_count, limit=limit,
                        retry_at=wake.isoformat())
            yield self.ctx.create_timer(wake)
            self.record.limit_waits += 1
            region = self._region_state((yield self._call(prepare_region, self._region_request(watcher))))

    def _ensure_agent(self, agent: AgentState, vm: LocatedTarget) -> Generator[Any, Any, None]:
        if agent.installed:
            return
        if not self.cfg["agent_auto_install"]:
            lagging = agent.outdated
            where = f"on instances {', '.join(lagging)} (not on the scale set's latest model)" if lagging \
                else "on the target"
            raise RunFailed(f"the Network Watcher agent extension is not installed {where} "
                            "(AGENT_AUTO_INSTALL is off)")
        self._phase("installing agent")
        install = AgentInstallRequest(self.target.id, self.target.target_type, vm.location, vm.os_type,
                                      self.target.scope_include)
        result = yield self._call(install_agent, install.to_dict())
        self._ok(result, "installing the Network Watcher agent")
        self.record.agent_installed_by_us = True

    def _create(self, watcher: WatcherInfo) -> Generator[Any, Any, str]:
        name = capture_name(self.target.id, datetime.fromisoformat(self.req.window_start))
        self.record.capture_name = name
        self._phase("creating", capture=name)
        request = CaptureCreateRequest(watcher.id, name, self.target, self.cfg)
        result = yield self._call(create_capture, request.to_dict())
        created = CreatedCapture.from_dict(self._ok(result, "creating the packet capture"))
        self.record.capture_id = created.id
        self.record.storage_path = created.storage_path
        self.record.timings["capture_created"] = self._now().isoformat()
        return created.id

    def _wait_for_capture(self, capture_id: str) -> Generator[Any, Any, None]:
        start = self._now()
        limit = self.cfg["time_limit_seconds"]
        until = (start + timedelta(seconds=limit)).isoformat()
        status = CaptureState("")
        for offset in status_check_offsets(limit, self.cfg["overrun_grace_seconds"]):
            due = start + timedelta(seconds=offset)
            self._phase("capturing", until=until, next_check=due.isoformat(),
                        capture=self.record.capture_name)
            yield self.ctx.create_timer(due)
            status = yield from self._query(capture_id)
            if status.status.lower() in CAPTURE_TERMINAL_STATES:
                break
        else:
            self._phase("stopping overrun capture", capture=self.record.capture_name)
            stopped = yield self._call(stop_capture, CaptureRef(capture_id).to_dict())
            self._ok(stopped, "stopping the overrunning capture")
            self.record.stopped_by_us = True
            status = yield from self._query(capture_id)
        self.record.capture_status = status.status
        self.record.stop_reason = status.stop_reason
        self.record.capture_errors = list(status.errors)
        self.record.timings["capture_finished"] = self._now().isoformat()
        if status.status.lower() == CAPTURE_ERROR:
            codes = ", ".join(self.record.capture_errors) or "no code"
            hint = explain_capture_errors(self.record.capture_errors)
            raise RunFailed(f"the capture ended in Error: {codes}" + (f". {hint}" if hint else ""))
        yield from self._read_blob(capture_id)

    def _read_blob(self, capture_id: str) -> Generator[Any, Any, None]:
        """The capture's files and sizes; they are saved after the session ends, so wait a little for them."""
        request = DescribeRequest(capture_id, expected_files=len(self.target.scope_include))
        for delay in (0, *BLOB_WAIT_SECONDS):
            if delay:
                self._phase("waiting for the capture file", capture=self.record.capture_name)
                yield self.ctx.create_timer(self._now() + timedelta(seconds=delay))
            described = yield self._call(describe_capture, request.to_dict())
            blob = DescribedCapture.from_dict(self._ok(described, "reading the capture file"))
            self.record.storage_path = blob.storage_path or self.record.storage_path
            self.record.files = list(blob.files)
            self.record.size_bytes = blob.size_bytes
            if self.record.size_bytes is not None:
                return

    def _triage(self) -> Generator[Any, Any, None]:
        """Summarise the capture file(s) for the email (a scale set's: each file and a merged view); a failure
        here never fails the run."""
        files = [f.url for f in self.record.files if f.size_bytes]
        if not files and self.record.storage_path and self.record.size_bytes:
            files = [self.record.storage_path]
        if not files:
            return
        self._phase("summarising the capture", capture=self.record.capture_name)
        try:
            result = yield self._call(triage_capture, TriageRequest(files, TRIAGE_BUDGET_SECONDS).to_dict())
            outcome = Outcome.from_dict(result)
            triage = (TriageResult.from_dict(outcome.value) if outcome.ok
                      else TriageResult(error=f"{outcome.error_code}: {outcome.message}"))
        except Exception as exc:  # retries exhausted: the email says triage was unavailable
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            triage = TriageResult(error=f"triage failed after retries: {first_line[:300]}")
        self.record.triage = triage.to_dict()
        self.record.timings["triaged"] = self._now().isoformat()

    def _query(self, capture_id: str) -> Generator[Any, Any, CaptureState]:
        result = yield self._call(query_capture, CaptureRef(capture_id).to_dict())
        self.record.status_checks += 1
        return CaptureState.from_dict(
            self._ok(result, "querying the capture status", not_found="the capture disappeared"))

    # --- extra alerts for the same run (storms, retries, several action groups) ----------------------------

    def _collect_extra_alerts(self) -> None:
        """Record the distinct extra alerts the starter raised to this run, read from the run's own history.

        No waiter is involved: the SDK collapses events raised while nobody waits into the last one
        (azure-functions-durable-python#507), but every ``EventRaised`` stays in the history. Only the record
        uses this, never a decision, so the actions the orchestrator takes do not depend on it.
        """
        seen = {self._alert_key(self.req.alert.to_dict())}
        alerts: list[dict[str, str]] = []
        for event in self.ctx.histories:
            is_extra = getattr(event, "Name", "") == EXTRA_ALERT_EVENT
            if event.event_type != HistoryEventType.EVENT_RAISED or not is_extra:
                continue
            alert = _decode_alert(getattr(event, "Input", None))
            key = self._alert_key(alert)
            if key not in seen:
                seen.add(key)
                alerts.append(alert)
        self.record.extra_alert_count = len(alerts)
        self.record.extra_alerts = alerts[:MAX_RECORDED_EXTRA_ALERTS]

    # --- notification -------------------------------------------------------------------------------------

    def _notify(self) -> Generator[Any, Any, None]:
        """Email the operators: quick activity retries, then durable-timer backoff up to the configured time.

        The operation id derives from the capture name and the outcome, so a replay, a repeated activity or
        an operator restart for the same window cannot send a second email. A run whose email finally failed
        says so in its status, custom status and ``notification`` field.
        """
        self._phase("notifying", outcome=self.record.status)
        self._collect_extra_alerts()
        window = datetime.fromisoformat(self.req.window_start)
        operation_id = email_operation_id(capture_name(self.target.id, window), self.record.status)
        window_seconds = int(self.cfg.get("email_retry_seconds", DEFAULT_EMAIL_RETRY_SECONDS))
        deadline = self._now() + timedelta(seconds=window_seconds)
        for delay in (0, *email_retry_delays(window_seconds)):
            if delay:
                wake = self._now() + timedelta(seconds=delay)
                if wake > deadline:
                    break
                self._phase("waiting to retry the email", outcome=self.record.status,
                            attempts=self.record.email_attempts, retry_at=wake.isoformat())
                yield self.ctx.create_timer(wake)
            if (yield from self._send_email(operation_id)):
                break
        self.record.notification = NOTIFICATION_SENT if self.record.email_message_id else NOTIFICATION_FAILED
        if self.record.notification == NOTIFICATION_FAILED:
            self.record.status += NOTIFICATION_FAILED_SUFFIX
        self.record.timings["notified"] = self._now().isoformat()
        self.record.phase = "done"
        self._collect_extra_alerts()  # the output also counts alerts that arrived while the email was sent
        self.ctx.set_custom_status({"phase": "done", "target": self.target.id, "outcome": self.record.status,
                                    "notification": self.record.notification})

    def _send_email(self, operation_id: str) -> Generator[Any, Any, bool]:
        """One email attempt (with the activity's quick retries); True when it is settled (sent, or failed
        for good), False when ACS kept failing and a later attempt may succeed."""
        self.record.email_attempts += 1
        try:
            payload = EmailRequest(self.record, operation_id).to_dict()
            outcome = Outcome.from_dict((yield self._call(send_email, payload)))
        except Exception as exc:  # the activity's retries are exhausted: try again after a durable timer
            self.record.email_error = f"email retries exhausted: {str(exc).strip().splitlines()[0][:300]}"
            return False
        if outcome.ok:
            self.record.email_message_id = EmailSent.from_dict(outcome.value).message_id
            self.record.email_error = ""
        else:
            self.record.email_error = f"{outcome.error_code}: {outcome.message}"
        return True
