"""The activity functions of the capture run: thin, typed adapters from the orchestration's JSON to one Azure
step each (see :func:`activities.registration.register_activity`).

Each returns an :class:`core.outcome.Outcome` as a dict. Permanent errors come back as failure outcomes;
transient errors raise so the orchestrator's ``RetryOptions`` retry them.
"""

from __future__ import annotations

import azure.durable_functions as df

from activities import compute_ops, network_ops, notify, triage
from activities.registration import register_activity
from core.capture_contract import CaptureCreateRequest, CaptureRef, RegionRequest
from core.capture_files import DescribeRequest
from core.compute_contract import AgentCheckRequest, AgentInstallRequest, LocateRequest
from core.email_contract import EmailRequest
from core.triage_model import TriageRequest
from core.watchers import WatcherListRequest, WatcherRequest

bp = df.Blueprint()

locate_target = register_activity(bp, compute_ops.locate_target, LocateRequest.from_dict)
list_watchers = register_activity(bp, network_ops.list_watchers, WatcherListRequest.from_dict)
create_watcher = register_activity(bp, network_ops.create_watcher, WatcherRequest.from_dict)
prepare_region = register_activity(bp, network_ops.prepare_region, RegionRequest.from_dict)
check_agent = register_activity(bp, compute_ops.check_agent, AgentCheckRequest.from_dict)
install_agent = register_activity(bp, compute_ops.install_agent, AgentInstallRequest.from_dict)
create_capture = register_activity(bp, network_ops.create_capture, CaptureCreateRequest.from_dict)
query_capture = register_activity(bp, network_ops.query_capture, CaptureRef.from_dict)
stop_capture = register_activity(bp, network_ops.stop_capture, CaptureRef.from_dict)
describe_capture = register_activity(bp, network_ops.describe_capture, DescribeRequest.from_dict)
triage_capture = register_activity(bp, triage.triage_capture, TriageRequest.from_dict)
send_email = register_activity(bp, notify.send_email, EmailRequest.from_dict)
