"""`alertcap pcap summary FILE|URL`: what a capture file caught, as the run's email shows it.

A URL is a blob URL with a SAS (e.g. the email's download link), streamed with httpx in chunks; nothing is
written to disk. The SAS is never printed: messages name the URL without its query string.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx
import typer

from alertcap_cli.errors import CliError, NotFoundError, UnreachableError, UsageError
from alertcap_cli.render import Rendering
from alertcap_cli.state import OutputOption, cli_state
from alertcap_cli.target import tls_verify
from alertcap_cli.triage_views import triage_views
from core.triage import CHUNK_BYTES, file_chunks, summarize
from core.triage_model import TriageResult, TriageSummary

app = typer.Typer(help="Look inside capture files.", no_args_is_help=True)


def _public(url: str) -> str:
    """The URL without its query (a SAS is a secret)."""
    return url.split("?", 1)[0]


def _verify() -> ssl.SSLContext | bool:
    bundle = os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")
    return tls_verify(bundle) if bundle else True


def _url_chunks(response: httpx.Response) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes(CHUNK_BYTES)
    except httpx.HTTPError as exc:  # the stream broke: the summary covers what arrived
        raise OSError(f"download interrupted: {type(exc).__name__}") from None


def summarize_url(url: str, deadline: float | None) -> TriageSummary:
    """Stream a blob (URL with SAS) through the summary."""
    name = _public(url).rsplit("/", 1)[-1]
    try:
        with httpx.Client(verify=_verify(), timeout=30, follow_redirects=True) as http, \
                http.stream("GET", url) as response:
            if response.status_code == 404:
                raise NotFoundError(f"{_public(url)}: no such blob (HTTP 404)")
            if response.status_code >= 400:
                raise CliError(f"{_public(url)}: HTTP {response.status_code}",
                               "is the SAS valid, unexpired and allowed to read?")
            length = response.headers.get("content-length")
            size = int(length) if length and length.isdigit() else None
            return summarize(_url_chunks(response), source=name, size_bytes=size, deadline=deadline)[0]
    except httpx.HTTPError as exc:
        raise UnreachableError(f"{_public(url)}: cannot download it: {type(exc).__name__}") from None


def summarize_path(source: str, deadline: float | None) -> TriageSummary:
    """Summarise a local file."""
    path = Path(source)
    if not path.is_file():
        raise UsageError(f"{source}: no such file", "pass a .cap/.pcap/.pcapng file or an https blob URL")
    try:
        size = path.stat().st_size
        return summarize(file_chunks(path), source=path.name, size_bytes=size, deadline=deadline)[0]
    except PermissionError as exc:
        raise UsageError(f"{source}: cannot read it: {exc.strerror or exc}") from None


@app.command("summary")
def pcap_summary(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FILE|URL", help="A capture file or a blob URL with SAS.")],
    budget: Annotated[float | None, typer.Option(
        min=0.1, help="Stop after this many seconds and summarise what was read.")] = None,
    output: OutputOption = None,
) -> None:
    """Who talked to whom, how much, over what, and what looks wrong (pcap or pcapng)."""
    state = cli_state(ctx)
    deadline = time.monotonic() + budget if budget else None
    if source.lower().startswith("http://"):
        raise UsageError("plain http URLs are refused (a SAS must not travel in clear)", "use https://")
    if source.lower().startswith("https://"):
        summary = summarize_url(source, deadline)
    else:
        summary = summarize_path(source, deadline)
    state.render(Rendering(summary.to_dict(), triage_views(TriageResult([summary]))), output)
