"""The devstack's local Azure Monitor: metric alert rules evaluated on the emulated VMs' own counters."""

from devstack.monitor.delivery import RetryPolicy
from devstack.monitor.evaluator import AlertEvaluator, Evaluation, Notification

__all__ = ["AlertEvaluator", "Evaluation", "Notification", "RetryPolicy"]
