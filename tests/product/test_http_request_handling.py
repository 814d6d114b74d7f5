"""POST /api/alerts request handling without a backend: size limit, JSON, misconfiguration."""

from __future__ import annotations

import json

import azure.functions as func
import product_payloads as p
import pytest

from core.alerts import ParsedAlert
from core.errors import ConfigurationError
from core.settings import Settings
from http_starter.handler import MAX_BODY_BYTES, handle_alert, read_alert


def request(body: bytes | object, headers: dict[str, str] | None = None) -> func.HttpRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(method="POST", url="http://localhost/api/alerts", headers=headers or {},
                            params={}, route_params={}, body=raw)


def test_body_over_256_kb_is_413() -> None:
    answer = read_alert(request(b"{" + b" " * MAX_BODY_BYTES + b"}"))
    assert isinstance(answer, func.HttpResponse) and answer.status_code == 413
    assert json.loads(answer.get_body())["limit_bytes"] == MAX_BODY_BYTES


def test_declared_content_length_over_the_limit_is_413_before_reading() -> None:
    answer = read_alert(request(b"{}", {"Content-Length": str(MAX_BODY_BYTES + 1)}))
    assert isinstance(answer, func.HttpResponse) and answer.status_code == 413


@pytest.mark.parametrize("raw", [b"{nope", b"\xff\xfe", b"", b"[" * 100000,
                                 b'{"schemaId": ' + b"1" * 5000 + b"}"])  # int over Python's digit limit
def test_undecodable_bodies_are_400_naming_the_body(raw: bytes) -> None:
    answer = read_alert(request(raw))
    assert isinstance(answer, func.HttpResponse) and answer.status_code == 400
    assert json.loads(answer.get_body())["field"] == "$"


def test_valid_body_parses() -> None:
    assert isinstance(read_alert(request(p.common_metric_static())), ParsedAlert)


async def test_misconfigured_app_answers_500_naming_the_setting_without_secrets() -> None:
    def broken() -> None:
        raise ConfigurationError("EMAIL_RECIPIENTS", "is required")

    answer = await handle_alert(request(p.common_metric_static()), client=None, settings_loader=broken)
    assert answer.status_code == 500
    assert json.loads(answer.get_body()) == {"error": "misconfigured", "setting": "EMAIL_RECIPIENTS"}


async def test_service_health_alert_on_a_subscription_is_ignored_with_200() -> None:
    body = p.with_essentials(p.common_activity_log(), alertTargetIDs=[f"/subscriptions/{p.SUB}"],
                             signalType="ActivityLog", monitoringService="ServiceHealth")
    settings = Settings.from_mapping({
        "ACS_ENDPOINT": "https://acs.example", "EMAIL_SENDER": "a@example.com",
        "EMAIL_RECIPIENTS": "b@example.com",
        "CAPTURE_STORAGE_ACCOUNT_ID": f"/subscriptions/{p.SUB}/resourceGroups/d/providers/Microsoft.Storage/"
                                      "storageAccounts/caps"})
    answer = await handle_alert(request(body), client=None, settings_loader=lambda: settings)
    assert answer.status_code == 200
    document = json.loads(answer.get_body())
    assert document["status"] == "ignored" and "subscription" in document["ignored"][0]["reason"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_literals_are_400(literal: str) -> None:
    """Issue 9 defect 5: ``NaN`` in an alert was accepted (the severity became "nan")."""
    body = json.dumps(p.common_metric_static()).replace('"Sev3"', literal, 1).encode()
    assert literal.encode() in body
    answer = read_alert(request(body))
    assert isinstance(answer, func.HttpResponse) and answer.status_code == 400
    problem = json.loads(answer.get_body())
    assert problem["error"] == "invalid_json" and literal in problem["message"]
