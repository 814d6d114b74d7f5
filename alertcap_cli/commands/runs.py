"""`alertcap runs ...`: list, show, watch, terminate, suspend, resume, rewind, purge."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Annotated

import typer

from alertcap_cli.client import terminate_first_hints
from alertcap_cli.errors import (
    CliError,
    NotificationFailedError,
    RunEndedError,
    StillRunningError,
    UsageError,
)
from alertcap_cli.models import ActionResult, Run, normalise_status
from alertcap_cli.state import CliState, OutputOption, cli_state
from alertcap_cli.timeparse import iso, parse_time
from alertcap_cli.views import action_rendering, list_rendering, show_rendering
from core.naming import RUN_PREFIX
from core.orchestration import ACTIVE_RUNTIME_STATUSES, RUNTIME_STATUSES, TERMINAL_RUNTIME_STATUSES

app = typer.Typer(help="See, stop, rewind and purge capture runs.", no_args_is_help=True)

ACTION_POLL_SECONDS = 0.25
IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The run's instance id (alertcap-...).")]
StatusOption = Annotated[list[str] | None, typer.Option(
    "--status", "-s", help="Runtime status (repeat or comma-separate): " + ", ".join(RUNTIME_STATUSES) + ".")]
WaitOption = Annotated[float, typer.Option(
    "--wait", min=0, help="Seconds to wait for the run to reach the new state (0: do not wait).")]
ReasonOption = Annotated[str | None, typer.Option("--reason", "-r", help="Why.")]
IntervalOption = Annotated[float, typer.Option("--interval", min=0.05, help="Seconds between status polls.")]


def parse_statuses(values: Iterable[str] | None) -> list[str]:
    """Canonical status names from repeated and/or comma-separated values (UsageError if unknown)."""
    statuses: list[str] = []
    for value in values or []:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                status = normalise_status(part)
            except ValueError:
                raise UsageError(f"--status: unknown status {part!r}",
                                 f"choose from {', '.join(RUNTIME_STATUSES)}") from None
            if status not in statuses:
                statuses.append(status)
    return statuses


def matches_vm(run: Run, vm: str) -> bool:
    """True when the run's target is the VM named `vm` (its name or full id, case-insensitive)."""
    target = (run.target or "").lower()
    wanted = vm.strip().lower()
    return bool(target) and (target == wanted or target.rsplit("/", 1)[-1] == wanted)


@app.command("list")
def list_runs(
    ctx: typer.Context,
    status: StatusOption = None,
    since: Annotated[str | None, typer.Option(
        help="Created at or after: 30m, 2h, 7d or an ISO time.")] = None,
    vm: Annotated[str | None, typer.Option(help="Only runs on this VM (name or ARM id).")] = None,
    top: Annotated[int | None, typer.Option(min=1, help="Show at most N runs.")] = None,
    all_instances: Annotated[bool, typer.Option(
        "--all", help="Every orchestration, not only capture runs (ids starting alertcap-).")] = False,
    page_size: Annotated[int, typer.Option(min=1, max=1000, help="Runs per API page.")] = 100,
    output: OutputOption = None,
) -> None:
    """List capture runs, newest first (follows continuation tokens)."""
    state = cli_state(ctx)
    statuses = parse_statuses(status)
    created_from = parse_time(since, option="--since") if since else None
    found = state.client().list_runs(statuses=statuses, created_from=created_from,
                                     prefix=None if all_instances else RUN_PREFIX, page_size=page_size)
    if vm:
        found = (r for r in found if matches_vm(r, vm))
    runs = list(islice(found, top)) if top else list(found)
    runs.sort(key=lambda r: r.created or datetime.min.replace(tzinfo=UTC), reverse=True)
    state.render(list_rendering(runs), output)


@app.command("show")
def show_run(
    ctx: typer.Context,
    run_id: IdArgument,
    history: Annotated[bool, typer.Option("--history", help="Include the history timeline.")] = False,
    output: OutputOption = None,
) -> None:
    """Show one run: status, phase, capture facts, output (and its history)."""
    state = cli_state(ctx)
    state.render(show_rendering(state.client().get_run(run_id, history=history)), output)


def ended_error(run: Run) -> RunEndedError:
    """The error for a run that ended without a successful capture."""
    reason = run.failed_outcome or (run.output if isinstance(run.output, str) else None)
    verb = {"Failed": "failed", "Terminated": "was terminated", "Canceled": "was canceled"}.get(
        run.status, f"ended {run.status}")
    if run.failed_outcome:
        verb = "failed"
    hints = [f"rewind it with `alertcap runs rewind {run.id} --reason ...` once the cause is fixed"] \
        if run.status == "Failed" or run.failed_outcome else []
    return RunEndedError(f"run {run.id} {verb}" + (f": {reason}" if reason else ""), *hints)


@app.command("watch")
def watch_run(
    ctx: typer.Context,
    run_id: IdArgument,
    timeout: Annotated[float, typer.Option(min=0, help="Give up after this many seconds (0: never).")] = 0,
    interval: IntervalOption = 2.0,
    output: OutputOption = None,
) -> None:
    """Follow a run until it ends. Exit 0 Completed, 1 Failed/Terminated, 8 still running at --timeout,
    9 completed but the operator email failed."""
    state = cli_state(ctx)
    run = poll_run(state, run_id, lambda r: r.done, timeout, interval, "watching")
    state.render(show_rendering(run), output)
    if not run.done:
        raise StillRunningError(f"run {run_id} is still {run.status} after {timeout:g}s",
                                f"keep watching with `alertcap runs watch {run_id}`")
    if run.status != "Completed" or run.failed_outcome:
        raise ended_error(run)
    if run.notification_failed:
        error = run.output.get("email_error", "") if isinstance(run.output, dict) else ""
        raise NotificationFailedError(f"run {run_id} completed, but its email was not sent"
                                      + (f": {error}" if error else ""),
                                      "the operators were not told: check ACS, then read the run with "
                                      f"`alertcap runs show {run_id}`")


def poll_run(state: CliState, run_id: str, done: Callable[[Run], bool], timeout: float, interval: float,
             doing: str) -> Run:
    """Poll the run until `done(run)` or `timeout` seconds pass (0: no limit); notes changes on stderr."""
    client = state.client()
    deadline = time.monotonic() + timeout if timeout else None
    seen: tuple[str, str | None] | None = None
    with state.progress.spinner(f"{doing} {run_id}") as spinner:
        while True:
            run = client.get_run(run_id)
            if (run.status, run.phase) != seen:
                seen = (run.status, run.phase)
                line = f"{datetime.now(UTC):%H:%M:%S} {run.status}" + (f" · {run.phase}" if run.phase else "")
                state.progress.note(line)
                if spinner is not None:
                    spinner.update(f"{doing} {run_id}: {line}")
            if done(run) or (deadline is not None and time.monotonic() >= deadline):
                return run
            time.sleep(interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic())))


def act_and_confirm(ctx: typer.Context, run_id: str, action: str, call: Callable[[], None],
                    reached: Callable[[Run], bool], wait: float, reason: str | None,
                    output: OutputOption, past: str) -> None:
    """Request an action, wait until the run shows it, and report (exit 8 if it did not in time)."""
    state = cli_state(ctx)
    call()
    if wait <= 0:
        message = f"Asked to {action} run {run_id}."
        state.render(action_rendering(ActionResult(run_id, action, None, message, reason)), output)
        return
    run = poll_run(state, run_id, reached, wait, ACTION_POLL_SECONDS, f"waiting for {action}")
    if not reached(run):
        raise StillRunningError(f"asked to {action} run {run_id}; it is still {run.status} after {wait:g}s",
                                f"see what happened with `alertcap runs show {run_id} --history`")
    message = f"{past} run {run_id}; it is now {run.status}."
    state.render(action_rendering(ActionResult(run_id, action, run.status, message, reason)), output)


def require_status(run: Run, allowed: Iterable[str], action: str) -> None:
    """Refuse (exit 1) an action the run's current status does not allow."""
    allowed = set(allowed)
    if run.status in allowed:
        return
    if run.status in TERMINAL_RUNTIME_STATUSES:
        raise RunEndedError(f"cannot {action} run {run.id}: it already ended ({run.status})")
    raise CliError(f"cannot {action} run {run.id}: it is {run.status}",
                   f"{action} needs a run that is {' or '.join(sorted(allowed))}")


@dataclass(frozen=True)
class LifecycleChange:
    """One of `runs terminate|suspend|resume`: the statuses that allow it and how the run shows it took."""

    action: str
    allowed: frozenset[str]
    reached: Callable[[Run], bool]
    past: str


TERMINATE = LifecycleChange("terminate", ACTIVE_RUNTIME_STATUSES | {"Suspended"},
                            lambda r: r.status == "Terminated", "Terminated")
SUSPEND = LifecycleChange("suspend", frozenset({"Running", "Pending"}), lambda r: r.status == "Suspended",
                          "Suspended")
RESUME = LifecycleChange("resume", frozenset({"Suspended"}), lambda r: r.status != "Suspended", "Resumed")


def change_lifecycle(ctx: typer.Context, change: LifecycleChange, run_id: str, reason: str | None,
                     wait: float, output: OutputOption) -> None:
    """Refuse a change the run's status does not allow, else request it and confirm it (act_and_confirm)."""
    client = cli_state(ctx).client()
    require_status(client.get_run(run_id), change.allowed, change.action)
    act_and_confirm(ctx, run_id, change.action, lambda: client.post_action(run_id, change.action, reason),
                    change.reached, wait, reason, output, change.past)


@app.command("terminate")
def terminate_run(
    ctx: typer.Context,
    run_id: IdArgument,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (recorded as the run's output).")],
    wait: WaitOption = 30,
    output: OutputOption = None,
) -> None:
    """Terminate a run (the capture itself is not stopped by this)."""
    change_lifecycle(ctx, TERMINATE, run_id, reason, wait, output)


def lifecycle_command(change: LifecycleChange, summary: str) -> Callable[..., None]:
    """A `runs <action> ID [--reason] [--wait] [-o]` command for a change whose reason is optional."""

    def command(
        ctx: typer.Context,
        run_id: IdArgument,
        reason: ReasonOption = None,
        wait: WaitOption = 30,
        output: OutputOption = None,
    ) -> None:
        change_lifecycle(ctx, change, run_id, reason, wait, output)

    command.__doc__ = summary
    return app.command(change.action)(command)


suspend_run = lifecycle_command(
    SUSPEND, "Suspend a running run (its timers and events queue until it is resumed).")
resume_run = lifecycle_command(RESUME, "Resume a suspended run.")


@app.command("rewind")
def rewind_run(
    ctx: typer.Context,
    run_id: IdArgument,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (recorded in the history).")],
    wait: WaitOption = 30,
    output: OutputOption = None,
) -> None:
    """Rewind a failed run (fix the cause first).

    A Failed orchestration is rewound by Durable: its failed steps run again. A run that completed with a
    failed capture (the product's way to end after retries, once it emailed) is restarted with the same id
    and input, so it starts over from the first step.
    """
    client = cli_state(ctx).client()
    run = client.get_run(run_id)
    if run.failed_outcome:
        act_and_confirm(ctx, run_id, "rewind", lambda: client.restart(run_id),
                        lambda r: r.status != "Completed" or r.output != run.output, wait, reason, output,
                        "Restarted (same id and input)")
        return
    require_status(run, {"Failed"}, "rewind")
    act_and_confirm(ctx, run_id, "rewind", lambda: client.rewind(run_id, reason),
                    lambda r: r.status != "Failed", wait, reason, output, "Rewound")


def confirm(question: str) -> None:
    """Ask on stderr and read one line of stdin; anything but y/yes (or no input) cancels with exit 1."""
    sys.stderr.write(f"{question} [y/N]: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if not sys.stdin.isatty():  # a terminal echoes the answer and its newline; a pipe does not
        sys.stderr.write("\n")
    if answer not in ("y", "yes"):
        raise CliError("purge cancelled; nothing was deleted", "pass --yes to purge without asking")


@app.command("purge")
def purge_runs(
    ctx: typer.Context,
    run_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="One run to purge.")] = None,
    before: Annotated[str | None, typer.Option(
        help="Purge ended runs created before this time (30m, 2h, 7d or ISO).")] = None,
    status: StatusOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    all_instances: Annotated[bool, typer.Option("--all", help="With --before: every orchestration, "
                                                "not only capture runs.")] = False,
    output: OutputOption = None,
) -> None:
    """Delete the history of one ended run, or of all ended runs created before a time."""
    if bool(run_id) == bool(before):
        raise UsageError("give either a run ID or --before TIME", "e.g. `alertcap runs purge --before 7d`")
    state = cli_state(ctx)
    client = state.client()
    if run_id:
        if status:
            raise UsageError("--status only applies with --before")
        run = client.get_run(run_id)
        if not run.done:
            raise CliError(f"cannot purge run {run_id}: it is {run.status}; only ended runs can be purged",
                           *terminate_first_hints(run_id))
        if not yes:
            confirm(f"Purge run {run_id} ({run.status}) and its history?")
        deleted = client.purge(run_id)
        result = ActionResult(run_id, "purge", run.status, f"Purged run {run_id}.", deleted=deleted)
        state.render(action_rendering(result), output)
        return
    statuses = parse_statuses(status) or sorted(TERMINAL_RUNTIME_STATUSES - {"Canceled"})
    running = [s for s in statuses if s not in TERMINAL_RUNTIME_STATUSES]
    if running:
        raise UsageError(f"--status: cannot purge {', '.join(running)} runs",
                         "purge only ended runs (Completed, Failed, Terminated); terminate others first")
    cutoff = parse_time(str(before), option="--before")
    runs = list(client.list_runs(statuses=statuses, created_to=cutoff, show_input=False,
                                 prefix=None if all_instances else RUN_PREFIX))
    runs = [r for r in runs if r.created is None or r.created < cutoff]
    if runs and not yes:
        confirm(f"Purge {len(runs)} {'/'.join(statuses)} run(s) created before {iso(cutoff)}?")
    deleted = sum(client.purge(r.id) for r in runs)
    message = f"Purged {deleted} run(s) created before {iso(cutoff)}." if runs else "No runs to purge."
    state.render(action_rendering(ActionResult("*", "purge", None, message, deleted=deleted)), output)
