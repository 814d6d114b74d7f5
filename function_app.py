"""The alertcap function app: only wiring. Each part lives in its own blueprint."""

import azure.durable_functions as df
import azure.functions as func

from activities.blueprint import bp as activities_bp
from activities.ring_blueprint import bp as ring_activities_bp
from http_starter.blueprint import bp as http_bp
from orchestrators.blueprint import bp as orchestrators_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(http_bp)
app.register_functions(orchestrators_bp)
app.register_functions(activities_bp)
app.register_functions(ring_activities_bp)
