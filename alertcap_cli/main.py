"""The `alertcap` command: global options, sub-command groups and error handling (exit codes)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from alertcap_cli.commands import alert, dev, pcap, runs, sentry
from alertcap_cli.errors import CliError, ExitCode
from alertcap_cli.render import OutputFormat
from alertcap_cli.state import CliState, OutputOption
from alertcap_cli.target import TargetOptions


def _report(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line, err=True)


class AlertcapGroup(TyperGroup):
    """Turns CliError into gh-style stderr lines and typed exit codes; never shows a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            _report(exc.lines())
            raise typer.Exit(int(exc.exit_code)) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # the last line of defence: one line, no traceback
            if os.environ.get("ALERTCAP_DEBUG"):
                raise
            if type(exc).__module__.startswith("typer"):
                raise
            first = str(exc).splitlines()[0] if str(exc) else ""
            _report([f"error: unexpected {type(exc).__name__}: {first}",
                     "hint: set ALERTCAP_DEBUG=1 to see the traceback, and report it"])
            raise typer.Exit(int(ExitCode.ERROR)) from None


app = typer.Typer(
    cls=AlertcapGroup,
    name="alertcap",
    help="Operate alertcap: see, stop, rewind and purge capture runs; send alerts; run the devstack.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(runs.app, name="runs")
app.add_typer(alert.app, name="alert")
app.add_typer(dev.app, name="dev")
app.add_typer(sentry.app, name="sentry")
app.add_typer(pcap.app, name="pcap")


@app.callback()
def root(
    ctx: typer.Context,
    output: OutputOption = None,
    state_dir: Annotated[Path | None, typer.Option(
        envvar="ALERTCAP_STATE_DIR", help="The devstack's state directory (default: .devstack/).")] = None,
    app_url: Annotated[str | None, typer.Option(
        envvar="ALERTCAP_APP_URL", help="A deployed app, e.g. https://<app>.azurewebsites.net.")] = None,
    key: Annotated[str | None, typer.Option(
        help="The app's master or durabletask_extension key (or set ALERTCAP_KEY).")] = None,
    app_id: Annotated[str | None, typer.Option(
        envvar="ALERTCAP_APP_ID", help="The site's ARM id: fetch keys (and URL) via ARM listkeys.")] = None,
) -> None:
    """Global options; they go before the command (`alertcap -o json runs list`)."""
    env_output = os.environ.get("ALERTCAP_OUTPUT", "").strip().lower()
    default_output = OutputFormat(env_output) if env_output in {f.value for f in OutputFormat} else None
    state = CliState(output=output or default_output or OutputFormat.TABLE,
                     targeting=TargetOptions(state_dir=state_dir, app_url=app_url, key=key, app_id=app_id))
    ctx.obj = state
    ctx.call_on_close(state.close)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
