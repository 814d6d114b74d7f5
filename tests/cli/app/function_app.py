"""A tiny Durable app the CLI tests drive through the local host (not product code).

- `wait_run`: custom status {"phase": "waiting"}, then waits for the `go` event (or a long timer), returns a
  run record naming its target; good for list/show/watch/terminate/suspend/resume.
- `flaky_run`: calls `flaky_step`, which fails while the file named in the input exists; rewind target.
- `unnotified_run`: completes at once like a product run whose email failed for good.
- `soft_fail_run`: completes with `{"status": "failed", ...}` while that file exists (the product's way).
- `POST /api/start/{name}/{instance_id}`: starts an orchestration with the request body as input.
- `POST /api/alerts`: starts one `wait_run` per `alertTargetIDs` entry, answering like a webhook.
"""

import hashlib
import json
import os
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.orchestration_trigger(context_name="context")
def wait_run(context: df.DurableOrchestrationContext):
    request = context.get_input() or {}
    context.set_custom_status({"phase": "waiting", "target": request.get("target")})
    go = context.wait_for_external_event("go")
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    winner = yield context.task_any([go, timer])
    if winner == go:
        timer.cancel()
    context.set_custom_status({"phase": "done"})
    return {"target": request.get("target"), "captureName": f"{context.instance_id}-cap",
            "status": "succeeded", "timedOut": winner != go}


@app.orchestration_trigger(context_name="context")
def unnotified_run(context: df.DurableOrchestrationContext):
    """Like the product when ACS stayed down past the email retry window."""
    request = context.get_input() or {}
    context.set_custom_status({"phase": "done", "outcome": "succeeded, notification failed",
                               "notification": "failed"})
    return {"target": request.get("target"), "status": "succeeded, notification failed",
            "notification": "failed", "email_error": "email retries exhausted: HTTP 503"}
    yield  # a generator, as orchestrators are


@app.orchestration_trigger(context_name="context")
def flaky_run(context: df.DurableOrchestrationContext):
    request = context.get_input() or {}
    context.set_custom_status({"phase": "working"})
    result = yield context.call_activity("flaky_step", request.get("flag", ""))
    return {"target": request.get("target"), "step": result, "status": "succeeded"}


@app.orchestration_trigger(context_name="context")
def soft_fail_run(context: df.DurableOrchestrationContext):
    """Like the product: a step that keeps failing ends the run Completed with a failed record."""
    request = context.get_input() or {}
    healthy = yield context.call_activity("check_flag", request.get("flag", ""))
    return {"target": request.get("target"), "status": "succeeded" if healthy else "failed",
            "reason": "" if healthy else "creating: Azure kept failing after retries: HTTP 500"}


@app.activity_trigger(input_name="flag")
def check_flag(flag: str) -> bool:
    return not (flag and os.path.exists(flag))


@app.activity_trigger(input_name="flag")
def flaky_step(flag: str) -> str:
    if flag and os.path.exists(flag):
        raise RuntimeError(f"ARM kept answering 500 (flag {os.path.basename(flag)} is set)")
    return "ok"


@app.route(route="start/{name}/{instance_id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(req.route_params["name"], req.route_params["instance_id"], payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="alerts", methods=["POST"])
@app.durable_client_input(client_name="client")
async def alerts(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        payload = req.get_json()
        targets = payload["data"]["essentials"]["alertTargetIDs"]
    except (ValueError, KeyError, TypeError):
        body = {"error": "invalid_request", "field": "data.essentials.alertTargetIDs", "message": "missing"}
        return func.HttpResponse(json.dumps(body), status_code=400, mimetype="application/json")
    runs = []
    for target in targets:
        digest = hashlib.sha256(f"{target.lower()}|{payload['data']['essentials'].get('alertId')}".encode())
        instance_id = f"alertcap-{digest.hexdigest()[:24]}"
        if await client.get_status(instance_id):
            runs.append({"instanceId": instance_id, "target": target, "outcome": "duplicate"})
            continue
        await client.start_new("wait_run", instance_id, {"target": target})
        runs.append({"instanceId": instance_id, "target": target, "outcome": "started"})
    body = {"status": "accepted", "runs": runs, "ignored": []}
    return func.HttpResponse(json.dumps(body), status_code=202, mimetype="application/json")
