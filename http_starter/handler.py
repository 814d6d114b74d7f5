"""Request handling for ``POST /api/alerts``: size limit, JSON, parsing, targets, storm-safe starts.

Kept apart from the Functions decorators so every branch can be tested with plain ``func.HttpRequest``
objects and a real durable client.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import azure.functions as func

from core import strict_json
from core.alerts import ParsedAlert, parse_alert
from core.cooldown import SeenRun, covering_run, first_alert_of, settle
from core.errors import ConfigurationError, InvalidRequest
from core.naming import cooldown_start, instance_id, run_prefix
from core.orchestration import ACTIVE_RUNTIME_STATUSES, CAPTURE_ORCHESTRATOR, EXTRA_ALERT_EVENT
from core.records import CaptureRequest
from core.sentry import SentryView, sentry_instance_id
from core.settings import Settings
from core.targets import Target, select_targets

MAX_BODY_BYTES = 256 * 1024
CLIENT_CALL_TIMEOUT_SECONDS = 4.0
ANSWER_DEADLINE_SECONDS = 8.0  # Azure Monitor gives a webhook about 10 s
CLOCK_SKEW_SECONDS = 60  # a run's created time may trail its first alert's fired time by clock skew
log = logging.getLogger("alertcap.starter")


def json_response(status: int, body: dict[str, Any]) -> func.HttpResponse:
    """A JSON answer."""
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


class BackendUnavailable(RuntimeError):
    """The Durable backend did not answer (in time): the webhook answers 503 so Azure Monitor retries."""


@dataclass(frozen=True)
class RunAnswer:
    """What happened for one target."""

    instance_id: str
    target: str
    outcome: str  # "started" | "duplicate"
    runtime_status: str = ""
    status_url: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        body = {"instanceId": self.instance_id, "target": self.target, "outcome": self.outcome}
        if self.runtime_status:
            body["runtimeStatus"] = self.runtime_status
        if self.status_url:
            body["statusQueryGetUri"] = self.status_url
        return body


def read_alert(req: func.HttpRequest) -> ParsedAlert | func.HttpResponse:
    """The parsed alert, or the 400/413 answer for a bad request."""
    declared = req.headers.get("Content-Length")
    if declared is not None:
        try:
            if int(declared) > MAX_BODY_BYTES:
                return json_response(413, {"error": "payload_too_large", "limit_bytes": MAX_BODY_BYTES})
        except ValueError:
            return json_response(400, {"error": "invalid_request", "field": "Content-Length",
                                       "message": "must be an integer"})
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        return json_response(413, {"error": "payload_too_large", "limit_bytes": MAX_BODY_BYTES})
    try:
        document = strict_json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # ValueError covers bad UTF-8, bad JSON, over-long numbers
        return json_response(400, {"error": "invalid_json", "field": "$", "message": str(exc)[:200]})
    try:
        return parse_alert(document)
    except InvalidRequest as exc:
        return json_response(400, exc.to_dict())


async def handle_alert(req: func.HttpRequest, client: Any, settings_loader: Any) -> func.HttpResponse:
    """Answer one webhook delivery (well inside Azure Monitor's ~10 s timeout)."""
    parsed = read_alert(req)
    if isinstance(parsed, func.HttpResponse):
        return parsed
    if not parsed.firing:
        return json_response(200, {"status": "ignored", "reason": f"alert is {parsed.summary.condition}, "
                                   "only Fired/Activated alerts start captures"})
    try:
        settings: Settings = settings_loader()
    except ConfigurationError as exc:
        log.error("configuration error: %s", exc)
        return json_response(500, {"error": "misconfigured", "setting": exc.setting})
    try:
        targets, ignored = select_targets(parsed, settings.allowed_scopes, settings.max_targets_per_alert)
    except InvalidRequest as exc:
        return json_response(400, exc.to_dict())
    for item in ignored:
        log.info("ignoring target %s: %s", item.target, item.reason)
    if not targets:
        return json_response(200, {"status": "ignored", "reason": "no VM or VM scale set target",
                                   "ignored": [i.to_dict() for i in ignored]})
    starts = asyncio.gather(*(_start_one(client, settings, parsed, t) for t in targets))
    try:
        answers = await asyncio.wait_for(starts, ANSWER_DEADLINE_SECONDS)
    except (TimeoutError, BackendUnavailable) as exc:
        log.warning("durable backend unavailable: %s", exc or type(exc).__name__)
        return json_response(503, {"error": "backend_unavailable", "message": "retry later"})
    started = any(a.outcome == "started" for a in answers)
    return json_response(202 if started else 200, {
        "status": "accepted" if started else "duplicate",
        "runs": [a.to_dict() for a in answers],
        "ignored": [i.to_dict() for i in ignored],
    })


async def _client_call(what: str, call: Any) -> Any:
    """Await one Durable client call with a timeout; the SDK raises plain ``Exception`` for HTTP errors."""
    try:
        return await asyncio.wait_for(call, CLIENT_CALL_TIMEOUT_SECONDS)
    except TimeoutError:
        raise BackendUnavailable(f"{what}: timed out") from None
    except Exception as exc:
        raise BackendUnavailable(f"{what}: {str(exc)[:200]}") from exc


async def _start_one(client: Any, settings: Settings, alert: ParsedAlert, target: Target) -> RunAnswer:
    """Start the run for ``target`` unless a run of it covers the alert (cooldown from the first alert).

    One listing decides (the run to join, if any); after a start, one more listing settles a race with a
    delivery that started a neighbouring run at the same time (docs/ARCHITECTURE.md, "Cooldown").
    """
    cooldown = settings.alert_cooldown_seconds
    runs = await _list_runs(client, target, alert, cooldown)
    joined = covering_run(runs, alert.fired_at, cooldown)
    if joined is not None:
        return await _duplicate(client, joined.instance_id, target, alert, joined.status)
    run_id = instance_id(target.id, alert.fired_at, cooldown)
    own = next((r for r in runs if r.instance_id == run_id), None)
    if own is not None:  # this slot's run yielded to an earlier one: never start it again
        return RunAnswer(run_id, target.id, "duplicate", own.status)
    first = cooldown_start(alert.fired_at)
    sentry = await armed_view(client, target.id)
    request = CaptureRequest(target, alert.summary, first.isoformat(), settings.capture_config(), sentry)
    try:
        await _client_call("start_new", client.start_new(CAPTURE_ORCHESTRATOR, run_id, request.to_dict()))
    except BackendUnavailable as exc:
        # a concurrent delivery started it first: Azure answers 500, the devstack 409, both "already exists"
        if "already exists" not in str(exc).lower():
            raise
        return await _duplicate(client, run_id, target, alert, "Running")
    winner = await _settle(client, target, alert, SeenRun(run_id, first, "Pending"), cooldown)
    if winner is not None:
        return await _duplicate(client, winner.instance_id, target, alert, winner.status)
    log.info("started run %s for %s", run_id, target.id)
    urls = client.create_http_management_payload(run_id)
    return RunAnswer(run_id, target.id, "started", "Pending", without_key(urls.get("statusQueryGetUri", "")))


async def armed_view(client: Any, target_id: str) -> dict[str, Any] | None:
    """The target's sentry view when it is armed with a running ring (its files are harvested instead of
    starting a capture), else None: an unarmed target, or one whose sentry has not started its ring yet."""
    status = await _client_call("get_status", client.get_status(sentry_instance_id(target_id)))
    if not status or _status_name(status) not in ACTIVE_RUNTIME_STATUSES:
        return None
    view = SentryView.from_dict(getattr(status, "custom_status", None))
    return view.to_dict() if view is not None and view.armed and view.storage_paths else None


async def _list_runs(client: Any, target: Target, alert: ParsedAlert, cooldown: int) -> list[SeenRun]:
    """The target's runs that may cover the alert: one listing by instance-id prefix, created since the
    earliest first alert that could cover it (a run is created after its first alert fired)."""
    since = alert.fired_at - timedelta(seconds=cooldown + CLOCK_SKEW_SECONDS)
    statuses = await _client_call("get_status_by", client.get_status_by(
        created_time_from=since, instance_id_prefix=run_prefix(target.id)))
    runs = []
    for status in statuses or []:
        first = first_alert_of(getattr(status, "input_", None))
        if first is not None and status.instance_id:
            runs.append(SeenRun(status.instance_id, first, _status_name(status)))
    return runs


async def _settle(client: Any, target: Target, alert: ParsedAlert, mine: SeenRun,
                  cooldown: int) -> SeenRun | None:
    """After starting ``mine``: list again; end the runs that lose to it, or end ``mine`` and return the
    winner it yields to. A listing that fails leaves ``mine`` running (a concurrent winner ends it)."""
    try:
        runs = await _list_runs(client, target, alert, cooldown)
    except BackendUnavailable as exc:
        log.warning("could not settle run %s: %s", mine.instance_id, exc)
        return None
    if all(r.instance_id != mine.instance_id for r in runs):
        runs.append(mine)
    outcome = settle(mine, runs, cooldown)
    for loser in outcome.to_terminate:
        reason = f"cooldown: an earlier alert's run covers this one ({(outcome.winner or mine).instance_id})"
        try:
            await _client_call("terminate", client.terminate(loser.instance_id, reason))
            log.info("run %s yielded: %s", loser.instance_id, reason)
        except BackendUnavailable as exc:  # already finished or ended by the other delivery
            log.info("could not end run %s: %s", loser.instance_id, exc)
    return outcome.winner


def without_key(url: str) -> str:
    """``url`` without its ``code=``: the Durable management URLs carry the extension's system key, which may
    terminate, purge or rewind any run; a webhook caller holds only the function key and gets no more."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "code"]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _duplicate(client: Any, run_id: str, target: Target, alert: ParsedAlert, status: str) -> RunAnswer:
    """Tell the running instance about the extra alert (best effort) and name it in the answer."""
    if status in ACTIVE_RUNTIME_STATUSES:  # a capture run never continues as new: running or pending
        try:
            await _client_call("raise_event", client.raise_event(run_id, EXTRA_ALERT_EVENT,
                                                                 alert.summary.to_dict()))
        except BackendUnavailable as exc:  # the run may have just finished; the duplicate is still answered
            log.info("could not record extra alert on %s: %s", run_id, exc)
    log.info("duplicate alert for %s: existing run %s (%s)", target.id, run_id, status)
    return RunAnswer(run_id, target.id, "duplicate", status)


def _status_name(status: Any) -> str:
    runtime = getattr(status, "runtime_status", None)
    return getattr(runtime, "value", None) or str(runtime or "Unknown")
