"""The stateful part of a metric alert rule: fire once per breach, resolve after 3 clean evaluations.

This mirrors Azure Monitor's stateful metric alerts: a breach while the rule is not firing fires a new alert
(a new alert id); further breaches while it is firing do nothing; three consecutive non-breaching
evaluations resolve it (the Resolved notification reuses the alert id).
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

RESOLVE_AFTER_CLEAN_EVALUATIONS = 3

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThan": operator.gt,
    "GreaterThanOrEqual": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqual": operator.le,
}


class Decision(Enum):
    """What one evaluation decided."""

    FIRE = "fire"
    STILL_FIRING = "still-firing"
    CLEAN_WHILE_FIRING = "clean-while-firing"
    RESOLVE = "resolve"
    OK = "ok"


@dataclass(frozen=True)
class Outcome:
    """The decision plus the alert instance it concerns (None when not firing and nothing fired)."""

    decision: Decision
    breached: bool
    alert_guid: str | None
    clean_evaluations: int
    fired_at: float | None

    @property
    def notifies(self) -> bool:
        """True when this evaluation sends a notification (Fired or Resolved)."""
        return self.decision in (Decision.FIRE, Decision.RESOLVE)


def breaches(operator_name: str, value: float, threshold: float) -> bool:
    """Whether `value <operator> threshold` holds (Azure's operator names)."""
    try:
        return OPERATORS[operator_name](value, threshold)
    except KeyError:
        raise ValueError(f"unknown operator {operator_name!r}; known: {', '.join(OPERATORS)}") from None


class RuleState:
    """The firing state of one rule on one target."""

    def __init__(self, new_guid: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._new_guid = new_guid
        self.alert_guid: str | None = None
        self.fired_at: float | None = None
        self.clean_evaluations = 0

    @property
    def firing(self) -> bool:
        """True between a Fired and its Resolved."""
        return self.alert_guid is not None

    def evaluate(self, breached: bool, at: float) -> Outcome:
        """Advance the state with one evaluation's result."""
        if breached:
            self.clean_evaluations = 0
            if self.firing:
                return self._outcome(Decision.STILL_FIRING, breached)
            self.alert_guid, self.fired_at = self._new_guid(), at
            return self._outcome(Decision.FIRE, breached)
        if not self.firing:
            return self._outcome(Decision.OK, breached)
        self.clean_evaluations += 1
        if self.clean_evaluations < RESOLVE_AFTER_CLEAN_EVALUATIONS:
            return self._outcome(Decision.CLEAN_WHILE_FIRING, breached)
        outcome = self._outcome(Decision.RESOLVE, breached)
        self.alert_guid, self.fired_at, self.clean_evaluations = None, None, 0
        return outcome

    def _outcome(self, decision: Decision, breached: bool) -> Outcome:
        return Outcome(decision, breached, self.alert_guid, self.clean_evaluations, self.fired_at)
