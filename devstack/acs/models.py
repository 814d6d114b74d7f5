"""The ACS Email backend: message validation as the service does it, the outbox and send-operation states."""

from __future__ import annotations

import base64
import binascii
import re
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any, Protocol

from devstack.acs.auth import Caller
from devstack.acs.exceptions import BadRequest, DomainNotLinked, OperationNotFound, PayloadTooLarge
from devstack.common.persist import TRANSIENT

MAX_RECIPIENTS = 50
MAX_REQUEST_BYTES = 10 * 1024 * 1024
_ADDRESS_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_MESSAGE_KEYS = {
    "senderAddress",
    "content",
    "recipients",
    "attachments",
    "replyTo",
    "headers",
    "userEngagementTrackingDisabled",
}
TERMINAL = ("Succeeded", "Failed", "Canceled")
_FIELD_NAME_RE = re.compile(r"^[!-9;-~]+$")  # RFC 5322 field name: printable ASCII, no colon or space
_RESERVED_HEADERS = {
    "from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "mime-version",
    "content-type", "content-transfer-encoding", "x-acs-operation-id",
}


@dataclass(frozen=True)
class Address:
    """An email address with an optional display name."""

    address: str
    display_name: str = ""

    def formatted(self) -> str:
        """`Name <address>` for mail headers."""
        return formataddr((_one_line(self.display_name), self.address))


@dataclass(frozen=True)
class Attachment:
    """An attachment as received (decoded size kept; content kept for the .eml)."""

    name: str
    content_type: str
    size: int
    content_id: str | None = None


@dataclass(frozen=True)
class SendOutcome:
    """How upcoming send operations end: `status` after `polls` non-terminal status polls (with `error`
    for Failed/Canceled), for the next `count` sends (None = until cleared)."""

    status: str = "Succeeded"
    polls: int = 0
    code: str | None = None
    message: str | None = None
    count: int | None = None

    @classmethod
    def from_dict(cls, spec: Any) -> SendOutcome:
        """From the admin API's JSON; BadRequest naming the bad field."""
        if not isinstance(spec, dict) or set(spec) - {"status", "polls", "code", "message", "count"}:
            raise BadRequest("An outcome is an object with 'status', 'polls', 'code', 'message', 'count'.")
        status = spec.get("status", "Succeeded")
        if status not in TERMINAL:
            raise BadRequest(f"status must be one of {', '.join(TERMINAL)}.", "status")
        for key, low, high in (("polls", 0, 1000), ("count", 1, 100000)):
            value = spec.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
            ):
                raise BadRequest(f"{key} must be an integer between {low} and {high}.", key)
        for key in ("code", "message"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise BadRequest(f"{key} must be a string.", key)
        return cls(status, spec.get("polls") or 0, spec.get("code"), spec.get("message"), spec.get("count"))

    def error(self) -> dict[str, str] | None:
        """The operation's `error` body for a non-success terminal status."""
        if self.status == "Succeeded":
            return None
        return {
            "code": self.code or ("EmailSendFailed" if self.status == "Failed" else "Canceled"),
            "message": self.message or f"The send operation {self.status.lower()} (injected).",
        }


@dataclass
class EmailRecord:
    """One accepted send operation and the message it carries."""

    id: str
    status: str
    sender: str
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]
    reply_to: list[Address]
    subject: str
    plain_text: str | None
    html: str | None
    headers: dict[str, str]
    attachments: list[Attachment]
    received_at: str
    auth: str
    principal_id: str | None
    eml_path: str = ""
    polls: int = 0
    error: dict[str, str] | None = None
    outcome: SendOutcome | None = None
    _payloads: list[bytes] = field(default_factory=list, repr=False, metadata=TRANSIENT)

    def status_body(self) -> dict[str, Any]:
        """The `EmailSendResult` wire body."""
        body: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.error:
            body["error"] = self.error
        return body

    def to_dict(self) -> dict[str, Any]:
        """The admin API view."""
        data = asdict(self)
        data.pop("_payloads", None)
        data.pop("outcome", None)
        return data


def _address(value: Any, where: str) -> Address:
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be an object with an 'address'.", where)
    unknown = sorted(set(value) - {"address", "displayName"})
    if unknown:
        raise BadRequest(f"{where} has an unknown field '{unknown[0]}'.", where)
    address, name = value.get("address"), value.get("displayName", "")
    if not isinstance(address, str) or not _ADDRESS_RE.match(address.strip()):
        raise BadRequest(f"{where}.address {address!r} is not a valid email address.", f"{where}.address")
    if name is not None and not isinstance(name, str):
        raise BadRequest(f"{where}.displayName must be a string.", f"{where}.displayName")
    return Address(address.strip(), name or "")


def _address_list(value: Any, where: str) -> list[Address]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"{where} must be an array of email addresses.", where)
    return [_address(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _section(message: dict, key: str, allowed: set[str]) -> dict:
    """`message[key]`, which must be an object holding only `allowed` fields."""
    value = message.get(key)
    if not isinstance(value, dict):
        raise BadRequest(f"{key} is required and must be an object.", key)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise BadRequest(f"Unknown field '{key}.{unknown[0]}'.", f"{key}.{unknown[0]}")
    return value


def _text(container: dict, key: str, where: str, required: bool = False) -> str | None:
    value = container.get(key)
    if value is None:
        if required:
            raise BadRequest(f"{where}.{key} is required.", f"{where}.{key}")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{where}.{key} must be a string.", f"{where}.{key}")
    return value


def _custom_headers(value: Any) -> dict[str, str]:
    """The message's custom headers: RFC 5322 field names, one-line values, none of the headers the
    service itself sets."""
    headers = value or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise BadRequest("headers must be an object of string values.", "headers")
    for name, header_value in headers.items():
        if not _FIELD_NAME_RE.match(name):
            raise BadRequest(f"headers: {name!r} is not a valid header name.", "headers")
        if name.lower() in _RESERVED_HEADERS:
            raise BadRequest(f"headers: {name!r} is set by the service and cannot be overridden.", "headers")
        if "\r" in header_value or "\n" in header_value:
            raise BadRequest(f"headers: the value of {name!r} has a line break.", "headers")
    return dict(headers)


def _one_line(text: str) -> str:
    """`text` fit for a mail header: line breaks folded to spaces, unencodable characters replaced."""
    return _printable(" ".join(text.splitlines()))


def _printable(text: str) -> str:
    """`text` with what UTF-8 cannot encode (lone surrogates from JSON escapes) replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _attachments(value: Any) -> tuple[list[Attachment], list[bytes]]:
    if value is None:
        return [], []
    if not isinstance(value, list):
        raise BadRequest("attachments must be an array.", "attachments")
    infos, payloads = [], []
    for i, item in enumerate(value):
        where = f"attachments[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object.", where)
        name = _text(item, "name", where, required=True)
        content_type = _text(item, "contentType", where, required=True)
        encoded = _text(item, "contentInBase64", where, required=True)
        assert name is not None and content_type is not None and encoded is not None
        if not name.strip() or "/" not in content_type:
            raise BadRequest(f"{where} needs a non-empty name and a MIME contentType.", where)
        try:
            payload = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(
                f"{where}.contentInBase64 is not valid base64.", f"{where}.contentInBase64"
            ) from exc
        infos.append(Attachment(name, content_type, len(payload), _text(item, "contentId", where)))
        payloads.append(payload)
    return infos, payloads


class RecordStore(Protocol):
    """Where send operations are persisted (devstack.acs.store.OutboxStore)."""

    def load(self) -> list[EmailRecord]: ...
    def save(self, record: EmailRecord) -> None: ...
    def remove(self, operation_id: str) -> None: ...


class EmailBackend:
    """Accepts messages, keeps them in an in-memory outbox and as `.eml` files, and answers status polls.

    A send operation starts `Running`; it becomes `Succeeded` on the status poll after `polls_to_complete`
    polls (0 = the first poll already sees `Succeeded`, so SDK pollers never sleep).
    """

    def __init__(
        self,
        sender_domain: str,
        outbox_dir: Path,
        polls_to_complete: int = 0,
        retry_after: int | None = None,
        store: RecordStore | None = None,
    ) -> None:
        """`store` persists each operation (and gives back the saved ones); none keeps them in memory."""
        self.sender_domain = sender_domain.lower()
        self.outbox_dir = outbox_dir
        self.polls_to_complete = polls_to_complete
        self.retry_after = retry_after
        self.store = store
        self._records: dict[str, EmailRecord] = {r.id: r for r in (store.load() if store else [])}
        self._outcomes: list[list[Any]] = []  # [outcome, sends left (None = unlimited)]
        self._lock = threading.Lock()

    def add_outcome(self, outcome: SendOutcome) -> None:
        """Make upcoming sends end as `outcome` says (first added, first used)."""
        with self._lock:
            self._outcomes.append([outcome, outcome.count])

    def clear_outcomes(self) -> None:
        """Back to the default: every send succeeds after `polls_to_complete` polls."""
        with self._lock:
            self._outcomes.clear()

    def _take_outcome(self) -> SendOutcome:
        if self._outcomes:
            entry = self._outcomes[0]
            if entry[1] is not None:
                entry[1] -= 1
                if entry[1] <= 0:
                    self._outcomes.pop(0)
            return entry[0]
        return SendOutcome("Succeeded", self.polls_to_complete)

    def send(self, message: Any, operation_id: str | None, caller: Caller, size: int) -> EmailRecord:
        """Validate and queue a message; an existing `operation_id` returns its operation unchanged."""
        if size > MAX_REQUEST_BYTES:
            raise PayloadTooLarge(f"The request is {size} bytes; the limit (attachments included) is 10 MB.")
        if operation_id is not None and not _GUID_RE.match(operation_id):
            raise BadRequest(f"The Operation-Id header {operation_id!r} is not a GUID.", "Operation-Id")
        with self._lock:
            if operation_id is not None and operation_id.lower() in self._records:
                return self._records[operation_id.lower()]
        record = self._validate(message, operation_id or str(uuid.uuid4()), caller)
        record.eml_path = str(self._write_eml(record))
        with self._lock:
            if record.id not in self._records:
                record.outcome = self._take_outcome()
                self._records[record.id] = record
                self._save(record)
            return self._records[record.id]

    def _save(self, record: EmailRecord) -> None:
        if self.store is not None:
            self.store.save(record)

    def _validate(self, message: Any, operation_id: str, caller: Caller) -> EmailRecord:
        if not isinstance(message, dict):
            raise BadRequest("The request body must be a JSON object (EmailMessage).")
        unknown = sorted(set(message) - _MESSAGE_KEYS)
        if unknown:
            raise BadRequest(f"Unknown field '{unknown[0]}' in the message.", unknown[0])
        sender = message.get("senderAddress")
        if not isinstance(sender, str) or not sender.strip():
            raise BadRequest("senderAddress is required.", "senderAddress")
        if not _ADDRESS_RE.match(sender.strip()):
            raise BadRequest(f"senderAddress {sender!r} is not a valid email address.", "senderAddress")
        domain = sender.strip().rpartition("@")[2].lower()
        if domain != self.sender_domain:
            raise DomainNotLinked(domain)
        content = _section(message, "content", {"subject", "plainText", "html"})
        subject = _text(content, "subject", "content", required=True)
        if not subject or not subject.strip():
            raise BadRequest("content.subject must not be empty.", "content.subject")
        plain, html = _text(content, "plainText", "content"), _text(content, "html", "content")
        if not (plain or html):
            raise BadRequest("content needs a non-empty plainText or html body.", "content")
        recipients = _section(message, "recipients", {"to", "cc", "bcc"})
        to, cc, bcc = (_address_list(recipients.get(k), f"recipients.{k}") for k in ("to", "cc", "bcc"))
        total = len(to) + len(cc) + len(bcc)
        if total == 0:
            raise BadRequest("recipients needs at least one address in to, cc or bcc.", "recipients")
        if total > MAX_RECIPIENTS:
            raise BadRequest(
                f"{total} recipients; at most {MAX_RECIPIENTS} are allowed per message.", "recipients"
            )
        headers = _custom_headers(message.get("headers"))
        tracking = message.get("userEngagementTrackingDisabled")
        if tracking is not None and not isinstance(tracking, bool):
            raise BadRequest(
                "userEngagementTrackingDisabled must be a boolean.", "userEngagementTrackingDisabled"
            )
        attachments, payloads = _attachments(message.get("attachments"))
        return EmailRecord(
            id=operation_id.lower(),
            status="Running",
            sender=sender.strip(),
            to=to,
            cc=cc,
            bcc=bcc,
            reply_to=_address_list(message.get("replyTo"), "replyTo"),
            subject=subject,
            plain_text=plain,
            html=html,
            headers=dict(headers),
            attachments=attachments,
            received_at=datetime.now(UTC).isoformat(),
            auth=caller.scheme,
            principal_id=caller.principal_id,
            _payloads=payloads,
        )

    def _write_eml(self, record: EmailRecord) -> Path:
        mail = EmailMessage()
        mail["From"] = record.sender
        for header, people in (
            ("To", record.to),
            ("Cc", record.cc),
            ("Bcc", record.bcc),
            ("Reply-To", record.reply_to),
        ):
            if people:
                mail[header] = ", ".join(p.formatted() for p in people)
        mail["Subject"] = _one_line(record.subject)
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = make_msgid(idstring=record.id, domain=self.sender_domain)
        mail["X-ACS-Operation-Id"] = record.id
        for name, value in record.headers.items():
            mail[name] = _printable(value)
        mail.set_content(_printable(record.plain_text or ""))
        if record.html:
            mail.add_alternative(_printable(record.html), subtype="html")
        for info, payload in zip(record.attachments, record._payloads, strict=True):
            maintype, _, subtype = info.content_type.partition("/")
            mail.add_attachment(
                payload, maintype=maintype, subtype=subtype or "octet-stream", filename=_one_line(info.name)
            )
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        path = self.outbox_dir / f"{record.id}.eml"
        path.write_bytes(bytes(mail))
        return path

    def poll(self, operation_id: str) -> EmailRecord:
        """The operation's state after this status poll (advancing it towards `Succeeded`)."""
        with self._lock:
            record = self._record(operation_id)
            outcome = record.outcome or SendOutcome("Succeeded", self.polls_to_complete)
            if record.status not in TERMINAL:
                record.polls += 1
                if record.polls > outcome.polls:
                    record.status, record.error = outcome.status, outcome.error()
                self._save(record)
            return record

    def get(self, operation_id: str) -> EmailRecord:
        """The operation without advancing it."""
        with self._lock:
            return self._record(operation_id)

    def _record(self, operation_id: str) -> EmailRecord:
        """The operation (call with the lock held); OperationNotFound otherwise."""
        record = self._records.get(operation_id.lower())
        if record is None:
            raise OperationNotFound(operation_id)
        return record

    def list(self) -> list[EmailRecord]:
        """Every accepted message, oldest first."""
        with self._lock:
            return list(self._records.values())

    def reset(self) -> None:
        """Forget the outbox (the .eml files and persisted records are removed too)."""
        with self._lock:
            records, self._records = list(self._records.values()), {}
            self._outcomes.clear()
        for record in records:
            Path(record.eml_path).unlink(missing_ok=True)
            if self.store is not None:
                self.store.remove(record.id)
