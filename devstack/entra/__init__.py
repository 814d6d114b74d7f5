"""Microsoft Entra ID, the part an API that accepts Entra tokens talks to: a tenant's OpenID Connect
discovery document and its signing keys (JWKS), served over HTTPS. Also the tokens Azure Monitor gets for a
secure webhook, minted as Azure Monitor's application for the app registration the function app trusts.

Split as in moto: `models.py` (tenants, key sets, claims), `responses.py` (HTTP in/out and routes).
"""

from devstack.entra.models import (
    AppRegistration,
    discovery_document,
    secure_webhook_claims,
)
from devstack.entra.responses import EntraEmulator

__all__ = ["AppRegistration", "EntraEmulator", "discovery_document", "secure_webhook_claims"]
