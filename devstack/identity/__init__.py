"""Managed identity emulator, App Service flavour (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).

azure-identity's `ManagedIdentityCredential` (through MSAL's `ManagedIdentityClient`) sends
`GET <IDENTITY_ENDPOINT>?api-version=2019-08-01&resource=<scope without /.default>` with the secret in
`X-IDENTITY-HEADER`, optionally `client_id` / `object_id` / `mi_res_id` for a user-assigned identity.
It answers `{"access_token", "expires_on", "resource", "token_type", "client_id"}` like App Service does.
"""

from devstack.identity.server import IDENTITY_PATH, IdentityEmulator

__all__ = ["IDENTITY_PATH", "IdentityEmulator"]
