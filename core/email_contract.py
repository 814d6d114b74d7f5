"""Payloads of the ``send_email`` activity."""

from __future__ import annotations

from dataclasses import dataclass

from core.contract import Payload
from core.records import RunRecord


@dataclass(frozen=True)
class EmailRequest(Payload):
    """Input of ``send_email``: the run so far, and the ACS operation id that makes a resend a no-op."""

    record: RunRecord
    operation_id: str


@dataclass(frozen=True)
class EmailSent(Payload):
    """Output value of ``send_email``: the ACS message id and the final status."""

    message_id: str = ""
    status: str = ""
