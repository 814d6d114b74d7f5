"""`alertcap runs show` renders a run's triage: the verdict and the top-N tables, within 80 columns."""

from __future__ import annotations

import io
import json
from pathlib import Path

import triage_pcaps as gen

from alertcap_cli.models import Run
from alertcap_cli.render import OutputFormat, Renderer
from alertcap_cli.views import show_rendering
from core.triage import summarize_file
from core.triage_model import TriageResult


def shown(output: dict, fmt: OutputFormat = OutputFormat.TABLE) -> str:
    run = Run.from_api({"instanceId": "alertcap-" + "1" * 24, "name": "capture_orchestrator",
                        "runtimeStatus": "Completed", "createdTime": "2026-11-25T21:00:00Z",
                        "lastUpdatedTime": "2026-11-25T21:01:00Z", "output": output,
                        "input": json.dumps({"target": "/subscriptions/s/virtualMachines/web-1"})})
    stream = io.StringIO()
    Renderer(fmt, stream=stream, width=80).render(show_rendering(run))
    return stream.getvalue()


def test_runs_show_prints_the_triage_of_a_completed_run(tmp_path: Path) -> None:
    syn = gen.dpkt.tcp.TH_SYN
    packets = [gen.tcp("203.0.113.7", "10.0.0.5", 20000 + i, 443, flags=syn) for i in range(40)]
    frames = [(1_700_000_000 + i * 0.01, gen.ethernet(p)) for i, p in enumerate(packets)]
    summary = summarize_file(gen.write_pcap(tmp_path / "c.cap", frames))
    output = {"status": "succeeded", "phase": "done", "triage": TriageResult([summary]).to_dict()}
    table = shown(output)
    assert "What the capture caught" in table and "Top destination ports" in table
    assert "100% of TCP segments were SYNs from 1 source to" in " ".join(table.split())
    assert "203.0.113.7" in table and "https" in table
    assert all(len(line) <= 80 for line in table.splitlines())
    assert json.loads(shown(output, OutputFormat.JSON))["output"]["triage"]["files"][0]["packets"] == 40


def test_runs_show_says_when_triage_was_unavailable_and_nothing_without_one() -> None:
    error = TriageResult(error="triage failed after retries").to_dict()
    failed = shown({"status": "succeeded", "triage": error})
    assert "Triage: unavailable: triage failed after retries" in " ".join(failed.split())
    assert "What the capture caught" not in shown({"status": "succeeded", "phase": "done"})
