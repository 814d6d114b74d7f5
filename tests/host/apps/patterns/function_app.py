"""Test fixture app for the devstack durable host: one orchestrator per pattern the host must support."""

import asyncio
import datetime as dt
import json
import os
import threading
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
from shared_code.my_classes import Point

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
bp = df.Blueprint()
GREETING = os.environ["PATTERNS_GREETING"]  # from local.settings.json: proves Values reach the environment


# --- HTTP starters ---------------------------------------------------------------------------------------
@bp.route(route="start/{name}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    payload = req.get_json() if req.get_body() else None
    try:
        instance_id = await client.start_new(req.route_params["name"], req.params.get("instance_id"), payload)
    except Exception as exc:  # the starter reports the host's refusal to its caller
        return func.HttpResponse(
            json.dumps({"error": str(exc)}), status_code=409, mimetype="application/json"
        )
    return client.create_check_status_response(req, instance_id)


@bp.route(route="points", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def start_point(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_json()
    instance_id = await client.start_new("scale_point_orchestrator", None, Point(body["x"], body["y"]))
    return client.create_check_status_response(req, instance_id)


@bp.route(route="status/{instance_id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    found = await client.get_status(req.route_params["instance_id"])
    if not found:
        return func.HttpResponse(
            json.dumps({"error": "not found"}), status_code=404, mimetype="application/json"
        )
    return func.HttpResponse(json.dumps(found.to_json()), mimetype="application/json")


@bp.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin ok")


@bp.route(route="items/{id:int}/{*rest}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def items(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(
            {"id": req.route_params["id"], "rest": req.route_params.get("rest"), "q": req.params.get("q")}
        ),
        mimetype="application/json",
    )


# --- orchestrators ---------------------------------------------------------------------------------------
@bp.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    results = []
    for city in cities:
        results.append((yield context.call_activity(say_hello, city)))
    return results


@bp.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    squares = yield context.task_all([context.call_activity("square", i) for i in range(count)])
    return {"count": len(squares), "sum": sum(squares)}


@bp.orchestration_trigger(context_name="context")
def monitor(context: df.DurableOrchestrationContext):
    settings = context.get_input()
    seen = []
    while len(seen) < settings["polls"]:
        now = context.current_utc_datetime
        seen.append(now.isoformat())
        context.set_custom_status({"phase": "polling", "polls": len(seen)})
        yield context.create_timer(now + dt.timedelta(milliseconds=settings["interval_ms"]))
    seen.append(context.current_utc_datetime.isoformat())
    return seen


@bp.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    timeout_ms = context.get_input()
    timer = context.create_timer(context.current_utc_datetime + dt.timedelta(milliseconds=timeout_ms))
    event = context.wait_for_external_event("Approval")
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        return {"outcome": "approved", "by": event.result}
    return {"outcome": "timed out"}


@bp.orchestration_trigger(context_name="context")
def listener(context: df.DurableOrchestrationContext):
    """Timed waits collecting "extra" events; a pending waiter is re-yielded in the next wait."""
    settings = context.get_input()
    waiter, seen, squares = None, [], []
    for step in range(settings["waits"]):
        due = context.current_utc_datetime + dt.timedelta(milliseconds=settings["wait_ms"])
        context.set_custom_status({"step": step, "seen": len(seen)})
        while True:
            timer = context.create_timer(due)
            if waiter is None:
                waiter = context.wait_for_external_event("extra")
            winner = yield context.task_any([timer, waiter])
            if winner is timer:
                break
            seen.append(waiter.result)
            waiter = None
            context.set_custom_status({"step": step, "seen": len(seen)})
        squares.append((yield context.call_activity("square", step)))
    return {"seen": seen, "squares": squares}


@bp.orchestration_trigger(context_name="context")
def reyield_race(context: df.DurableOrchestrationContext):
    """A waiter re-yielded against a new timer: the second task_any's action lists only the timer."""
    waiter = context.wait_for_external_event("go")
    first = context.create_timer(context.current_utc_datetime + dt.timedelta(milliseconds=300))
    winner = yield context.task_any([first, waiter])
    if winner is not first:
        raise RuntimeError("'go' was raised before the first wait ended")
    context.set_custom_status("second wait")
    second = context.create_timer(context.current_utc_datetime + dt.timedelta(seconds=60))
    yield context.task_any([second, waiter])
    second.cancel()
    result = yield context.call_activity("square", 5)
    return {"go": waiter.result, "square": result}


@bp.orchestration_trigger(context_name="context")
def retry_flaky(context: df.DurableOrchestrationContext):
    job = context.get_input()
    options = df.RetryOptions(
        first_retry_interval_in_milliseconds=job.get("interval_ms", 100),
        max_number_of_attempts=job["attempts"],
    )
    try:
        attempts = yield context.call_activity_with_retry("flaky", options, job)
        return {"succeeded_on_attempt": attempts}
    except Exception as exc:
        return {"gave_up": str(exc).split("\n")[0]}


@bp.orchestration_trigger(context_name="context")
def parallel_retries(context: df.DurableOrchestrationContext):
    jobs = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=4)
    results = yield context.task_all(
        [context.call_activity_with_retry("flaky", options, job) for job in jobs]
    )
    after = yield context.call_activity("square", 7)
    return {"attempts": results, "after": after}


@bp.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    name = context.get_input()
    greeting = yield context.call_sub_orchestrator("child", name)
    fixed = yield context.call_sub_orchestrator("child", "Fixed", f"{context.instance_id}-fixed-child")
    try:
        yield context.call_sub_orchestrator("child_fail", name)
        caught = None
    except Exception as exc:
        caught = str(exc).split("\n")[0]
    return {"greeting": greeting, "fixed": fixed, "caught": caught}


@bp.orchestration_trigger(context_name="context")
def parent_retry(context: df.DurableOrchestrationContext):
    job = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    attempts = yield context.call_sub_orchestrator_with_retry("flaky_child", options, job)
    return {"child_succeeded_on_attempt": attempts}


@bp.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    attempts = yield context.call_activity("flaky", context.get_input())
    return attempts


@bp.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("say_hello", context.get_input())
    return f"{result} (child of {context.parent_instance_id})"


@bp.orchestration_trigger(context_name="context")
def child_fail(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", context.get_input())
    raise ValueError(f"child refuses {context.get_input()}")


@bp.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    state = context.get_input()
    if state["n"] < state["until"]:
        value = yield context.call_activity("square", state["n"])
        context.continue_as_new({"n": state["n"] + 1, "until": state["until"], "acc": state["acc"] + [value]})
        return None
    return {"acc": state["acc"], "execution_of_n": state["n"]}


@bp.orchestration_trigger(context_name="context")
def staged(context: df.DurableOrchestrationContext):
    context.set_custom_status({"phase": "waiting", "step": 1})
    go = yield context.wait_for_external_event("go")
    context.set_custom_status({"phase": "done", "step": 2})
    return {"go": go}


@bp.orchestration_trigger(context_name="context")
def long_wait(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting for 'never'")
    value = yield context.wait_for_external_event("never")
    return value


@bp.orchestration_trigger(context_name="context")
def fragile(context: df.DurableOrchestrationContext):
    flag = context.get_input()
    first = yield context.call_activity("square", 3)
    second = yield context.call_activity("fragile_step", flag)
    return {"first": first, "second": second}


@bp.orchestration_trigger(context_name="context")
def versioned(context: df.DurableOrchestrationContext):
    child_version = yield context.call_sub_orchestrator("versioned_child", None)
    return {"version": context.version, "child": child_version, "input": context.get_input()}


@bp.orchestration_trigger(context_name="context")
def versioned_child(context: df.DurableOrchestrationContext):
    return context.version


@bp.orchestration_trigger(context_name="context")
def fragile_parent(context: df.DurableOrchestrationContext):
    result = yield context.call_sub_orchestrator("fragile", context.get_input())
    return {"child": result}


@bp.orchestration_trigger(context_name="context")
def tolerant_parent(context: df.DurableOrchestrationContext):
    try:
        child = yield context.call_sub_orchestrator(
            "fragile", context.get_input(), f"{context.instance_id}-c"
        )
    except Exception:
        child = "failed"
    go = yield context.wait_for_external_event("go")
    return {"child": child, "go": go}


@bp.orchestration_trigger(context_name="context")
def loose_types(context: df.DurableOrchestrationContext):
    """A number where the SDK expects a string id or name: Azure's JSON binding reads it as text."""
    yield context.call_sub_orchestrator("child", "Num", context.get_input())
    yield context.call_activity(404)  # no such activity: the instance fails, naming it
    return "unreachable"


@bp.route(route="where", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def where(req: func.HttpRequest) -> func.HttpResponse:
    here = {"loop": id(asyncio.get_running_loop()), "thread": threading.get_ident()}
    return func.HttpResponse(json.dumps(here), mimetype="application/json")


@bp.orchestration_trigger(context_name="context")
def where_orchestrator(context: df.DurableOrchestrationContext):
    activity_loop = yield context.call_activity("loop_of_activity", None)
    return {"activity_loop": activity_loop, "orchestrator_thread": threading.get_ident()}


@bp.orchestration_trigger(context_name="context")
def scale_point_orchestrator(context: df.DurableOrchestrationContext):
    point = context.get_input()
    scaled = yield context.call_activity("scale_point", point)
    return {"type": type(scaled).__name__, "x": scaled.x, "y": scaled.y, "input_type": type(point).__name__}


@bp.orchestration_trigger(context_name="context")
def point_output(context: df.DurableOrchestrationContext):
    point = yield context.call_activity("scale_point", Point(1, 2))
    return point  # custom classes are not valid orchestrator output: the instance fails, as in Azure


NONDETERMINISM_CALLS: dict[str, int] = {}


@bp.orchestration_trigger(context_name="context")
def nondeterministic(context: df.DurableOrchestrationContext):
    NONDETERMINISM_CALLS[context.instance_id] = NONDETERMINISM_CALLS.get(context.instance_id, 0) + 1
    first_replay = NONDETERMINISM_CALLS[context.instance_id] == 1
    yield context.call_activity("say_hello" if first_replay else "square", 2)
    return "unreachable"


# --- v1-style orchestrators: a plain function calling an Orchestrator.create handle, registered as a generic
# orchestrationTrigger. The host cannot watch the SDK's numbering inside such a function, so it numbers the
# tasks with its own simulation over the returned actions (simulation.plan_episode).
def _retries_then_timer_race(context: df.DurableOrchestrationContext):
    jobs = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=4)
    attempts = yield context.task_all(
        [context.call_activity_with_retry("flaky", options, job) for job in jobs]
    )
    timer = context.create_timer(context.current_utc_datetime + dt.timedelta(milliseconds=100))
    winner = yield context.task_any([context.wait_for_external_event("never"), timer])
    after = yield context.call_activity("square", 7)
    return {"attempts": attempts, "timer_won": winner == timer, "after": after}


def _nondeterministic_v1(context: df.DurableOrchestrationContext):
    NONDETERMINISM_CALLS[context.instance_id] = NONDETERMINISM_CALLS.get(context.instance_id, 0) + 1
    first_replay = NONDETERMINISM_CALLS[context.instance_id] == 1
    yield context.call_activity("say_hello" if first_replay else "square", 2)
    return "unreachable"


_V1_HANDLES = {
    "v1_retries_race": df.Orchestrator.create(_retries_then_timer_race),
    "v1_nondeterministic": df.Orchestrator.create(_nondeterministic_v1),
}


def _v1_episode(name: str, context: func.OrchestrationContext) -> str:
    # the worker hands a generic orchestrationTrigger its converter's value, never a bare string
    if not isinstance(context, func.OrchestrationContext):
        raise TypeError(f"expected func.OrchestrationContext, got {type(context).__name__}")
    return _V1_HANDLES[name](context)


@bp.function_name("v1_retries_race")
@bp.generic_trigger(arg_name="context", type="orchestrationTrigger")
def v1_retries_race(context: func.OrchestrationContext) -> str:
    return _v1_episode("v1_retries_race", context)


@bp.function_name("v1_nondeterministic")
@bp.generic_trigger(arg_name="context", type="orchestrationTrigger")
def v1_nondeterministic(context: func.OrchestrationContext) -> str:
    return _v1_episode("v1_nondeterministic", context)


# --- activities ------------------------------------------------------------------------------------------
@bp.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"{GREETING} {city}!"


@bp.activity_trigger(input_name="ignored")
async def loop_of_activity(ignored: None) -> int:
    return id(asyncio.get_running_loop())


@bp.activity_trigger(input_name="value")
async def square(value: int) -> int:
    return value * value


@bp.activity_trigger(input_name="job")
def flaky(job: dict) -> int:
    """Fails job['fail_times'] times per job['key'] (attempts counted in a file under job['dir'])."""
    counter_file = Path(job["dir"]) / f"{job['key']}.attempts"
    attempts = int(counter_file.read_text()) + 1 if counter_file.exists() else 1
    counter_file.write_text(str(attempts))
    if attempts <= job["fail_times"]:
        raise RuntimeError(f"flaky {job['key']} attempt {attempts} failed")
    return attempts


@bp.activity_trigger(input_name="flag")
def fragile_step(flag: str) -> str:
    if Path(flag).exists():
        raise RuntimeError(f"blocked by {flag}")
    return "recovered"


@bp.activity_trigger(input_name="point")
def scale_point(point: Point) -> Point:
    assert isinstance(point, Point), type(point)
    return Point(point.x * 10, point.y * 10)


app.register_functions(bp)
