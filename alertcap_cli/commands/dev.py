"""`alertcap dev up|down`: start and stop the local devstack (wrapping `python -m devstack`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from alertcap_cli.errors import CliError
from alertcap_cli.render import Message, Record, Rendering
from alertcap_cli.state import OutputOption, cli_state
from alertcap_cli.target import REPO_ROOT, default_state_dir, load_devstack_state
from devstack.common.process import pid_alive

app = typer.Typer(help="Start and stop the local devstack.", no_args_is_help=True)

PUBLIC_STATE_KEYS = ("function_host", "admin_url", "arm_endpoint", "identity_endpoint", "acs_endpoint",
                     "blob_endpoint", "ca_bundle", "task_hub", "subscription_id", "pid")


def _state_dir(ctx: typer.Context) -> Path:
    chosen = cli_state(ctx).targeting.state_dir
    return (chosen or default_state_dir()).resolve()


def _devstack(ctx: typer.Context, doing: str, *args: str) -> int:
    """Run `python -m devstack ARGS` from the repo root with a spinner; relay its output only if it fails."""
    try:
        with cli_state(ctx).progress.spinner(doing):
            completed = subprocess.run([sys.executable, "-m", "devstack", *args], cwd=REPO_ROOT,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, check=False)
    except OSError as exc:
        raise CliError(f"cannot run the devstack: {exc}") from None
    if completed.returncode != 0 and completed.stdout:
        sys.stderr.write(completed.stdout.decode(errors="replace"))
    return completed.returncode


def _running(state_dir: Path) -> bool:
    try:
        pid = int(load_devstack_state(state_dir).get("pid", 0))  # type: ignore[arg-type]
    except (CliError, TypeError, ValueError):
        return False
    return pid > 0 and pid_alive(pid)


def _state_rendering(state_dir: Path, message: str) -> Rendering:
    state = load_devstack_state(state_dir)
    public = {key: state.get(key) for key in PUBLIC_STATE_KEYS if key in state}
    public["state_dir"] = str(state_dir)
    fields = [(key, value) for key, value in public.items()]
    return Rendering({"message": message, **public}, [Record(fields, title=message)])


@app.command("up")
def dev_up(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(
        help="A devstack TOML config (default: the bundled one).")] = None,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait until it is ready.")] = 120.0,
    output: OutputOption = None,
) -> None:
    """Start the devstack in the background and print its endpoints (no secrets)."""
    state_dir = _state_dir(ctx)
    if _running(state_dir):
        cli_state(ctx).render(_state_rendering(state_dir, "The devstack is already running."), output)
        return
    args = ["up", "--detach", "--state-dir", str(state_dir), "--timeout", f"{timeout:g}"]
    if config:
        args += ["--config", str(config.resolve())]
    code = _devstack(ctx, "starting the devstack", *args)
    if code != 0:
        raise CliError(f"the devstack did not start (python -m devstack up exited {code})",
                       f"read the messages above and {state_dir / 'devstack.log'}; "
                       "`alertcap dev down` cleans up a half-started stack")
    cli_state(ctx).render(_state_rendering(state_dir, "The devstack is up."), output)


@app.command("down")
def dev_down(ctx: typer.Context, output: OutputOption = None) -> None:
    """Stop the devstack (every child process, namespaces and ports)."""
    state_dir = _state_dir(ctx)
    if not (state_dir / "state.json").exists():
        cli_state(ctx).render(Rendering({"message": "No devstack is running."},
                                        [Message("No devstack is running.")]), output)
        return
    code = _devstack(ctx, "stopping the devstack", "down", "--state-dir", str(state_dir))
    if code != 0:
        raise CliError(f"the devstack did not stop cleanly (python -m devstack down exited {code})")
    cli_state(ctx).render(Rendering({"message": "The devstack is down."},
                                    [Message("The devstack is down.")]), output)
