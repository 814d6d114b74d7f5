"""One way to declare an activity function: a typed request in, an :class:`core.outcome.Outcome` dict out.

Every activity has the same three parts: decode the orchestrator's JSON into its request payload
(``from_dict``), run one step, and serialise the step's outcome (:func:`activities.errors.outcome_activity`
turns permanent Azure errors into failures and lets transient ones raise for the retry). The blueprints
declare each activity with :func:`register_activity` instead of repeating that body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import azure.durable_functions as df

from activities.errors import outcome_activity
from core.outcome import Outcome

RequestT = TypeVar("RequestT")


def register_activity(bp: df.Blueprint, step: Callable[[RequestT], Outcome],
                      decode: Callable[[Any], RequestT], name: str = "") -> Any:
    """Register ``step`` on ``bp`` as the activity function ``name`` (default: the step's own name).

    ``decode`` builds the step's request from the activity's JSON input (a payload's ``from_dict``); the
    returned function builder is what orchestrators pass to ``call_activity_with_retry``.
    """
    run = outcome_activity(step)

    def activity(payload: dict[str, Any]) -> dict[str, Any]:
        return run(decode(payload))

    # the SDK names the function (and call_activity's target) after the Python function
    activity.__name__ = activity.__qualname__ = name or step.__name__
    activity.__doc__ = step.__doc__
    return bp.activity_trigger(input_name="payload")(activity)
