"""Where the ACS outbox lives between `up` restarts: one `<operation id>.json` per send operation, next to its
`.eml`, in `<state dir>/outbox/`.

One small file per message (as Azurite keeps one extent per blob): a send writes only its own record, however
the outbox grows. Records are written atomically; a damaged one stops the start (PersistedStateError).
"""

from __future__ import annotations

import json
from pathlib import Path

from devstack.acs.models import EmailRecord
from devstack.common.persist import PersistedStateError, codec, structure
from devstack.common.statefile import write_text_atomic

RECORD_SUFFIX = ".json"


class OutboxStore:
    """The persisted send operations of one ACS emulator."""

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir

    def _path(self, operation_id: str) -> Path:
        return self.outbox_dir / f"{operation_id}{RECORD_SUFFIX}"

    def load(self) -> list[EmailRecord]:
        """Every saved operation, oldest first; PersistedStateError naming the first damaged file."""
        records = []
        for path in sorted(self.outbox_dir.glob(f"*{RECORD_SUFFIX}")):
            try:
                data = json.loads(path.read_text())
            except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise PersistedStateError(path, f"not JSON ({exc})") from None
            records.append(structure(data, EmailRecord, path, where="$"))
        return sorted(records, key=lambda r: (r.received_at, r.id))

    def save(self, record: EmailRecord) -> None:
        """Write (or rewrite) one operation's record."""
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self._path(record.id), json.dumps(codec.unstructure(record), indent=1))

    def remove(self, operation_id: str) -> None:
        """Forget one operation's record."""
        self._path(operation_id).unlink(missing_ok=True)
