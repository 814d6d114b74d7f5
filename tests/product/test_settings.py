"""Settings from app settings: safe defaults, every knob parsed, bad values name the setting."""

from __future__ import annotations

import pytest

from core.errors import ConfigurationError
from core.settings import Settings

SUB = "00000000-0000-0000-0000-000000000001"
STORAGE = f"/subscriptions/{SUB}/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/caps"
VM = f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-1"
REQUIRED = {"ACS_ENDPOINT": "https://acs.example", "EMAIL_SENDER": "noreply@example.com",
            "EMAIL_RECIPIENTS": "a@example.com; b@example.com,c@example.com",
            "CAPTURE_STORAGE_ACCOUNT_ID": STORAGE}


def test_settings_defaults_are_safe() -> None:
    s = Settings.from_mapping(REQUIRED)
    assert s.arm_endpoint == "https://management.azure.com" and s.arm_audience == "https://management.azure.com"
    assert s.email_recipients == ("a@example.com", "b@example.com", "c@example.com")
    assert s.alert_cooldown_seconds == 900 and s.agent_auto_install is False and s.allowed_scopes == ()
    assert s.capture_time_limit_seconds <= 18000 and s.capture_total_bytes == 1073741824


def test_settings_parse_every_knob() -> None:
    env = dict(REQUIRED, ARM_ENDPOINT="https://127.0.0.1:8443/", CAPTURE_TIME_LIMIT_SECONDS="30",
               CAPTURE_FILTERS='[{"protocol": "TCP", "localPort": 80}]', AGENT_AUTO_INSTALL="true",
               ALLOWED_SCOPES=f"/subscriptions/{SUB}/resourceGroups/App-RG",
               ARM_POLLING_INTERVAL_SECONDS="0.2")
    s = Settings.from_mapping(env)
    assert s.arm_endpoint == "https://127.0.0.1:8443" and s.capture_time_limit_seconds == 30
    assert s.capture_filters == ({"protocol": "TCP", "localPort": "80"},)
    assert s.agent_auto_install is True and s.allowed_scopes == ((SUB, "app-rg"),)
    assert s.capture_config()["filters"] == [{"protocol": "TCP", "localPort": "80"}]


@pytest.mark.parametrize(("name", "value"), [
    ("ACS_ENDPOINT", ""), ("EMAIL_RECIPIENTS", "not-an-address"), ("CAPTURE_STORAGE_ACCOUNT_ID", VM),
    ("CAPTURE_TIME_LIMIT_SECONDS", "18001"), ("CAPTURE_TIME_LIMIT_SECONDS", "five"),
    ("CAPTURE_FILTERS", '{"protocol": "TCP"}'), ("CAPTURE_FILTERS", '[{"protocol": "ICMP"}]'),
    ("ARM_ENDPOINT", "http://management.azure.com"), ("AGENT_AUTO_INSTALL", "maybe"),
    ("CLEANUP_RETENTION_SECONDS", "0"), ("CLEANUP_RETENTION_SECONDS", "3899"),  # default run: 3900 s
    ("ALLOWED_SCOPES", "/subscriptions/x"),
])
def test_bad_settings_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_mapping(dict(REQUIRED, **{name: value}))
    assert info.value.setting == name


@pytest.mark.parametrize(("name", "value", "message"), [
    ("REGION_CAPTURE_LIMIT", "many", "must be an integer, got 'many'"),
    ("REGION_CAPTURE_LIMIT", "0", "must be between 1 and 10000"),
    ("ARM_POLLING_INTERVAL_SECONDS", "soon", "must be a number, got 'soon'"),
    ("ARM_POLLING_INTERVAL_SECONDS", "61", "must be between 0 and 60"),
])
def test_numeric_settings_say_what_they_expected(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_mapping(dict(REQUIRED, **{name: value}))


def test_numeric_settings_keep_their_type() -> None:
    env = dict(REQUIRED, REGION_CAPTURE_LIMIT="7", ARM_POLLING_INTERVAL_SECONDS="0.5")
    settings = Settings.from_mapping(env)
    assert settings.region_capture_limit == 7 and isinstance(settings.region_capture_limit, int)
    assert settings.arm_polling_interval_seconds == 0.5
