"""The sentry: one eternal orchestration per armed target that keeps exactly one continuous capture running.

Each execution does one step and continues as new with the updated `SentryState`:
- no session for the current generation yet (arming, a renewal, or a crash in between): stop and delete every
  other ring capture of the target first, then create this generation's (so there is never a second session;
  the time between the two is the renewal gap, recorded as `last_gap_seconds`);
- otherwise wait until the renewal is due (`session_seconds - renew_margin_seconds` after the session started)
  or the next watch tick, whichever is first, or for the `disarm` event. On a tick it checks the session (a
  stopped or failed one is replaced at once) and trims earlier sessions' files to the budget.
Disarm stops and deletes every ring capture of the target and ends the orchestration. Activities are
idempotent (the capture name carries the generation), so replays after a host crash double nothing.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from activities.blueprint import list_watchers, locate_target, query_capture
from activities.ring_blueprint import ensure_ring, prune_rings, sweep_rings
from core.arm_ids import parse_resource_id
from core.capture_contract import CaptureRef, CaptureState
from core.compute_contract import LocatedTarget, LocateRequest
from core.errors import InvalidRequest
from core.orchestration import CAPTURE_TERMINAL_STATES, DISARM_EVENT, RUN_REJECTED
from core.outcome import Outcome
from core.regions import pick_watcher
from core.sentry import (
    RingPlan,
    RingPrune,
    RingSession,
    RingSweep,
    SentryState,
    SentryView,
    ring_capture_name,
    ring_name_prefix,
)
from core.targets import AZURE_VMSS
from core.watchers import WatcherList, WatcherListRequest
from orchestrators.inputs import orchestration_input


class SentryFailed(Exception):
    """The target cannot be armed (gone, no watcher): the sentry ends with this reason."""


def sentry_orchestration(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Entry point: validate the input, then do one step of the sentry."""
    raw = orchestration_input(context)
    try:
        state = SentryState.from_dict(raw)
    except (InvalidRequest, KeyError, TypeError, ValueError) as exc:
        return {"status": RUN_REJECTED, "reason": str(exc)}
    sentry = Sentry(context, state)
    try:
        return (yield from sentry.step())
    except SentryFailed as exc:
        context.set_custom_status(SentryView.of(sentry.state, f"failed: {exc}", armed=False).to_dict())
        return {"status": "failed", "reason": str(exc), "target": state.request.target.id}
    except Exception as exc:  # an activity kept failing (Azure down?): try again after a watch interval
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return (yield from sentry.retry_later(first))


class Sentry:
    """One execution of the sentry orchestration."""

    def __init__(self, context: df.DurableOrchestrationContext, state: SentryState) -> None:
        self.ctx = context
        self.state = state
        self.target = state.request.target
        cfg = state.config
        self.retry = df.RetryOptions(int(cfg.get("retry_interval_ms", 5000)),
                                     int(cfg.get("retry_attempts", 5)))

    def _call(self, activity: Any, payload: dict[str, Any]) -> Any:
        return self.ctx.call_activity_with_retry(activity, self.retry, payload)

    def _now(self) -> datetime:
        return self.ctx.current_utc_datetime

    def _publish(self, phase: str, armed: bool = True) -> None:
        self.ctx.set_custom_status(SentryView.of(self.state, phase, armed).to_dict())

    @staticmethod
    def _ok(result: Any, step: str) -> dict[str, Any]:
        outcome = Outcome.from_dict(result)
        if not outcome.ok:
            raise SentryFailed(f"{step}: {outcome.message or outcome.error_code}")
        return outcome.value

    def step(self) -> Generator[Any, Any, dict[str, Any]]:
        """Locate once, make sure this generation's session runs, then wait; continue as new."""
        if not self.state.watcher_id:
            yield from self._locate()
        if self.state.current is None:
            yield from self._start_session()
        disarmed = yield from self._wait()
        if disarmed:
            yield from self._disarm()
            return {"status": "disarmed", "target": self.target.id, "renewals": self.state.renewals}
        self.ctx.continue_as_new(self.state.to_dict())
        return {"status": "continued", "generation": self.state.generation}

    def retry_later(self, reason: str) -> Generator[Any, Any, dict[str, Any]]:
        """Wait one watch interval (or for disarm), then start this step again from the state it reached."""
        self._publish(f"retrying: {reason}")
        wake = self._now() + timedelta(seconds=self.state.request.watch_seconds)
        timer = self.ctx.create_timer(wake)
        disarm = self.ctx.wait_for_external_event(DISARM_EVENT)
        if (yield self.ctx.task_any([timer, disarm])) == disarm:
            timer.cancel()  # type: ignore[attr-defined]  # create_timer gives a TimerTask (typed TaskBase)
            yield from self._disarm()
            return {"status": "disarmed", "target": self.target.id, "renewals": self.state.renewals}
        self.ctx.continue_as_new(self.state.to_dict())
        return {"status": "retrying", "reason": reason}

    def _locate(self) -> Generator[Any, Any, None]:
        self._publish("locating")
        rid = parse_resource_id(self.target.id)
        located, watchers = yield self.ctx.task_all([
            self._call(locate_target, LocateRequest(self.target.id, self.target.target_type).to_dict()),
            self._call(list_watchers, WatcherListRequest(rid.subscription_id).to_dict()),
        ])
        vm = LocatedTarget.from_dict(self._ok(located, "looking up the target"))
        listed = WatcherList.from_dict(self._ok(watchers, "listing Network Watchers"))
        watcher = pick_watcher(listed.watchers, vm.location)
        if watcher is None:
            raise SentryFailed(f"no Network Watcher is enabled in region {vm.location}")
        self.state = replace(self.state, watcher_id=watcher.id)

    def _start_session(self) -> Generator[Any, Any, None]:
        name = ring_capture_name(self.target.id, self.state.generation)
        self._publish("starting")
        began = self._now()
        sweep = RingSweep(self.state.watcher_id, ring_name_prefix(self.target.id), keep=name)
        self._ok((yield self._call(sweep_rings, sweep.to_dict())), "stopping earlier continuous captures")
        cfg = self.state.config
        filters = [dict(f) for f in self.state.request.filters] or list(cfg.get("filters") or [])
        plan = RingPlan(self.state.watcher_id, name, self.target, self.state.request.sizing,
                        cfg["storage_account_id"], filters, int(cfg.get("bytes_per_packet", 0)))
        created = self._ok((yield self._call(ensure_ring, plan.to_dict())), "starting the continuous capture")
        session = RingSession(name, created["id"], created.get("storage_path", ""), self._now().isoformat())
        self.state = self.state.with_session(session)
        if len(self.state.sessions) > 1:  # a renewal (or a restart after a crash): how long were we blind?
            self.state = self.state.with_gap((self._now() - began).total_seconds())

    def _renew_at(self) -> datetime:
        current = self.state.current
        assert current is not None
        request = self.state.request
        return datetime.fromisoformat(current.started) + timedelta(
            seconds=request.session_seconds - request.renew_margin_seconds)

    def _wait(self) -> Generator[Any, Any, bool]:
        renew_at = self._renew_at()
        wake = min(renew_at, self._now() + timedelta(seconds=self.state.request.watch_seconds))
        self._publish("armed")
        timer = self.ctx.create_timer(wake)
        disarm = self.ctx.wait_for_external_event(DISARM_EVENT)
        winner = yield self.ctx.task_any([timer, disarm])
        if winner == disarm:
            timer.cancel()  # type: ignore[attr-defined]  # create_timer gives a TimerTask (typed TaskBase)
            return True
        if self._now() >= renew_at:
            self._next_generation()
            return False
        yield from self._watch()
        return False

    def _next_generation(self) -> None:
        state = self.state
        self.state = replace(state, generation=state.generation + 1, renewals=state.renewals + 1)

    def _watch(self) -> Generator[Any, Any, None]:
        current = self.state.current
        assert current is not None
        query = CaptureRef(current.capture_id).to_dict()
        result = Outcome.from_dict((yield self._call(query_capture, query)))
        status = CaptureState.from_dict(result.value).status if result.ok else "gone"
        if status.lower() in CAPTURE_TERMINAL_STATES or not result.ok:
            self._next_generation()  # stopped by someone, failed or deleted: replace it now
            return
        paths = tuple(s.storage_path for s in self.state.sessions if s.storage_path)
        if len(paths) > 1 or self.state.retired:
            prune = RingPrune(paths, self.state.request.budget_bytes, self.state.retired,
                              per_instance=self.target.target_type == AZURE_VMSS)
            self._ok((yield self._call(prune_rings, prune.to_dict())), "trimming earlier sessions' files")
            self.state = replace(self.state, retired=())

    def _disarm(self) -> Generator[Any, Any, None]:
        self._publish("disarming")
        if self.state.watcher_id:
            sweep = RingSweep(self.state.watcher_id, ring_name_prefix(self.target.id), keep="")
            self._ok((yield self._call(sweep_rings, sweep.to_dict())), "stopping the continuous capture")
        self._publish("disarmed", armed=False)
