"""Summarise the run's capture files straight from storage, in chunks, with the managed identity.

Each file is read with ranged GETs of ``CHUNK_BYTES`` (never downloaded whole, never written to disk) and fed
to ``core.triage.summarize``. A file that cannot be read (gone, forbidden) gets a summary with a warning; the
budget is shared by all files, and a file reached after it ran out is summarised on nothing and says so.
Transient storage errors raise, so the orchestrator's retry policy applies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobClient

from activities.errors import error_message, is_permanent
from activities.storage import blob_client
from core.outcome import Outcome
from core.triage import CHUNK_BYTES, merge, summarize
from core.triage_model import TriageRequest, TriageResult, TriageSummary
from core.triage_tables import Tables

log = logging.getLogger("alertcap.activities")


def blob_chunks(blob: BlobClient, size: int, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The blob's bytes, one ranged GET of ``chunk_bytes`` at a time."""
    offset = 0
    while offset < size:
        length = min(chunk_bytes, size - offset)
        data = blob.download_blob(offset=offset, length=length, max_concurrency=1).readall()
        if not data:
            return
        yield data
        offset += len(data)


def _file_name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[-1]


def summarize_blob(url: str, deadline: float) -> tuple[TriageSummary, Tables]:
    """The summary of one capture blob; a permanent storage error becomes a warning, not an exception."""
    name = _file_name(url)
    try:
        blob = blob_client(url)
        size = int(blob.get_blob_properties().size)
        return summarize(blob_chunks(blob, size), source=name, size_bytes=size, deadline=deadline)
    except ResourceNotFoundError:
        problem = "the capture file does not exist (deleted?)"
    except HttpResponseError as exc:
        if not is_permanent(exc):
            raise
        problem = f"the capture file cannot be read: {error_message(exc)}"
    log.warning("triage of %s: %s", name, problem)
    summary, tables = summarize([], source=name)
    return TriageSummary.from_dict({**summary.to_dict(), "warnings": [problem], "complete": False}), tables


def triage_capture(request: TriageRequest) -> Outcome:
    """Per-file summaries of ``request.files`` and, for several files, their merged view."""
    deadline = time.monotonic() + request.budget_seconds
    summaries: list[TriageSummary] = []
    tables: list[Tables] = []
    for url in request.files:
        summary, table = summarize_blob(url, deadline)
        summaries.append(summary)
        tables.append(table)
    merged = merge(summaries, tables) if len(summaries) > 1 else None
    return Outcome.of(TriageResult(summaries, merged))
