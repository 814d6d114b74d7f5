"""The local Azure Monitor: evaluates the devstack's metric alert rules and posts their notifications.

Each rule is evaluated every `frequency_seconds` against the growth of its VM's counter over the last
`window_seconds`. A rule fires once per breach and resolves after 3 consecutive clean evaluations
(`rules.RuleState`); its notifications go, in order, to the function app's webhook with Azure's retry
policy (`delivery.WebhookSender`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from devstack.common.tasks import cancel_and_wait
from devstack.config import AlertRuleConfig, DevstackConfig
from devstack.monitor.counters import CounterSource, NamespaceCounters
from devstack.monitor.delivery import DeliveryResult, RetryPolicy, Sleep, WebhookSender
from devstack.monitor.metrics import metric_definition
from devstack.monitor.payload import AlertNotice, build_payload, format_threshold
from devstack.monitor.rules import Decision, Outcome, RuleState, breaches
from devstack.monitor.targets import MetricTarget, resolve_target
from devstack.monitor.window import CounterWindow

log = logging.getLogger("devstack.monitor")
JOURNAL_ENV = "DEVSTACK_MONITOR_JOURNAL"


class TimeSource(Protocol):
    """Anything with `now()` in epoch seconds (`devstack.common.clock.Clock` fits)."""

    def now(self) -> float: ...


class WallClock:
    """Real time."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of one rule: the value it saw and what it decided (or why it could not)."""

    rule: str
    target: str
    metric: str
    at: float
    value: int | None
    operator: str
    threshold: float
    outcome: Outcome | None
    error: str | None = None

    @property
    def decision(self) -> Decision | None:
        """The state machine's decision (None when the counter could not be read)."""
        return self.outcome.decision if self.outcome else None


@dataclass
class Notification:
    """A Fired or Resolved notification and, once sent, its delivery result."""

    notice: AlertNotice
    payload: dict[str, Any]
    result: DeliveryResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON view written to the journal."""
        return {"payload": self.payload, "delivery": self.result.to_dict() if self.result else None}


class RuleRunner:
    """One rule on its target: samples the counter, keeps the window and the firing state."""

    def __init__(self, rule: AlertRuleConfig, target: MetricTarget, counters: CounterSource,
                 clock: TimeSource) -> None:
        metric_definition(rule.metric)  # fail early on an unknown metric
        self.rule, self.target = rule, target
        self._counters, self._clock = counters, clock
        self.window = CounterWindow(rule.window_seconds)
        self.state = RuleState()

    async def evaluate(self) -> tuple[Evaluation, AlertNotice | None]:
        """Sample, compare the window's total with the threshold, and advance the state."""
        rule = self.rule
        try:
            sample = await self._counters.read(self.target, rule.metric)
        except Exception as exc:  # a missing namespace must not stop the monitor
            at = self._clock.now()
            return Evaluation(rule.name, self.target.name, rule.metric, at, None, rule.operator,
                              rule.threshold, None, f"{type(exc).__name__}: {exc}"), None
        at = self._clock.now()
        self.window.add(at, sample)
        total = self.window.total()
        assert total is not None
        outcome = self.state.evaluate(breaches(rule.operator, total.value, rule.threshold), at)
        evaluation = Evaluation(rule.name, self.target.name, rule.metric, at, total.value, rule.operator,
                                rule.threshold, outcome)
        if not outcome.notifies:
            return evaluation, None
        assert outcome.alert_guid is not None and outcome.fired_at is not None
        notice = AlertNotice(
            rule=rule, target=self.target,
            condition="Fired" if outcome.decision is Decision.FIRE else "Resolved",
            alert_guid=outcome.alert_guid, fired_at=outcome.fired_at,
            resolved_at=at if outcome.decision is Decision.RESOLVE else None,
            metric_value=total.value, window_start=total.start, window_end=total.end,
        )
        return evaluation, notice


def _ensure_log_output() -> None:
    """Send monitor INFO lines to stderr unless the application set up logging itself."""
    if logging.getLogger().handlers or log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # if the application configures logging later, no line is printed twice


def describe(evaluation: Evaluation) -> str:
    """One log line for an evaluation decision."""
    head = f"rule {evaluation.rule!r} on {evaluation.target}: {evaluation.metric}"
    if evaluation.outcome is None:
        return f"{head} unreadable ({evaluation.error}); no decision"
    outcome = evaluation.outcome
    comparison = f"{evaluation.value} {evaluation.operator} {format_threshold(evaluation.threshold)}"
    verdict = "breach" if outcome.breached else "no breach"
    clean = outcome.decision is Decision.CLEAN_WHILE_FIRING
    extra = f" ({outcome.clean_evaluations}/3 clean)" if clean else ""
    return f"{head} {comparison} -> {verdict}: {outcome.decision.value}{extra}"


class AlertEvaluator:
    """Plays Azure Monitor for the devstack: `await start()`, later `await stop()`.

    `counters`, `clock`, `retry_policy` and `sleep` (the wait between retries) are injectable for tests;
    `on_evaluation`/`on_notification` are called after every evaluation/delivery; `journal_path` (default:
    `$DEVSTACK_MONITOR_JOURNAL` when set) receives one JSON line per notification (payload + attempts, never
    the key); `token_provider` makes every call a secure webhook (`Authorization: Bearer`, never journaled).
    Decisions are logged on the `devstack.monitor` logger; when nothing configured logging,
    `start()` sends that logger's INFO lines to stderr so `python -m devstack up` shows them.
    """

    def __init__(self, config: DevstackConfig, webhook_url: str, function_key: str, ca_bundle: str | None,
                 *, rules: Iterable[AlertRuleConfig] | None = None, counters: CounterSource | None = None,
                 clock: TimeSource | None = None, retry_policy: RetryPolicy | None = None,
                 sleep: Sleep = asyncio.sleep,
                 on_evaluation: Callable[[Evaluation], None] | None = None,
                 on_notification: Callable[[Notification], None] | None = None,
                 journal_path: Path | None = None,
                 token_provider: Callable[[], str] | None = None) -> None:
        self._config = config
        self._token_provider = token_provider
        self._webhook_url, self._function_key, self._ca_bundle = webhook_url, function_key, ca_bundle
        self._clock = clock or WallClock()
        counters = counters or NamespaceCounters()
        chosen = list(config.alert_rules if rules is None else rules)
        self.runners = [RuleRunner(rule, resolve_target(config, rule), counters, self._clock)
                        for rule in chosen]
        self._policy, self._sleep = retry_policy or RetryPolicy(), sleep
        self._on_evaluation, self._on_notification = on_evaluation, on_notification
        env_journal = os.environ.get(JOURNAL_ENV)
        self._journal_path = journal_path or (Path(env_journal) if env_journal else None)
        self.notifications: list[Notification] = []
        self._queues: dict[str, asyncio.Queue[AlertNotice]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._sender: WebhookSender | None = None

    async def start(self, *, periodic: bool = True) -> None:
        """Open the HTTP session; start a delivery worker and (if `periodic`) an evaluation loop per rule.

        With `periodic=False` nothing is evaluated until `evaluate_once()` is called (tests drive it).
        """
        if self._session is not None:
            raise RuntimeError("AlertEvaluator already started")
        _ensure_log_output()
        ssl_ctx = ssl.create_default_context(cafile=self._ca_bundle) if self._ca_bundle else None
        self._session = aiohttp.ClientSession()
        self._sender = WebhookSender(self._session, self._webhook_url, self._function_key,
                                     policy=self._policy, sleep=self._sleep, now=self._clock.now,
                                     ssl_context=ssl_ctx, token_provider=self._token_provider)
        for runner in self.runners:
            queue: asyncio.Queue[AlertNotice] = asyncio.Queue()
            self._queues[runner.rule.name] = queue
            self._tasks.append(asyncio.create_task(self._deliver_loop(queue),
                                                   name=f"deliver {runner.rule.name}"))
            if periodic:
                self._tasks.append(asyncio.create_task(self._evaluate_loop(runner),
                                                       name=f"evaluate {runner.rule.name}"))
        log.info("monitor: %d alert rule(s), webhook %s", len(self.runners), self._sender.endpoint)

    async def stop(self) -> None:
        """Stop evaluating and delivering (undelivered notifications are dropped) and close the session."""
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks)  # a task that died of an error must not keep the session open
        pending = sum(queue.qsize() for queue in self._queues.values())
        if pending:
            log.warning("monitor stopped with %d undelivered notification(s)", pending)
        self._queues.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def evaluate_once(self) -> list[Evaluation]:
        """Evaluate every rule once now, queueing any notification for delivery."""
        return [await self._evaluate(runner) for runner in self.runners]

    async def wait_delivered(self) -> None:
        """Return when every queued notification has been delivered (or given up on)."""
        for queue in list(self._queues.values()):
            await queue.join()

    async def _evaluate(self, runner: RuleRunner) -> Evaluation:
        evaluation, notice = await runner.evaluate()
        log.info("%s", describe(evaluation))
        if notice is not None:
            queue = self._queues.get(runner.rule.name)
            if queue is None:
                raise RuntimeError("AlertEvaluator.start() must be called before evaluating")
            queue.put_nowait(notice)
        if self._on_evaluation is not None:
            self._on_evaluation(evaluation)
        return evaluation

    async def _evaluate_loop(self, runner: RuleRunner) -> None:
        while True:
            try:
                await self._evaluate(runner)
            except Exception:  # one bad evaluation must not end the rule's schedule for good
                log.exception("monitor: evaluating rule %r failed", runner.rule.name)
            await asyncio.sleep(runner.rule.frequency_seconds)

    async def _deliver_loop(self, queue: asyncio.Queue[AlertNotice]) -> None:
        while True:
            notice = await queue.get()
            try:
                await self._deliver(notice)
            except Exception:
                log.exception("monitor: delivering %s for rule %r failed", notice.condition, notice.rule.name)
            finally:
                queue.task_done()

    async def _deliver(self, notice: AlertNotice) -> None:
        assert self._sender is not None
        notification = Notification(notice, build_payload(notice))
        notification.result = await self._sender.send(notification.payload)
        self.notifications.append(notification)
        result = notification.result
        verdict = "delivered" if result.delivered else "NOT delivered"
        log.info("monitor: %s %r for %s -> %s after %d attempt(s)", notice.condition, notice.rule.name,
                 notice.target.name, verdict, len(result.attempts))
        if self._journal_path is not None:
            self._journal_path.parent.mkdir(parents=True, exist_ok=True)
            with self._journal_path.open("a") as journal:
                journal.write(json.dumps(notification.to_dict()) + "\n")
        if self._on_notification is not None:
            self._on_notification(notification)
