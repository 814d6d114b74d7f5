"""`alertcap alert ...`: post a payload to the webhook, or print a valid sample payload."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from alertcap_cli.errors import UsageError
from alertcap_cli.payload import check_payload, parse_payload
from alertcap_cli.samples import SAMPLES, SampleSpec, build_sample, validate_vm_id
from alertcap_cli.state import OutputOption, cli_state
from alertcap_cli.timeparse import parse_time
from alertcap_cli.views import webhook_rendering

app = typer.Typer(help="Send alert payloads to the webhook, or print samples.", no_args_is_help=True)


def read_source(source: str) -> tuple[bytes, str]:
    """The bytes of FILE, or of stdin for `-`, with a name for messages."""
    if source == "-":
        return sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode(), "stdin"
    path = Path(source)
    try:
        return path.read_bytes(), str(path)
    except FileNotFoundError:
        raise UsageError(f"{source}: no such file", "pass a payload file, or - to read stdin") from None
    except OSError as exc:
        raise UsageError(f"{source}: cannot read it: {exc.strerror or exc}") from None


@app.command("send")
def send_alert(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="The payload file, or - for stdin.")],
    validate: Annotated[bool, typer.Option(
        "--validate/--no-validate", help="Check the payload's structure locally first.")] = True,
    output: OutputOption = None,
) -> None:
    """Post an alert payload to POST /api/alerts and print the runs it started."""
    raw, name = read_source(source)
    payload = parse_payload(raw, name)
    if validate:
        check_payload(payload, name)
    state = cli_state(ctx)
    reply = state.client().post_alert(json.dumps(payload).encode())
    state.render(webhook_rendering(reply), output)


@app.command("sample")
def sample_alert(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="One of: " + ", ".join(SAMPLES) + ".")],
    vm: Annotated[str, typer.Option("--vm", help="The target VM (or VM scale set) ARM id.")],
    resolved: Annotated[bool, typer.Option(help="A Resolved/Deactivated notification instead.")] = False,
    fired_at: Annotated[str | None, typer.Option(
        help="When it fired (default now): ISO, or 5m ago.")] = None,
    rule: Annotated[str, typer.Option(help="The alert rule name.")] = "alertcap-sample",
    region: Annotated[str, typer.Option(help="resourceRegion (classic schema only).")] = "westeurope",
) -> None:
    """Print a valid webhook payload of one schema, ready for `alertcap alert send -`."""
    if kind not in SAMPLES:
        raise UsageError(f"unknown sample kind {kind!r}", f"choose one of: {', '.join(SAMPLES)}")
    fired = parse_time(fired_at, option="--fired-at") if fired_at else datetime.now(UTC)
    spec = SampleSpec(vm_id=validate_vm_id(vm), fired=fired, resolved=resolved, rule=rule, region=region)
    typer.echo(json.dumps(build_sample(kind, spec), indent=2))
