"""Read a request body with a deadline: a body shorter than its Content-Length gets a 400, not a hung socket.

Kestrel, the server in front of the Functions host, drops a body that arrives slower than 240 bytes/s once a
5 s grace period has passed (``KestrelServerLimits.MinRequestBodyDataRate``,
https://learn.microsoft.com/dotnet/api/microsoft.aspnetcore.server.kestrel.core.kestrelserverlimits.minrequestbodydatarate)
and answers 408; what the App Service front end in front of it does is not documented. The devstack host
answers 400 (the body is malformed: it ended before its declared length) after the same 5 s.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from devstack.host.errors import json_error

BODY_READ_TIMEOUT_SECONDS = 5.0


@web.middleware
async def body_timeout_middleware(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    """Buffer the body (aiohttp caches it for ``request.read()``) within the deadline, then handle."""
    if request.body_exists:
        if request.content.is_eof():  # the whole body is already here (the usual case): nothing to wait for
            await request.read()
            return await handler(request)
        try:
            await asyncio.wait_for(request.read(), BODY_READ_TIMEOUT_SECONDS)
        except TimeoutError:
            message = (f"the request body did not arrive within {BODY_READ_TIMEOUT_SECONDS:g} s: it is "
                       f"shorter than its Content-Length ({request.content_length})")
            response = json_error(400, message)
            response.force_close()
            return response
    return await handler(request)
