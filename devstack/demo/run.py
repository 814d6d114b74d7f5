"""`make demo`: the main job end to end on one machine, from real traffic to the operator's inbox.

1. starts an empty devstack (`python -m devstack up --fresh --state-dir .devstack/demo`) as a child and waits;
2. sends bursts of TCP segments from the demo VM's network namespace to a sink on the veth's outer IP;
3. the devstack's monitor sees "TCP segments sent" breach its rule and posts a common-schema alert to the
   function app, which starts a run: locate the VM, start a Network Watcher capture, wait, email;
4. shows, live, the alert, the run's phases, the capture's facts and the email that arrived, then saves the
   pcap from the email's link under `.devstack/captures/` and summarises it with dpkt.

Exit status 0 when the email arrived and the pcap holds the burst; 1 with a reason otherwise; 130 on Ctrl-C.
Ctrl-C at any moment stops the devstack (its children, namespaces and ports) before exiting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from alertcap_cli.client import iter_dicts
from core.webhook_auth import WebhookAuthMode
from devstack.common.tasks import cancel_and_wait
from devstack.config import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    DevstackConfig,
    VmConfig,
    load_config,
)
from devstack.demo import observe
from devstack.demo import sentry as demo_sentry
from devstack.demo.coverage import burst_coverage
from devstack.demo.prepare import (
    DemoFailure,
    add_unarmed_twin,
    pick_target,
    preflight,
    stack_settings,
    write_demo_config,
)
from devstack.demo.progress import DemoProgress
from devstack.demo.stackproc import DevstackProcess
from devstack.demo.traffic import TrafficSink, run_burst_in_namespace
from devstack.monitor.counters import NamespaceCounters
from devstack.monitor.evaluator import JOURNAL_ENV
from devstack.monitor.journal import journal_path, read_journal
from devstack.monitor.metrics import metric_definition
from devstack.monitor.targets import resolve_target
from devstack.paths import REPO_ROOT
from devstack.stack import StackError

DEFAULT_STATE_DIR = REPO_ROOT / ".devstack" / "demo"
DEFAULT_CAPTURES_DIR = REPO_ROOT / ".devstack" / "captures"
RUN_STATE = ("monitor",)  # the demo's own journal; `up --fresh` drops the devstack's persisted state
CAPTURE_SECONDS = 20
DEADLINE_SECONDS = 115
POLL_SECONDS = 0.5
ROUND_INTERVAL_SECONDS = 1.5
ROUNDS_AFTER_CAPTURE_STARTS = 3
MAX_ROUNDS = 40
STEPS = {
    "stack": "devstack",
    "sentry": "sentry",
    "traffic": "traffic",
    "metric": "metric",
    "alert": "alert",
    "run": "run",
    "capture": "capture",
    "email": "email",
    "pcap": "pcap",
    "coverage": "coverage",
}






@dataclass
class DemoState:
    """What the demo has seen so far."""

    stack: dict[str, Any] = field(default_factory=dict)
    sink_port: int = 0
    capture_started: asyncio.Event = field(default_factory=asyncio.Event)
    rounds: int = 0
    segments_sent: int = 0
    run_id: str = ""
    run_output: dict[str, Any] | None = None
    capture: dict[str, Any] | None = None
    email: observe.EmailFacts | None = None












class Demo:
    """One run of the demo."""

    def __init__(self, config: DevstackConfig, config_path: Path | None, state_dir: Path, captures_dir: Path,
                 progress: DemoProgress, capture_seconds: int, deadline_seconds: float,
                 webhook_auth: str = "key") -> None:
        self.config, self.progress = config, progress
        self.webhook_auth = webhook_auth
        self.target = pick_target(config)
        self.state_dir = state_dir.resolve()
        self.captures_dir = captures_dir.resolve()
        self.deadline = time.monotonic() + deadline_seconds
        self.stack = DevstackProcess(
            self.state_dir, config_path,
            env={JOURNAL_ENV: str(journal_path(self.state_dir))},
            extra_args=["--fresh", *stack_settings(capture_seconds, webhook_auth)],
        )
        self.seen = DemoState()
        twin = demo_sentry.find_twin(config)
        self.twin = demo_sentry.Twin(*twin) if twin else None
        self.references = demo_sentry.CoverageRun()
        self.sink: TrafficSink | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self._capture_status = ""
        self.closed = False

    # -- the story ----------------------------------------------------------------------------------------
    async def run(self) -> Path:
        """Drive the demo; returns the saved pcap path or raises DemoFailure."""
        await self._start_stack()
        await self._arm_demo_vm()
        await self._start_traffic()
        entry = await self._wait_for_alert()
        self._show_alert(entry)
        await self._follow_run()
        pcap = await self._save_pcap()
        await self._report_coverage()
        self.progress.settle()
        return pcap

    async def _start_stack(self) -> None:
        command = f"python -m devstack up --fresh --state-dir {self.relative(self.state_dir)}"
        self.progress.update("stack", f"starting `{command}`")
        started = time.monotonic()
        try:
            self.stack.check_not_running()
            self._forget_previous_run()
            state = await self.stack.start(timeout=max(5.0, self.deadline - time.monotonic() - 45))
        except StackError as exc:
            raise DemoFailure("stack", str(exc)) from None
        missing = [k for k in ("function_host", "master_key", "admin_url") if k not in state]
        if missing:
            raise DemoFailure("stack", f"the devstack came up without the function host "
                                       f"({', '.join(missing)} missing from {self.stack.state_file})")
        self.seen.stack = state
        self.progress.done("stack", f"ready in {time.monotonic() - started:.1f}s: function host "
                                    f"{state['function_host']}, admin {state['admin_url']}")

    def _forget_previous_run(self) -> None:
        """An earlier demo's journal would show old runs (`--fresh` drops its durable history, captures, blobs
        and emails)."""
        for name in RUN_STATE:
            shutil.rmtree(self.state_dir / name, ignore_errors=True)

    async def _start_traffic(self) -> None:
        self.sink = TrafficSink(self.target.outer_ip)
        try:
            self.seen.sink_port = await self.sink.start()
        except OSError as exc:
            raise DemoFailure("traffic", f"cannot listen on {self.target.outer_ip} (the veth of "
                                         f"{self.target.vm.netns}): {exc.strerror}") from None
        await self._start_twin_and_references()
        self.tasks.append(asyncio.create_task(self._traffic_rounds(), name="traffic"))
        self.tasks.append(asyncio.create_task(self._watch_metric(), name="metric"))

    async def _traffic_rounds(self) -> None:
        vm, ip, port = self.target.vm, self.target.outer_ip, self.seen.sink_port
        after_capture = 0
        while self.seen.rounds < MAX_ROUNDS and after_capture < ROUNDS_AFTER_CAPTURE_STARTS:
            burst, _ = await asyncio.gather(
                run_burst_in_namespace(vm.netns or "", ip, port, connections=12, messages=10,
                                       message_bytes=96, deadline_seconds=10),
                self._twin_burst())
            self.seen.rounds += 1
            self.seen.segments_sent += burst.messages
            if self.seen.capture_started.is_set():
                after_capture += 1
            self.progress.update("traffic", f"round {self.seen.rounds}: {burst.connections} connections, "
                                            f"{self.seen.segments_sent} messages in all from {vm.netns} to "
                                            f"{ip}:{port}", quiet=self.seen.rounds > 1)
            await asyncio.sleep(ROUND_INTERVAL_SECONDS)
        received = self.sink.bytes_received if self.sink else 0
        why = "the capture started" if after_capture else f"the {MAX_ROUNDS}-round limit"
        self.progress.done("traffic", f"{self.seen.rounds} rounds, {self.seen.segments_sent} messages "
                                      f"({received} bytes) from {vm.netns} to {ip}:{port}; "
                                      f"stopped after {why}")

    async def _watch_metric(self) -> None:
        counters, rule = NamespaceCounters(), self.target.rule
        target = resolve_target(self.config, rule)
        metric = metric_definition(rule.metric)
        first = await counters.read(target, rule.metric)
        announced = False
        while True:
            value = await counters.read(target, rule.metric) - first
            crossed = not announced and value > rule.threshold
            announced = announced or crossed
            self.progress.update("metric", f"{metric.azure_name} in {target.netns}: +{value} since the "
                                           f"demo began (rule: {rule.operator} {rule.threshold:g} over "
                                           f"{rule.window_seconds}s, every {rule.frequency_seconds}s)",
                                 quiet=not crossed and value > 0)
            await asyncio.sleep(1)

    async def _wait_for_alert(self) -> dict[str, Any]:
        journal = journal_path(self.state_dir)
        self.progress.update("alert", f"waiting for the monitor to fire {self.target.rule.name!r}")
        vm_id = self.target.vm.id.lower()
        while time.monotonic() < self.deadline:
            self._check_tasks()
            for entry in read_journal(journal):
                essentials = entry.get("payload", {}).get("data", {}).get("essentials", {})
                fired = essentials.get("monitorCondition") == "Fired"
                if fired and vm_id in essentials.get("alertTargetIDs", []):
                    return entry
            await asyncio.sleep(POLL_SECONDS)
        decisions = [line for line in self.stack.log_tail(400).splitlines() if "devstack.monitor" in line
                     and f"rule {self.target.rule.name!r}" in line]
        hint = (f"the monitor's last decision: {decisions[-1].strip()}" if decisions else
                "the devstack log shows no decision of the monitor: is `python -m devstack up` running "
                "devstack.monitor.AlertEvaluator (docs/ARCHITECTURE.md)?")
        raise DemoFailure("alert", f"no alert fired in time ({self.relative(journal)} has no Fired entry); "
                                   f"{hint}. Log: {self.relative(self.stack.log_path)}")

    def _show_alert(self, entry: dict[str, Any]) -> None:
        essentials = entry["payload"]["data"]["essentials"]
        criterion = entry["payload"]["data"]["alertContext"]["condition"]["allOf"][0]
        delivery = entry.get("delivery") or {}
        attempts = delivery.get("attempts", [])
        statuses = ", ".join(str(a.get("status") or a.get("error")) for a in attempts) or "none"
        summary = (f"Fired {essentials['alertRule']!r} ({essentials['severity']}): "
                   f"{criterion['metricName']} = "
                   f"{criterion['metricValue']} {criterion['operator']} {criterion['threshold']}; "
                   f"alertId …{essentials['alertId'][-12:]}; webhook (WEBHOOK_AUTH={self.webhook_auth}) "
                   f"answered {statuses}")
        if not delivery.get("delivered"):
            raise DemoFailure("alert", f"{summary}: the function app did not accept the alert "
                                       f"(answer: {delivery.get('response')!r})")
        runs = observe.run_ids(delivery.get("response"))
        if not runs:
            raise DemoFailure("alert", f"{summary}: the function app started no run "
                                       f"(answer: {delivery.get('response')!r})")
        self.seen.run_id = runs[0]
        outcome = next((d.get("outcome") for d in iter_dicts(delivery.get("response"), depth=4)
                        if d.get("instanceId") == runs[0] and d.get("outcome")), None)
        self.progress.done("alert", f"{summary}; run {runs[0]}" + (f" ({outcome})" if outcome else ""))

    async def _follow_run(self) -> None:
        state, vm = self.seen.stack, self.target.vm
        self.progress.update("run", f"{self.seen.run_id}: starting")
        async with observe.client(state) as http:
            last_error = ""
            while time.monotonic() < self.deadline:
                self._check_tasks()
                try:  # a poll that fails (busy machine, restarting emulator) is retried, not fatal
                    await self._poll_run(http)
                    await self._poll_capture(http, vm)
                    await self._poll_email(http, vm)
                except httpx.HTTPError as exc:
                    last_error = f"; last poll error: {type(exc).__name__}: {exc}"
                if self.seen.email is not None and self.seen.run_output is not None:
                    return
                await asyncio.sleep(POLL_SECONDS)
        waiting_for = "the email" if self.seen.email is None else "the run to complete"
        raise DemoFailure("email" if self.seen.email is None else "run",
                          f"timed out waiting for {waiting_for} (run {self.seen.run_id}; "
                          f"devstack log: {self.relative(self.stack.log_path)}{last_error})")

    async def _poll_run(self, http: Any) -> None:
        status = await observe.run_status(http, self.seen.stack, self.seen.run_id)
        if status is None:
            return
        runtime = status.get("runtimeStatus", "?")
        custom = _object(status.get("customStatus"))
        phase = custom.get("phase", "-")
        if runtime in ("Failed", "Terminated", "Canceled"):
            raise DemoFailure("run", f"{self.seen.run_id}: {runtime} in phase {phase!r}: "
                                     f"{str(status.get('output'))[:300]}")
        if runtime == "Completed":
            output = _object(status.get("output"))
            self.seen.run_output = output
            self.progress.done("run", f"{self.seen.run_id}: Completed, {output.get('status', '?')}"
                                      f"{' (' + output['reason'] + ')' if output.get('reason') else ''}")
            self._show_capture_from_output(output)
            self._show_triage(output)
        else:
            self.progress.update("run", f"{self.seen.run_id}: {runtime}, phase {phase!r}")

    async def _poll_capture(self, http: Any, vm: VmConfig) -> None:
        if self.seen.run_output is not None:
            return
        captures = [c for c in await observe.admin_list(http, self.seen.stack, "captures")
                    if observe.mentions(c, vm.id)]
        if captures:
            self.seen.capture = captures[-1]
            self.seen.capture_started.set()
            fields = _pick(self.seen.capture, ("name", "status", "packetCaptureStatus", "state", "interface",
                                                "timeLimitInSeconds", "storagePath", "bytes"))
            status = str(fields.get("status") or fields.get("packetCaptureStatus") or fields.get("state"))
            self.progress.update("capture", ", ".join(f"{k} {v}" for k, v in fields.items()) or "started",
                                 quiet=status == self._capture_status)
            self._capture_status = status

    def _show_triage(self, output: dict[str, Any]) -> None:
        """The verdict of the run's triage, the line the email leads with."""
        triage = output.get("triage") or {}
        overall = triage.get("merged") or next(iter(triage.get("files") or []), None)
        if overall:
            self.progress.note(f"verdict: {overall.get('verdict') or '(none)'}")
        elif triage.get("error"):
            self.progress.note(f"verdict: triage unavailable: {triage['error']}")

    def _show_capture_from_output(self, output: dict[str, Any]) -> None:
        self.seen.capture_started.set()
        facts = [f"{output.get('capture_name', '?')}", f"status {output.get('capture_status', '?')}"]
        if output.get("stop_reason"):
            facts.append(f"stopped: {output['stop_reason']}")
        if output.get("size_bytes") is not None:
            facts.append(f"{output['size_bytes']} bytes")
        if output.get("storage_path"):
            facts.append(f"blob …/{str(output['storage_path']).rsplit('/', 1)[-1]}")
        self.progress.done("capture", ", ".join(facts))

    async def _poll_email(self, http: Any, vm: VmConfig) -> None:
        if self.seen.email is not None:
            return
        emails = [e for e in await observe.admin_list(http, self.seen.stack, "emails")
                  if observe.mentions(e, self.seen.run_id)]
        if emails:
            facts = observe.email_facts(emails[-1])
            if not observe.mentions(emails[-1], vm.name):
                raise DemoFailure("email", f"the email {facts.subject!r} does not name the VM {vm.name}")
            self.seen.email = facts
            self.progress.done("email", f"{facts.subject!r} to {', '.join(facts.recipients)}; link "
                                        f"{_shorten(facts.pcap_link) if facts.pcap_link else '(none)'}")

    async def _save_pcap(self) -> Path:
        email = self.seen.email
        assert email is not None
        if not email.pcap_link:
            raise DemoFailure("pcap", f"the email has no download link for the capture "
                                      f"(links: {email.links})")
        blob_name = email.pcap_link.partition("?")[0].rstrip("/").rsplit("/", 1)[-1]
        if not re.fullmatch(r"[\w.-]{1,120}", blob_name):
            blob_name = f"{self.seen.run_id}.cap"
        destination = self.captures_dir / f"{self.target.vm.name}-{blob_name}"
        self.progress.update("pcap", f"downloading {_shorten(email.pcap_link)}")
        async with observe.client(self.seen.stack) as http:
            try:
                size = await observe.download(http, email.pcap_link, destination)
            except Exception as exc:
                raise DemoFailure("pcap", f"cannot download the capture from the email's link: "
                                          f"{exc}") from None
        try:
            summary = observe.summarise_pcap(destination, self.seen.sink_port)
        except Exception as exc:
            raise DemoFailure("pcap", f"{self.relative(destination)} ({size} bytes) is not a readable pcap: "
                                      f"{exc}") from None
        if not summary.ports:
            raise DemoFailure("pcap", f"{self.relative(destination)}: {summary.line()}; it holds no segment "
                                      f"of the burst to port {self.seen.sink_port}")
        self.progress.done("pcap", f"{self.relative(destination)} ({size} bytes): {summary.line()}")
        return destination

    # -- the sentry: arm vm-demo, and measure burst coverage against the unarmed twin ------------------
    async def _arm_demo_vm(self) -> None:
        vm = self.target.vm
        lookback = demo_sentry.LOOKBACK_SECONDS
        self.progress.update("sentry", f"arming {vm.name} (continuous capture, {lookback} s lookback)")
        async with observe.client(self.seen.stack) as http:
            try:
                armed = await demo_sentry.arm(http, self.seen.stack, vm.id)
                ring = await demo_sentry.wait_for_ring(http, self.seen.stack, vm.id)
            except (RuntimeError, httpx.HTTPError) as exc:
                raise DemoFailure("sentry", str(exc)) from None
        twin = f"; {self.twin.vm.name} stays unarmed for comparison" if self.twin else ""
        self.progress.done("sentry", f"{vm.name} armed: {armed.get('file_count')} ring files of "
                                     f"{armed.get('file_size_bytes')} bytes, capture {ring.get('name')} "
                                     f"running{twin}")

    async def _start_twin_and_references(self) -> None:
        vm, port = self.target.vm, self.seen.sink_port
        ok = await self.references.start(vm.name, vm.netns or "", port,
                                         self.state_dir / "reference-armed.pcap")
        if self.twin is not None and ok:
            twin_port = await self.twin.start()
            await self.references.start(self.twin.vm.name, self.twin.vm.netns or "", twin_port,
                                        self.state_dir / "reference-unarmed.pcap")

    async def _twin_burst(self) -> None:
        twin = self.twin
        if twin is None or twin.sink is None:
            return
        await run_burst_in_namespace(twin.vm.netns or "", twin.outer_ip, twin.sink.port, connections=12,
                                     messages=10, message_bytes=96, deadline_seconds=10)

    async def _report_coverage(self) -> None:
        self.progress.update("coverage", "waiting for the unarmed twin's run and reading both runs' files")
        try:
            armed_files, twin_pcap = await self._coverage_files()
        except (RuntimeError, httpx.HTTPError) as exc:
            raise DemoFailure("coverage", str(exc)) from None
        references = await self.references.stop()
        vm = self.target.vm
        lines = [burst_coverage(references.get(vm.name, b""), armed_files, self.seen.sink_port)
                 .line(f"armed {vm.name}")]
        if self.twin is not None and self.twin.sink is not None:
            lines.append(burst_coverage(references.get(self.twin.vm.name, b""), [twin_pcap],
                                        self.twin.sink.port).line(f"unarmed {self.twin.vm.name}"))
        self.progress.done("coverage", "; ".join(lines))

    async def _coverage_files(self) -> tuple[list[bytes], bytes]:
        """The armed run's incident files (every signed link in its email) and the twin's capture."""
        assert self.seen.email is not None
        async with observe.client(self.seen.stack) as http:
            armed = [(await http.get(link)).content for link in self.seen.email.links if "sig=" in link]
            twin_pcap = await self._twin_capture(http) if self.twin is not None else b""
        return armed, twin_pcap

    async def _twin_capture(self, http: Any) -> bytes:
        twin = self.twin
        assert twin is not None
        journal = journal_path(self.state_dir)
        while time.monotonic() < self.deadline:
            if not twin.run_id:
                for entry in read_journal(journal):
                    essentials = entry.get("payload", {}).get("data", {}).get("essentials", {})
                    if twin.vm.id.lower() in essentials.get("alertTargetIDs", []):
                        runs = observe.run_ids((entry.get("delivery") or {}).get("response"))
                        twin.run_id = runs[0] if runs else ""
            emails = [e for e in await observe.admin_list(http, self.seen.stack, "emails")
                      if twin.run_id and observe.mentions(e, twin.run_id)]
            if emails:
                link = observe.email_facts(emails[-1]).pcap_link
                return (await http.get(link)).content if link else b""
            await asyncio.sleep(POLL_SECONDS)
        raise RuntimeError(f"the unarmed twin {twin.vm.name} produced no email in time "
                           f"(run {twin.run_id or '?'})")

    def _check_tasks(self) -> None:
        """Turn a crashed background task (traffic, metric watch) into a DemoFailure naming its step."""
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                raise DemoFailure(task.get_name(), f"{type(exc).__name__}: {exc}")

    # -- teardown -----------------------------------------------------------------------------------------
    async def close(self) -> None:
        """Stop traffic, the sink and the devstack; remove any namespace the stack left."""
        if self.closed:
            return
        self.closed = True
        await cancel_and_wait(self.tasks)
        if self.sink is not None:
            await self.sink.stop()
        if self.twin is not None:
            await self.twin.stop()
        with contextlib.suppress(Exception):
            await self.references.stop()
        await self.stack.stop()
        # The stack deletes its namespaces on SIGTERM; if it could not (killed), do it here.
        from devstack.capture.netns import NETNS_DIR, configured_namespaces, teardown_namespaces

        left = [ns for ns in configured_namespaces(self.config) if (NETNS_DIR / ns).exists()]
        if left:
            await asyncio.to_thread(teardown_namespaces, self.config)
            still = [ns for ns in left if (NETNS_DIR / ns).exists()]
            if still:
                print(f"demo: could not delete namespace(s) {', '.join(still)}: `ip netns del <name>`",
                      file=sys.stderr)

    def relative(self, path: Path) -> str:
        """`path` relative to the working directory when it is below it (shorter lines)."""
        with contextlib.suppress(ValueError):
            return str(path.resolve().relative_to(Path.cwd()))
        return str(path)


def _object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _pick(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    props = _object(item.get("properties"))
    return {k: v for k in keys for v in [item.get(k, props.get(k))] if v not in (None, "", [], {})}


def _shorten(url: str, keep: int = 90) -> str:
    base, _, query = url.partition("?")
    return (base if len(base) <= keep else base[: keep - 1] + "…") + ("?<sas>" if query else "")


async def run_demo(args: argparse.Namespace) -> int:
    """The demo's body under one asyncio loop; returns the exit status."""
    progress = DemoProgress(STEPS, live=args.live)
    try:
        preflight()
        source = Path(args.config) if args.config else DEFAULT_CONFIG_PATH
        load_config(source)  # report problems against the file the user named
        config_path = add_unarmed_twin(write_demo_config(source, Path(args.state_dir) / "demo.toml"))
        config = load_config(config_path)
        demo = Demo(config, config_path, Path(args.state_dir), Path(args.captures_dir), progress,
                    args.capture_seconds, args.deadline, args.webhook_auth)
    except (DemoFailure, ConfigError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    started = time.monotonic()
    failure: str | None = None
    try:
        with progress:
            try:
                pcap = await demo.run()
            except DemoFailure as exc:
                progress.fail(exc.step, str(exc))
                failure = str(exc)
            except Exception as exc:  # a bug or an unexpected answer: still one clear line, then clean up
                progress.fail(progress.current() or "stack", f"unexpected {type(exc).__name__}: {exc}")
                failure = f"unexpected {type(exc).__name__}: {exc} (devstack log: {demo.stack.log_path})"
    except asyncio.CancelledError:
        print("\ndemo interrupted: stopping the devstack…", file=sys.stderr)
        await demo.close()
        print("demo: stopped; nothing left running", file=sys.stderr)
        return 130
    finally:
        if not demo.closed:
            await demo.close()
    if failure is not None:
        print(f"\ndemo failed: {failure}", file=sys.stderr)
        return 1
    print(f"\ndemo ok in {time.monotonic() - started:.1f}s. "
          f"Open the capture with: tcpdump -nr {demo.relative(pcap)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m devstack.demo [--state-dir DIR] [--config FILE]`."""
    summary = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=summary)
    parser.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR),
                        help="the demo devstack's state dir (.devstack/demo)")
    parser.add_argument("--captures-dir", default=str(DEFAULT_CAPTURES_DIR),
                        help="where the pcap is saved (.devstack/captures)")
    parser.add_argument("--config", help="devstack config (default devstack/devstack.toml)")
    parser.add_argument("--capture-seconds", type=int, default=CAPTURE_SECONDS,
                        help="the product's CAPTURE_TIME_LIMIT_SECONDS for this run")
    parser.add_argument("--webhook-auth", choices=[m.value for m in WebhookAuthMode], default="key",
                        help="the app's WEBHOOK_AUTH: how the devstack's Azure Monitor authenticates (key)")
    parser.add_argument("--deadline", type=float, default=DEADLINE_SECONDS, help="give up after this long")
    display = parser.add_mutually_exclusive_group()
    display.add_argument("--live", dest="live", action="store_true", default=None,
                         help="force the live display")
    display.add_argument("--plain", dest="live", action="store_false", help="plain lines even on a terminal")
    args = parser.parse_args(argv)
    return asyncio.run(_main_with_signals(args))


async def _main_with_signals(args: argparse.Namespace) -> int:
    """Ctrl-C/SIGTERM cancels the demo once (cleanup then runs); later ones only say it is cleaning up."""
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    body = asyncio.create_task(run_demo(args))
    interrupted = False

    def on_signal() -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            body.cancel()
        else:
            print("demo: still cleaning up (devstack, namespaces, ports)…", file=sys.stderr)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    assert main_task is not None
    try:
        return await asyncio.shield(body)
    except asyncio.CancelledError:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
