"""`alertcap sentry ...`: arm a VM or scale set (continuous capture for pre-alert evidence), disarm it, list
the armed targets."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from alertcap_cli.render import Column, Record, Rendering, Table
from alertcap_cli.samples import validate_vm_id
from alertcap_cli.sentry_client import SentryClient
from alertcap_cli.state import OutputOption, cli_state
from alertcap_cli.units import format_size, parse_duration, parse_size

app = typer.Typer(help="Arm VMs and scale sets with a continuous capture so alerts also get the minutes "
                       "before them.", no_args_is_help=True)

VmOption = Annotated[str, typer.Option("--vm", "--target",
                                       help="The ARM id of the VM, or of the scale set (all its instances).")]


def _client(ctx: typer.Context) -> SentryClient:
    return SentryClient(cli_state(ctx).client())


@app.command("arm")
def arm(
    ctx: typer.Context,
    vm: VmOption,
    lookback: Annotated[str, typer.Option(
        help="How far back an alert's evidence reaches: 90s, 15m, 2h.")] = "15m",
    budget: Annotated[str, typer.Option(help="Storage the ring may use: 500MiB, 2GiB.")] = "2GiB",
    after: Annotated[str, typer.Option(help="How long after the alert the evidence reaches.")] = "60s",
    output: OutputOption = None,
) -> None:
    """Keep one continuous capture on the VM or scale set; alerts then harvest
    [fired - lookback, fired + after] (a scale set: the alerted instances' rings; budget per instance)."""
    body = {"target": validate_vm_id(vm), "lookback_seconds": parse_duration(lookback, option="--lookback"),
            "budget_bytes": parse_size(budget, option="--budget"),
            "after_seconds": parse_duration(after, option="--after")}
    reply = _client(ctx).arm(body)
    fields = [("outcome", reply.get("outcome", "")), ("target", reply.get("target", body["target"])),
              ("instance", reply.get("instanceId", "")), ("lookback", f"{body['lookback_seconds']} s"),
              ("budget", format_size(body["budget_bytes"]))]
    if reply.get("file_count"):
        fields.append(("ring", f"{reply['file_count']} files of {format_size(reply.get('file_size_bytes'))}"))
    cli_state(ctx).render(Rendering(reply, [Record(fields, title="sentry")]), output)


@app.command("disarm")
def disarm(ctx: typer.Context, vm: VmOption, output: OutputOption = None) -> None:
    """Stop the target's continuous capture and its sentry."""
    reply = _client(ctx).disarm(validate_vm_id(vm))
    fields = [("outcome", reply.get("outcome", "")), ("target", reply.get("target", "")),
              ("instance", reply.get("instanceId", ""))]
    cli_state(ctx).render(Rendering(reply, [Record(fields, title="sentry")]), output)


def _row(item: dict[str, Any]) -> list[str]:
    target = str(item.get("target", ""))
    ring = f"{item.get('file_count', '?')}x{format_size(item.get('file_size_bytes'))}"
    gap = item.get("last_gap_seconds")
    return [target.rsplit("/", 1)[-1] or str(item.get("instanceId", "")), str(item.get("phase", "")),
            f"{item.get('lookback_seconds', '?')} s", ring, str(item.get("renewals", 0)),
            "" if gap is None else f"{gap:.1f} s"]


@app.command("list")
def list_sentries(ctx: typer.Context, output: OutputOption = None) -> None:
    """The armed VMs and scale sets with their ring, renewals and the last renewal gap."""
    items = _client(ctx).list()
    table = Table([Column("TARGET", flex=True), Column("PHASE"), Column("LOOKBACK"), Column("RING"),
                   Column("RENEWALS"), Column("GAP")], [_row(i) for i in items], empty="No armed targets.")
    cli_state(ctx).render(Rendering(items, [table]), output)
