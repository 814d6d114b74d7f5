"""Starting an aiohttp application over HTTPS on loopback."""

from __future__ import annotations

import asyncio
import ssl

from aiohttp import web


async def start_https(
    app: web.Application, host: str = "127.0.0.1", port: int = 0, ssl_ctx: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    """Serve `app` on `host:port` (0 = a free port) with TLS when `ssl_ctx` is given; returns (runner, port).

    Stop it with `await runner.cleanup()`.
    """
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_ctx, reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    server = site._server
    assert isinstance(server, asyncio.Server) and server.sockets
    return runner, server.sockets[0].getsockname()[1]
