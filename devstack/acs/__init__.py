"""Azure Communication Services Email emulator (`POST /emails:send`, `GET /emails/operations/{id}`).

Split as in moto: `models.py` (outbox and rules), `responses.py` (HTTP in/out), `urls.py` (routes),
`exceptions.py` (wire errors), `auth.py` (HMAC and bearer verification).
"""

from devstack.acs.models import EmailBackend, EmailRecord
from devstack.acs.urls import AcsEmulator

__all__ = ["AcsEmulator", "EmailBackend", "EmailRecord"]
