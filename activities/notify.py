"""Send the operator email through ACS Email (idempotent per run through the Operation-Id)."""

from __future__ import annotations

import logging

from azure.core.exceptions import AzureError

from activities import clients
from activities.storage import read_link
from core.email import render
from core.email_contract import EmailRequest, EmailSent
from core.orchestration import RUN_SUCCEEDED
from core.outcome import Outcome
from core.records import RunRecord

log = logging.getLogger("alertcap.activities")


def download_link(record: RunRecord, valid_hours: int) -> str | None:
    """The capture's read-only link, or None: a link that cannot be made never keeps the email from going out
    (the email still names the blob)."""
    if record.status != RUN_SUCCEEDED or not record.storage_path or record.size_bytes is None:
        return None
    if any(f.instance for f in record.files):  # a folder: each instance file gets its own link
        return None
    try:
        return read_link(record.storage_path, valid_hours)
    except AzureError as exc:
        status = getattr(exc, "status_code", None)
        log.warning("no download link for %s: %s %s", record.capture_name, type(exc).__name__, status or "")
        return None


def file_links(record: RunRecord, valid_hours: int) -> dict[str, str]:
    """A read-only link for each instance file of a scale-set capture, or each incident file of an armed
    run (a file whose link fails gets none)."""
    if record.status != RUN_SUCCEEDED:
        return {}
    links = {}
    for item in record.files:
        if not item.instance and not record.armed:  # an armed run's files are its incident's
            continue
        try:
            links[item.url] = read_link(item.url, valid_hours)
        except AzureError as exc:
            log.warning("no download link for %s: %s", item.instance, type(exc).__name__)
    return links


def send_email(request: EmailRequest) -> Outcome:
    """Render and send the email for the request's run record; returns the ACS message id."""
    record, operation_id = request.record, request.operation_id
    settings = clients.settings()
    hours = settings.email_link_valid_hours
    content = render(record, download_link(record, hours), file_links(record, hours))
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
    return Outcome.of(EmailSent(str(result.get("id", operation_id)), status))
