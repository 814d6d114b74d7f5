"""The names and status values the function app's parts agree on: one home for each.

The HTTP starter, the orchestrators, the activities, the CLI and the devstack import these instead of
spelling the strings again. Renaming one of the orchestrator or event names breaks runs that are already in
flight (Durable stores the names in their history), so they are part of the deployed contract.
"""

from __future__ import annotations

# --- orchestrator function names (what ``start_new`` is called with) --------------------------------------
CAPTURE_ORCHESTRATOR = "capture_orchestration"
SENTRY_ORCHESTRATOR = "sentry_orchestration"

# --- external events raised to running instances ---------------------------------------------------------
EXTRA_ALERT_EVENT = "extra_alert"  # the starter tells a running capture run about another alert it covers
DISARM_EVENT = "disarm"  # the sentry API tells a target's sentry to stop its continuous capture

# --- Network Watcher packet capture states (``packetCaptureStatus``, compared lower-cased) --------------
CAPTURE_STOPPED = "stopped"
CAPTURE_ERROR = "error"
CAPTURE_TERMINAL_STATES = frozenset({CAPTURE_STOPPED, CAPTURE_ERROR})

# --- the run record's ``status`` (the capture orchestration's output) --------------------------------------
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"
RUN_REJECTED = "rejected"  # the orchestration input was invalid: nothing ran
NOTIFICATION_SENT = "sent"
NOTIFICATION_FAILED = "failed"
NOTIFICATION_FAILED_SUFFIX = ", notification failed"  # appended to the run's status when no email went out

# --- Durable runtime statuses (the management API's ``runtimeStatus``) ------------------------------------
# In the order of the Durable Task Framework's OrchestrationStatus codes (history events carry the int).
RUNTIME_STATUSES = (
    "Running", "Completed", "ContinuedAsNew", "Failed", "Canceled", "Terminated", "Pending", "Suspended",
)
TERMINAL_RUNTIME_STATUSES = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
ACTIVE_RUNTIME_STATUSES = frozenset({"Running", "Pending", "ContinuedAsNew"})  # neither ended nor paused
