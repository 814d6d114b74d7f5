"""The per-invocation state shared by commands: output format, target options, a lazily made client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer

from alertcap_cli.client import DurableClient
from alertcap_cli.progress import Progress
from alertcap_cli.render import OutputFormat, Renderer, Rendering
from alertcap_cli.target import Target, TargetOptions, resolve_target

OutputOption = Annotated[
    OutputFormat | None,
    typer.Option("--output", "-o", case_sensitive=False, help="json, table, tsv or none (default: table)."),
]


@dataclass
class CliState:
    """What the root callback parsed; commands reach it through `ctx.obj`."""

    output: OutputFormat = OutputFormat.TABLE
    targeting: TargetOptions = field(default_factory=TargetOptions)
    progress: Progress = field(default_factory=Progress)
    _target: Target | None = None
    _client: DurableClient | None = None

    def target(self) -> Target:
        """Resolve the target once (the devstack state file, or a deployed app)."""
        if self._target is None:
            self._target = resolve_target(self.targeting)
        return self._target

    def client(self) -> DurableClient:
        """The management/webhook client for the target, made on first use."""
        if self._client is None:
            self._client = DurableClient(self.target())
        return self._client

    def close(self) -> None:
        """Release the HTTP connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def render(self, rendering: Rendering, output: OutputFormat | None = None) -> None:
        """Print `rendering` in the command's `-o` format, else the global one."""
        Renderer(output or self.output).render(rendering)


def cli_state(ctx: typer.Context) -> CliState:
    """The CliState of this invocation (made on demand when a command runs without the root callback)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
        root.call_on_close(root.obj.close)
    return root.obj
