"""`python -m devstack up|down`: run the devstack in the foreground (or detached), or stop it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from devstack.common.persist import PersistedStateError
from devstack.common.process import pid_alive
from devstack.common.statefile import is_devstack, read_state
from devstack.config import ConfigError, load_config
from devstack.persistence import StackPortError, StateDirInUse, prepare
from devstack.stack import DEFAULT_STATE_DIR, print_endpoints, serve

cli = typer.Typer(
    add_completion=False, no_args_is_help=True, help="The alertcap devstack: Azure, emulated locally."
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Devstack TOML file (default: devstack/devstack.toml).")
]
SettingOption = Annotated[
    list[str] | None,
    typer.Option("--setting", help="KEY=VALUE function app setting; wins over the config's [app_settings]."),
]
StateDirOption = Annotated[
    Path, typer.Option("--state-dir", help="Where state.json, TLS material and logs go.")
]


@cli.command()
def up(
    config: ConfigOption = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    no_host: Annotated[
        bool, typer.Option("--no-host", help="Do not start the durable Functions host.")
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="Start in the background and return once ready.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness with --detach.")] = 60.0,
    setting: SettingOption = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Start empty: drop the state a previous devstack left (emulated resources, captures, blobs, "
            "emails, durable instances).",
        ),
    ] = False,
) -> None:
    """Start every emulator, print the endpoints and write <state dir>/state.json; Ctrl-C stops everything.
    State persists across restarts unless --fresh."""
    try:
        loaded = load_config(config)
        loaded = replace(loaded, app_settings={**loaded.app_settings, **parse_settings(setting or [])})
    except ConfigError as exc:
        typer.echo(f"devstack: {exc}", err=True)
        raise typer.Exit(2) from exc
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        loaded = prepare(loaded, state_dir.resolve(), fresh)
    except PersistedStateError as exc:
        typer.echo(f"devstack: {exc}", err=True)
        raise typer.Exit(2) from exc
    except (StateDirInUse, StackPortError) as exc:
        typer.echo(f"devstack: {exc}", err=True)
        raise typer.Exit(1) from exc
    if detach:
        raise typer.Exit(_detach(config, state_dir, no_host, timeout, setting or []))
    raise typer.Exit(asyncio.run(serve(loaded, state_dir, with_host=not no_host)))


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` strings from `--setting` as a dict; a malformed one raises ConfigError naming it."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not key.strip().replace("_", "").isalnum():
            raise ConfigError(f"--setting {pair!r} is not KEY=VALUE")
        settings[key.strip()] = value
    return settings


def _detach(config: Path | None, state_dir: Path, no_host: bool, timeout: float, settings: list[str]) -> int:
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "devstack", "up", "--state-dir", str(state_dir)]
    for pair in settings:
        command += ["--setting", pair]
    if config is not None:
        command += ["--config", str(config.resolve())]
    if no_host:
        command.append("--no-host")
    log_path = state_dir / "devstack.log"
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    state_file = state_dir / "state.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(state_file)
        if state is not None and state.get("pid") == child.pid:
            print_endpoints(state)
            return 0
        if child.poll() is not None:
            typer.echo(f"devstack: failed to start (exit {child.returncode}); see {log_path}", err=True)
            return 1
        time.sleep(0.1)  # polling the child's readiness, not synchronising tests
    child.terminate()
    typer.echo(f"devstack: not ready after {timeout:.0f} s; see {log_path}", err=True)
    return 1


@cli.command()
def down(
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    timeout: Annotated[float, typer.Option(help="Seconds to wait before killing it.")] = 30.0,
) -> None:
    """Stop the devstack whose pid is in <state dir>/state.json and wait until it is gone."""
    state_file = state_dir / "state.json"
    try:
        pid = int(json.loads(state_file.read_text())["pid"])
    except FileNotFoundError:
        typer.echo(f"devstack: not running ({state_file} does not exist)", err=True)
        return
    except (ValueError, KeyError, TypeError) as exc:
        typer.echo(f"devstack: {state_file} is unreadable: {exc}", err=True)
        raise typer.Exit(1) from exc
    if not pid_alive(pid) or not is_devstack(pid):
        state_file.unlink(missing_ok=True)
        typer.echo(f"devstack: pid {pid} is not a devstack; removed the stale {state_file}", err=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        typer.echo(f"devstack: pid {pid} did not stop in {timeout:.0f} s; killed", err=True)
        raise typer.Exit(1)
    typer.echo("devstack: stopped", err=True)


def main() -> None:
    """Entry point."""
    cli()


if __name__ == "__main__":
    main()
