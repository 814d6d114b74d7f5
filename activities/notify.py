"""Send the operator email through ACS Email (idempotent per run through the Operation-Id)."""

from __future__ import annotations

import logging

from azure.core.exceptions import ResourceNotFoundError

from activities import clients
from activities.storage import read_link
from core.email import render
from core.outcome import Outcome
from core.records import SUCCEEDED, RunRecord

log = logging.getLogger("alertcap.activities")


def send_email(record: RunRecord, operation_id: str) -> Outcome:
    """Render and send the email for ``record``; returns the ACS message id."""
    settings = clients.settings()
    link = None
    if record.status == SUCCEEDED and record.storage_path and record.size_bytes is not None:
        try:
            link = read_link(record.storage_path, settings.email_link_valid_hours)
        except ResourceNotFoundError:
            link = None
    content = render(record, link)
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
