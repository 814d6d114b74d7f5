"""Routes of the ACS Email emulator and the object the stack starts."""

from __future__ import annotations

from aiohttp import web

from devstack.acs.models import EmailBackend
from devstack.acs.responses import EmailResponses
from devstack.acs.store import OutboxStore
from devstack.common.context import StackContext
from devstack.common.errors import error_middleware


class AcsEmulator:
    """The ACS Email emulator: `.app` to serve, `.backend` holding the outbox."""

    def __init__(self, ctx: StackContext, polls_to_complete: int = 0) -> None:
        outbox = ctx.state_dir / "outbox"
        self.backend = EmailBackend(
            ctx.config.email.sender_domain, outbox, polls_to_complete, store=OutboxStore(outbox)
        )
        responses = EmailResponses(ctx, self.backend)
        self.app = web.Application(
            middlewares=[error_middleware, ctx.faults.middleware("acs")], client_max_size=11 * 1024 * 1024
        )
        self.app.router.add_post("/emails:send", responses.send, name="Emails_Send")
        self.app.router.add_get(
            "/emails/operations/{operation_id}", responses.get_send_result, name="Emails_GetSendResult"
        )
