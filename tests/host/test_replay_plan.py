"""The host's sequence-id simulation (pure): numbering, new work, nondeterminism, retries, carry-over."""

import datetime as dt

from devstack.host.history import EventType, make_event
from devstack.host.simulation import plan_episode

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def started(seconds: float = 0) -> list[dict]:
    return [
        make_event(EventType.ORCHESTRATOR_STARTED, at(seconds)),
        make_event(EventType.EXECUTION_STARTED, at(seconds), Name="o", Version="", Input=None),
    ]


def activity(name: str, value: str = '"x"') -> dict:
    return {"actionType": 0, "functionName": name, "input": value}


def retry(name: str, attempts: int = 3, interval_ms: int = 100) -> dict:
    inner = {
        "actionType": 1,
        "functionName": name,
        "input": "null",
        "retryOptions": {"firstRetryIntervalInMilliseconds": interval_ms, "maxNumberOfAttempts": attempts},
    }
    return {"actionType": 12, "compoundActions": [inner]}


def completed(task_id: int, seconds: float) -> list[dict]:
    return [
        make_event(EventType.ORCHESTRATOR_STARTED, at(seconds)),
        make_event(EventType.TASK_COMPLETED, at(seconds), TaskScheduledId=task_id, Result='"ok"'),
    ]


def failed(task_id: int) -> dict:
    return make_event(EventType.TASK_FAILED, T0, TaskScheduledId=task_id, Reason="boom", Details="trace")


def scheduled(task_id: int, name: str) -> dict:
    return make_event(EventType.TASK_SCHEDULED, T0, task_id, Name=name, Input='"x"')


def timer_created(task_id: int) -> dict:
    return make_event(EventType.TIMER_CREATED, T0, task_id, FireAt="2024-01-01T00:00:01.000000Z")


def test_chaining_second_episode_schedules_only_the_next_activity() -> None:
    history = [*started(), scheduled(0, "say_hello"), *completed(0, 5)]
    plan = plan_episode(history, [activity("say_hello"), activity("say_hello", '"Seattle"')])
    assert [leaf.id for leaf in plan.leaves] == [0, 1]
    assert [(leaf.id, leaf.name, leaf.action["input"]) for leaf in plan.new_leaves] == [
        (1, "say_hello", '"Seattle"')
    ]
    assert plan.nondeterminism is None and plan.open_tasks


def test_parallel_retries_number_timers_and_reattempts_like_the_sdk() -> None:
    # ids at schedule time, retry timers and reattempts as failures replay:
    # A=0, B=1, A-timer=2, B-timer=3, A-retry=4, B-retry=5, then C=6
    fan_out = {"actionType": 12, "compoundActions": [retry("A"), retry("B")]}
    actions = [fan_out]  # what the SDK has yielded so far
    history = [
        *started(),
        scheduled(0, "A"),
        scheduled(1, "B"),
        make_event(EventType.ORCHESTRATOR_STARTED, at(1)),
        failed(0),
        failed(1),
    ]
    plan = plan_episode(history, actions)
    assert [(leaf.id, leaf.kind, leaf.retry_timer) for leaf in plan.new_leaves] == [
        (2, "timer", True),
        (3, "timer", True),
    ]
    assert plan.new_leaves[0].fire_at == at(1.1)
    history += [
        timer_created(2),
        timer_created(3),
        make_event(EventType.ORCHESTRATOR_STARTED, at(2)),
        make_event(EventType.TIMER_FIRED, at(2), TimerId=2),
        make_event(EventType.TIMER_FIRED, at(2), TimerId=3),
    ]
    plan = plan_episode(history, actions)
    assert [(leaf.id, leaf.name, leaf.attempt) for leaf in plan.new_leaves] == [(4, "A", 2), (5, "B", 2)]
    history += [scheduled(4, "A"), scheduled(5, "B"), *completed(4, 3), *completed(5, 3)]
    plan = plan_episode(history, [fan_out, activity("C")])
    assert [(leaf.id, leaf.name) for leaf in plan.new_leaves] == [(6, "C")]


def test_retry_exhaustion_waits_for_the_final_dummy_timer_then_fails() -> None:
    actions = [retry("A", attempts=2, interval_ms=500)]
    history = [
        *started(),
        scheduled(0, "A"),
        make_event(EventType.ORCHESTRATOR_STARTED, at(1)),
        failed(0),
        timer_created(1),
        make_event(EventType.ORCHESTRATOR_STARTED, at(2)),
        make_event(EventType.TIMER_FIRED, at(2), TimerId=1),
        scheduled(2, "A"),
        make_event(EventType.ORCHESTRATOR_STARTED, at(3)),
        failed(2),
    ]
    plan = plan_episode(history, actions)
    (final_timer,) = plan.new_leaves
    assert (
        final_timer.id == 3 and final_timer.retry_timer and final_timer.fire_at == at(3)
    )  # dummy: fires now
    history += [
        timer_created(3),
        make_event(EventType.ORCHESTRATOR_STARTED, at(4)),
        make_event(EventType.TIMER_FIRED, at(4), TimerId=3),
    ]
    plan = plan_episode(history, actions)
    assert plan.new_leaves == [] and not plan.open_tasks


def test_a_different_activity_at_the_same_position_is_nondeterminism() -> None:
    plan = plan_episode([*started(), scheduled(0, "A"), *completed(0, 1)], [activity("B")])
    assert plan.nondeterminism is not None
    assert "sequence number 0 named 'A'" in plan.nondeterminism and "named 'B'" in plan.nondeterminism


def test_a_scheduled_task_the_replay_never_reaches_is_nondeterminism() -> None:
    plan = plan_episode([*started(), scheduled(0, "A"), *completed(0, 1)], [])
    assert plan.nondeterminism is not None and "hasn't (yet?) scheduled" in plan.nondeterminism


def test_task_any_winner_with_a_cancelled_timer_leaves_nothing_open() -> None:
    race = {
        "actionType": 11,
        "compoundActions": [
            {"actionType": 6, "externalEventName": "Approval", "reason": "ExternalEvent"},
            {"actionType": 5, "fireAt": "2024-01-01T00:01:00.000000Z", "isCanceled": True},
        ],
    }
    history = [
        *started(),
        timer_created(0),
        make_event(EventType.ORCHESTRATOR_STARTED, at(1)),
        make_event(EventType.EVENT_RAISED, at(1), Name="Approval", Input='"yes"'),
    ]
    plan = plan_episode(history, [race])
    assert plan.new_leaves == [] and not plan.open_tasks and plan.cancelled_timer_ids == [0]


def test_an_uncancelled_losing_timer_keeps_the_instance_open() -> None:
    race = {
        "actionType": 11,
        "compoundActions": [
            {"actionType": 6, "externalEventName": "Approval", "reason": "ExternalEvent"},
            {"actionType": 5, "fireAt": "2024-01-01T00:01:00.000000Z", "isCanceled": False},
        ],
    }
    history = [
        *started(),
        timer_created(0),
        make_event(EventType.ORCHESTRATOR_STARTED, at(1)),
        make_event(EventType.EVENT_RAISED, at(1), Name="Approval", Input='"yes"'),
    ]
    assert plan_episode(history, [race]).open_tasks


def test_an_event_raised_before_anyone_waits_is_buffered() -> None:
    wait = {"actionType": 6, "externalEventName": "go", "reason": "ExternalEvent"}
    history = [*started(), make_event(EventType.EVENT_RAISED, at(0), Name="go", Input='"early"')]
    plan = plan_episode(history, [activity("A"), wait, activity("B")])
    history += [scheduled(0, "A"), *completed(0, 1)]
    plan = plan_episode(history, [activity("A"), wait, activity("B")])
    assert [(leaf.id, leaf.name) for leaf in plan.new_leaves] == [(1, "B")]


def test_continue_as_new_carries_only_events_raised_after_it() -> None:
    actions = [activity("A"), {"actionType": 4, "input": '{"n": 1}'}]
    history = [
        *started(),
        make_event(EventType.EVENT_RAISED, at(0), Name="early", Input="1"),
        scheduled(0, "A"),
        make_event(EventType.ORCHESTRATOR_STARTED, at(1)),
        make_event(EventType.TASK_COMPLETED, at(1), TaskScheduledId=0, Result="1"),
        make_event(EventType.EVENT_RAISED, at(1), Name="late", Input="2"),
    ]
    plan = plan_episode(history, actions)
    assert plan.continue_as_new == {"actionType": 4, "input": '{"n": 1}'}
    from devstack.host.replay import carried_over_events

    assert [e["Name"] for e in carried_over_events(history, plan.continue_as_new_after)] == ["late"]


def test_rewind_drops_failures_and_their_scheduling_rows_and_names_failed_children() -> None:
    from devstack.host.control import rewind_history

    history = [
        *started(),
        scheduled(0, "A"),
        *completed(0, 1),
        scheduled(1, "B"),
        make_event(EventType.SUB_ORCHESTRATION_INSTANCE_CREATED, T0, 2, Name="c", InstanceId="kid"),
        make_event(EventType.ORCHESTRATOR_STARTED, at(2)),
        failed(1),
        make_event(EventType.SUB_ORCHESTRATION_INSTANCE_FAILED, T0, TaskScheduledId=2, Reason="x"),
        make_event(EventType.EXECUTION_COMPLETED, T0, OrchestrationStatus=3, Result="failed"),
    ]
    kept, children = rewind_history(history)
    kinds = [EventType(e["EventType"]).name for e in kept]
    assert kinds == [
        "ORCHESTRATOR_STARTED",
        "EXECUTION_STARTED",
        "TASK_SCHEDULED",
        "ORCHESTRATOR_STARTED",
        "TASK_COMPLETED",
        "SUB_ORCHESTRATION_INSTANCE_CREATED",
        "ORCHESTRATOR_STARTED",
    ]
    assert children == ["kid"]
    assert plan_episode(kept, [activity("A"), activity("B")]).new_leaves[0].id == 1  # B is scheduled again
