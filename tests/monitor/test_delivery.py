"""Azure's webhook retry policy, against a real aiohttp receiver on loopback."""

from __future__ import annotations

import aiohttp
import pytest

from devstack.monitor.delivery import RetryPolicy, WebhookSender
from devstack.monitor.testing import ManualClock

AZURE_DELAYS = [5.0, 20.0, 5.0, 40.0, 5.0]
PAYLOAD = {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {"alertRule": "r"}}}


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as client:
        yield client


def sender_for(session, receiver, sleeps, *, clock=None, policy=None):
    return WebhookSender(session, receiver.url, "secret-key", policy=policy, sleep=sleeps,
                         now=(clock or ManualClock()).now)


async def test_retries_a_503_then_succeeds(session, receiver, sleeps):
    receiver.script([503, 503])
    result = await sender_for(session, receiver, sleeps).send(PAYLOAD)
    assert result.delivered
    assert [a.status for a in result.attempts] == [503, 503, 202]
    assert sleeps.delays == [5.0, 20.0]
    assert len(receiver.calls) == 3
    assert all(call.body == PAYLOAD for call in receiver.calls)
    assert result.response == {"runs": [{"id": "run-3"}]}


async def test_does_not_retry_a_400(session, receiver, sleeps):
    receiver.script([400])
    result = await sender_for(session, receiver, sleeps).send(PAYLOAD)
    assert not result.delivered
    assert [a.status for a in result.attempts] == [400]
    assert sleeps.delays == []
    assert len(receiver.calls) == 1


@pytest.mark.parametrize("status", [500, 502, 401, 404])
async def test_other_failures_are_final(session, receiver, sleeps, status):
    receiver.script([status])
    result = await sender_for(session, receiver, sleeps).send(PAYLOAD)
    assert not result.delivered and result.final_status == status and len(receiver.calls) == 1


@pytest.mark.parametrize("status", [408, 429, 503, 504])
async def test_gives_up_after_five_retries_at_azures_delays(session, receiver, sleeps, status):
    receiver.script([status] * 10)
    result = await sender_for(session, receiver, sleeps).send(PAYLOAD)
    assert not result.delivered
    assert len(receiver.calls) == 6
    assert sleeps.delays == AZURE_DELAYS


async def test_a_timeout_is_retried(session, receiver, sleeps):
    receiver.hangs = [1.0]
    policy = RetryPolicy(timeout_seconds=0.2)
    result = await sender_for(session, receiver, sleeps, policy=policy).send(PAYLOAD)
    assert result.delivered
    assert result.attempts[0].status is None and "timeout" in result.attempts[0].error
    assert result.attempts[1].status == 202
    assert sleeps.delays == [5.0]


async def test_a_refused_connection_is_retried(session, receiver, sleeps):
    url = receiver.url
    await receiver.stop()
    sender = WebhookSender(session, url, "k", sleep=sleeps, now=ManualClock().now)
    result = await sender.send(PAYLOAD)
    assert not result.delivered and len(result.attempts) == 6
    assert all(a.status is None and a.error for a in result.attempts)
    assert "secret" not in " ".join(a.error for a in result.attempts)


async def test_an_endpoint_that_exhausted_its_retries_is_muted_for_15_minutes(session, receiver, sleeps):
    clock = ManualClock()
    sender = sender_for(session, receiver, sleeps, clock=clock)
    receiver.script([503] * 6)
    assert not (await sender.send(PAYLOAD)).delivered
    clock.advance(899)
    muted = await sender.send(PAYLOAD)
    assert muted.muted and muted.attempts == [] and len(receiver.calls) == 6
    clock.advance(2)
    assert (await sender.send(PAYLOAD)).delivered
    assert len(receiver.calls) == 7


async def test_the_key_is_sent_as_code_and_headers_look_like_azure(session, receiver, sleeps):
    await sender_for(session, receiver, sleeps).send(PAYLOAD)
    [call] = receiver.calls
    assert call.query == {"code": "secret-key"}
    assert call.headers["User-Agent"] == "IcMBroadcaster/1.0"
    assert call.headers["Content-Type"].startswith("application/json")
    assert sender_for(session, receiver, sleeps).endpoint == receiver.url


async def test_evaluator_retries_through_its_queue(evaluator, receiver, clock, counters, sleeps):
    receiver.script([503])
    await evaluator.evaluate_once()
    clock.advance(10)
    counters.set("vm-demo", "TcpSegmentsSent", 1000)
    await evaluator.evaluate_once()
    await evaluator.wait_delivered()
    assert [c.body["data"]["essentials"]["monitorCondition"] for c in receiver.calls] == ["Fired", "Fired"]
    assert sleeps.delays == [5.0]
    [notification] = evaluator.notifications
    assert notification.result.delivered and len(notification.result.attempts) == 2


async def test_an_undecodable_answer_is_still_an_answer(session, sleeps):
    """A 503 whose body is not valid in its declared charset is retried like any 503 (send never raises)."""
    from aiohttp import web

    statuses = [503]

    async def handle(request: web.Request) -> web.Response:
        status = statuses.pop(0) if statuses else 202
        return web.Response(status=status, body=b"\xff\xfe busy", content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_post("/api/alerts", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        sender = WebhookSender(session, f"http://127.0.0.1:{port}/api/alerts", "k", sleep=sleeps,
                               now=ManualClock().now)
        result = await sender.send(PAYLOAD)
    finally:
        await runner.cleanup()
    assert [a.status for a in result.attempts] == [503, 202]
    assert result.delivered and sleeps.delays == [5.0]
    assert result.response.endswith(" busy")
