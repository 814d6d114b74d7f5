"""The activity functions: thin, typed adapters from the orchestration's JSON to one Azure step each.

Each returns an :class:`core.outcome.Outcome` as a dict. Permanent errors come back as failure outcomes;
transient errors raise so the orchestrator's ``RetryOptions`` retry them.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities import compute_ops, network_ops, notify, scale_set_agent, triage
from activities.errors import outcome_activity
from core.capture_files import DescribeRequest
from core.records import RunRecord
from core.targets import AZURE_VMSS
from core.triage_model import TriageRequest
from core.watchers import WatcherRequest

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def locate_target(payload: dict[str, Any]) -> dict[str, Any]:
    """Region, OS and power state of the target."""
    return outcome_activity(compute_ops.locate_target)(payload["target_id"], payload["target_type"])


@bp.activity_trigger(input_name="payload")
def list_watchers(payload: dict[str, Any]) -> dict[str, Any]:
    """The subscription's Network Watchers and their regions."""
    return outcome_activity(network_ops.list_watchers)(payload["subscription_id"])


@bp.activity_trigger(input_name="payload")
def create_watcher(payload: dict[str, Any]) -> dict[str, Any]:
    """Create the missing Network Watcher of a region (and NetworkWatcherRG if needed)."""
    return outcome_activity(network_ops.create_watcher)(WatcherRequest.from_dict(payload))


@bp.activity_trigger(input_name="payload")
def prepare_region(payload: dict[str, Any]) -> dict[str, Any]:
    """Delete our stale captures in the watcher and count its sessions."""
    return outcome_activity(network_ops.prepare_region)(
        payload["watcher_id"], payload["now"], payload["retention_seconds"])


@bp.activity_trigger(input_name="payload")
def check_agent(payload: dict[str, Any]) -> dict[str, Any]:
    """Whether the Network Watcher agent extension is installed (on a scale set: on its model and on the
    captured instances)."""
    if payload["target_type"] == AZURE_VMSS:
        return outcome_activity(scale_set_agent.check_scale_set_agent)(
            payload["target_id"], list(payload.get("scope_include") or []))
    return outcome_activity(compute_ops.check_agent)(payload["target_id"], payload["target_type"])


@bp.activity_trigger(input_name="payload")
def install_agent(payload: dict[str, Any]) -> dict[str, Any]:
    """Install the Network Watcher agent extension (on a scale set: model, then the captured instances)."""
    if payload["target_type"] == AZURE_VMSS:
        return outcome_activity(scale_set_agent.install_scale_set_agent)(
            payload["target_id"], list(payload.get("scope_include") or []), payload["os_type"])
    return outcome_activity(compute_ops.install_agent)(
        payload["target_id"], payload["target_type"], payload["location"], payload["os_type"])


@bp.activity_trigger(input_name="payload")
def create_capture(payload: dict[str, Any]) -> dict[str, Any]:
    """Create (or read back) the packet capture."""
    return outcome_activity(network_ops.create_capture)(
        payload["watcher_id"], payload["name"], payload["target"], payload["config"])


@bp.activity_trigger(input_name="payload")
def query_capture(payload: dict[str, Any]) -> dict[str, Any]:
    """The capture's status."""
    return outcome_activity(network_ops.query_capture)(payload["capture_id"])


@bp.activity_trigger(input_name="payload")
def stop_capture(payload: dict[str, Any]) -> dict[str, Any]:
    """Stop an overrunning capture."""
    return outcome_activity(network_ops.stop_capture)(payload["capture_id"])


@bp.activity_trigger(input_name="payload")
def describe_capture(payload: dict[str, Any]) -> dict[str, Any]:
    """The files (blob, or a scale set's per-instance files) of a finished capture."""
    return outcome_activity(network_ops.describe_capture)(DescribeRequest.from_dict(payload))


@bp.activity_trigger(input_name="payload")
def triage_capture(payload: dict[str, Any]) -> dict[str, Any]:
    """Summarise the run's capture files (who talked to whom, how much, what looks wrong)."""
    return outcome_activity(triage.triage_capture)(TriageRequest.from_dict(payload))


@bp.activity_trigger(input_name="payload")
def send_email(payload: dict[str, Any]) -> dict[str, Any]:
    """Email the operators about the run."""
    record = RunRecord.from_dict(payload["record"])
    return outcome_activity(notify.send_email)(record, payload["operation_id"])
