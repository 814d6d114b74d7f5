"""Azure Storage's RBAC for Microsoft Entra requests, in front of Azurite.

Azurite (`--oauth basic`) accepts any well-formed token: it authenticates but does not authorise. Azure
Storage authorises a `Bearer` request with the caller's role assignments: each operation needs an action or
data action at the container's scope (`<account id>/blobServices/default/containers/<name>`), and Copy Blob
From URL also needs `blobs/read` on the source for the token in `x-ms-copy-source-authorization`
(https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory,
https://learn.microsoft.com/rest/api/storageservices/copy-blob-from-url). This proxy does that check with the
devstack's RBAC (the roles and assignments `infra/` deploys) and forwards everything to Azurite unchanged:
shared-key and SAS requests (Network Watcher's uploads, the email's links) are Azurite's to check. A denied
request gets Azure's 403 (`AuthorizationPermissionMismatch`, or `CannotVerifyCopySource` for the source).

Operations mapped (the ones the app and the tests use, plus their neighbours): list containers, get a user
delegation key, container create/delete/properties, list blobs, blob read/properties, blob writes (Put Blob,
blocks, block list, copies, metadata, properties: `blobs/write` or `blobs/add/action`), blob tags and blob
delete. Any other request is forwarded without an RBAC check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiohttp
from aiohttp import web
from yarl import URL

from devstack.common.context import StackContext
from devstack.common.tokens import TokenError, bearer_token

log = logging.getLogger(__name__)

BLOB_SERVICE = "Microsoft.Storage/storageAccounts/blobServices"
CONTAINER_READ = f"{BLOB_SERVICE}/containers/read"
CONTAINER_WRITE = f"{BLOB_SERVICE}/containers/write"
CONTAINER_DELETE = f"{BLOB_SERVICE}/containers/delete"
DELEGATION_KEY = f"{BLOB_SERVICE}/generateUserDelegationKey/action"
BLOB_READ = f"{BLOB_SERVICE}/containers/blobs/read"
BLOB_WRITE = f"{BLOB_SERVICE}/containers/blobs/write"
BLOB_ADD = f"{BLOB_SERVICE}/containers/blobs/add/action"
BLOB_DELETE = f"{BLOB_SERVICE}/containers/blobs/delete"
TAGS_READ = f"{BLOB_SERVICE}/containers/blobs/tags/read"
TAGS_WRITE = f"{BLOB_SERVICE}/containers/blobs/tags/write"
STORAGE_AUDIENCE = "https://storage.azure.com"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "proxy-connection", "te"}
CHUNK = 256 * 1024
AUTO_HEADERS = ("Content-Type", "Accept", "Accept-Encoding", "User-Agent")  # aiohttp would add them
NOT_AUTHORIZED = "This request is not authorized to perform this operation using this permission."

Need = tuple[tuple[str, bool], ...]  # any of these (operation, is a data action) allows the request


def required(method: str, container: str, blob: str, query: dict[str, list[str]]) -> Need:
    """What Azure Storage requires of a Bearer caller for this request; () when not mapped here."""
    comp = (query.get("comp") or [""])[0].lower()
    restype = (query.get("restype") or [""])[0].lower()
    if not container:
        if comp == "userdelegationkey" and method == "POST":
            return ((DELEGATION_KEY, False),)
        return ((CONTAINER_READ, False),) if comp == "list" and method == "GET" else ()
    if not blob:
        if comp == "list" and method == "GET":
            return ((BLOB_READ, True),)
        if restype == "container":
            return {"PUT": ((CONTAINER_WRITE, False),), "DELETE": ((CONTAINER_DELETE, False),),
                    "GET": ((CONTAINER_READ, False),), "HEAD": ((CONTAINER_READ, False),)}.get(method, ())
        return ()
    if comp == "tags":
        return ((TAGS_WRITE, True),) if method == "PUT" else ((TAGS_READ, True),)
    if method in ("GET", "HEAD"):
        return ((BLOB_READ, True),)
    if method == "DELETE":
        return ((BLOB_DELETE, True),)
    if method == "PUT":
        return ((BLOB_WRITE, True), (BLOB_ADD, True))
    return ()


def _denied(code: str, message: str) -> web.Response:
    body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>")
    return web.Response(status=403, body=body.encode(), content_type="application/xml",
                        headers={"x-ms-error-code": code})


class BlobAuthorizer:
    """An HTTPS reverse proxy to Azurite that authorises Bearer requests with the devstack's RBAC."""

    def __init__(self, ctx: StackContext, upstream: Callable[[], str]) -> None:
        self.ctx = ctx
        self.upstream = upstream  # Azurite's base URL (it may move when Azurite restarts)
        self._session: aiohttp.ClientSession | None = None
        self.app = web.Application(client_max_size=0)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)
        self.app.on_cleanup.append(self._close)

    async def _close(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self.ctx.tls.client_ssl_context())
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  timeout=aiohttp.ClientTimeout(total=None, sock_read=120))
        return self._session

    def _scope(self, account: str, container: str) -> str | None:
        runtime = next((s for s in self.ctx.storage.values() if s.name.lower() == account.lower()), None)
        if runtime is None:
            return None
        return f"{runtime.id}/blobServices/default" + (f"/containers/{container}" if container else "")

    def _principal(self, authorization: str | None) -> str | None:
        """The caller's object id for a valid storage Bearer token; None for anything else (shared key, SAS,
        anonymous, a bad token: Azurite answers those)."""
        if not authorization or not authorization.strip().lower().startswith("bearer "):
            return None
        try:
            claims = self.ctx.tokens.verify(bearer_token(authorization), (STORAGE_AUDIENCE,))
        except TokenError:
            return None
        return claims.principal_id

    def _allowed(self, principal: str, need: Need, scope: str) -> bool:
        return any(self.ctx.rbac.check(principal, op, scope, data_action=data) for op, data in need)

    def check(self, request: web.Request) -> web.Response | None:
        """A 403 when the Bearer caller (or the copy source's token) lacks the permission; None to forward."""
        account, _, rest = request.path.lstrip("/").partition("/")
        container, _, blob = rest.partition("/")
        container, blob = unquote(container), unquote(blob)
        principal = self._principal(request.headers.get("Authorization"))
        scope = self._scope(account, container)
        if principal is not None and scope is not None:
            need = required(request.method, container, blob, parse_qs(request.query_string))
            if need and not self._allowed(principal, need, scope):
                log.info("blob RBAC: %s may not %s on %s", principal, need[0][0], scope)
                return _denied("AuthorizationPermissionMismatch", NOT_AUTHORIZED)
        source = request.headers.get("x-ms-copy-source")
        source_principal = self._principal(request.headers.get("x-ms-copy-source-authorization"))
        if source and source_principal is not None:
            parts = urlsplit(source).path.lstrip("/").split("/", 2)
            source_scope = self._scope(parts[0], unquote(parts[1])) if len(parts) == 3 else None
            if source_scope is not None and not self._allowed(source_principal, ((BLOB_READ, True),),
                                                              source_scope):
                return _denied("CannotVerifyCopySource", NOT_AUTHORIZED)
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Check, then forward to Azurite and stream the answer back."""
        denied = self.check(request)
        if denied is not None:
            return denied
        url = URL(self.upstream().rstrip("/") + request.raw_path, encoded=True)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        data: Any = request.content if request.can_read_body else None
        skip = [h for h in AUTO_HEADERS if h not in request.headers]  # a shared-key signature covers them
        async with self._client().request(request.method, url, headers=headers, data=data,
                                          skip_auto_headers=skip, allow_redirects=False) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    response.headers.add(key, value)
            await response.prepare(request)
            if request.method != "HEAD":
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    await response.write(chunk)
            await response.write_eof()
            return response
