"""Send the operator email through ACS Email (idempotent per run through the Operation-Id)."""

from __future__ import annotations

import logging

from azure.core.exceptions import AzureError

from activities import clients
from activities.storage import read_link
from core.email import render
from core.outcome import Outcome
from core.records import SUCCEEDED, RunRecord

log = logging.getLogger("alertcap.activities")


def download_link(record: RunRecord, valid_hours: int) -> str | None:
    """The capture's read-only link, or None: a link that cannot be made never keeps the email from going out
    (the email still names the blob)."""
    if record.status != SUCCEEDED or not record.storage_path or record.size_bytes is None:
        return None
    try:
        return read_link(record.storage_path, valid_hours)
    except AzureError as exc:
        status = getattr(exc, "status_code", None)
        log.warning("no download link for %s: %s %s", record.capture_name, type(exc).__name__, status or "")
        return None


def send_email(record: RunRecord, operation_id: str) -> Outcome:
    """Render and send the email for ``record``; returns the ACS message id."""
    settings = clients.settings()
    content = render(record, download_link(record, settings.email_link_valid_hours))
    message = {
        "senderAddress": settings.email_sender,
        "recipients": {"to": [{"address": a} for a in settings.email_recipients]},
        "content": {"subject": content.subject, "plainText": content.plain_text, "html": content.html},
    }
    poller = clients.email().begin_send(message, operation_id=operation_id,
                                        polling_interval=clients.polling_interval())
    result = poller.result()
    status = str(result.get("status", ""))
    if status.lower() != "succeeded":
        return Outcome.failure("EmailNotSent", f"ACS reported status {status!r}")
    return Outcome.success(message_id=str(result.get("id", operation_id)), status=status)
