import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client) -> func.HttpResponse:
    payload = req.get_json() if req.get_body() else None
    instance_id = await client.start_new(req.route_params["functionName"], None, payload)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    results = []
    for city in cities:
        results.append((yield context.call_activity("say_hello", city)))
    return results


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"
