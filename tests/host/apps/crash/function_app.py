"""Test fixture app for the crash test: a 5 s durable timer and a slow activity with a side effect."""

import datetime as dt
import time
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="runs", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("crash_run", None, req.get_json())
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def crash_run(context: df.DurableOrchestrationContext):
    job = context.get_input()
    timer = context.create_timer(context.current_utc_datetime + dt.timedelta(seconds=5))
    work = context.call_activity("side_effect", job)
    yield context.task_all([timer, work])
    after = yield context.call_activity("side_effect", {**job, "seconds": 0, "mark": "after"})
    return {"work": work.result, "after": after}


@app.activity_trigger(input_name="job")
def side_effect(job: dict) -> str:
    """Appends a line per run to job['path'], then works job['seconds'] (in flight when the host dies)."""
    mark = job.get("mark", "work")
    with Path(job["path"]).open("a") as log:
        log.write(f"{mark}\n")
    time.sleep(job["seconds"])
    return f"{mark} done"
