"""The ACS Email emulator through azure-communication-email's EmailClient: both auth modes, validation,
auth failures, faults and the outbox."""

import email
import time
import uuid
from email import policy

import httpx
import pytest
from azure.communication.email import EmailClient
from azure.core.credentials import AccessToken, AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.identity import DefaultAzureCredential

from devstack.common.tokens import TokenIssuer
from devstack.testing import AdminClient, DevstackState

ACS_AUDIENCE = "https://communication.azure.com/"
pytestmark = pytest.mark.usefixtures("azure_env")  # trust the devstack CA, no real Azure credentials


class StaticToken:
    """A TokenCredential that always returns the same token (to send bad tokens through the real SDK)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def message(**overrides: object) -> dict:
    body = {
        "senderAddress": "DoNotReply@alertcap.localhost",
        "recipients": {"to": [{"address": "oncall@alertcap.localhost", "displayName": "On call"}]},
        "content": {"subject": "Capture ready", "plainText": "The capture finished.", "html": "<p>Done</p>"},
    }
    body.update(overrides)
    return body


def hmac_client(state: DevstackState, **kwargs: object) -> EmailClient:
    return EmailClient.from_connection_string(state.acs_connection_string, **kwargs)


def test_send_with_connection_string_reaches_the_outbox(devstack_admin: AdminClient) -> None:
    state = devstack_admin.state
    attachment = {"name": "capture.txt", "contentType": "text/plain", "contentInBase64": "aGVsbG8="}
    started = time.monotonic()
    result = hmac_client(state).begin_send(message(attachments=[attachment])).result()
    assert time.monotonic() - started < 5  # the first status poll already sees Succeeded: no 30 s sleep
    assert result["status"] == "Succeeded"
    (sent,) = devstack_admin.emails()
    assert sent["id"] == result["id"] and sent["auth"] == "hmac"
    assert sent["to"] == [{"address": "oncall@alertcap.localhost", "display_name": "On call"}]
    assert sent["attachments"][0]["size"] == 5
    eml = email.message_from_bytes(devstack_admin.email_eml(sent["id"]), policy=policy.default)
    assert eml["Subject"] == "Capture ready" and "oncall@alertcap.localhost" in eml["To"]
    assert eml.get_body(("plain",)).get_content().strip() == "The capture finished."
    assert [part.get_filename() for part in eml.iter_attachments()] == ["capture.txt"]


def test_send_with_managed_identity_bearer_token(azure_env: DevstackState) -> None:
    with AdminClient(azure_env) as admin:
        client = EmailClient(azure_env.acs_endpoint, DefaultAzureCredential())
        result = client.begin_send(message(), polling_interval=0).result()
        assert result["status"] == "Succeeded"
        (sent,) = admin.emails()
        assert sent["auth"] == "bearer" and sent["principal_id"] == azure_env.principal_id


def test_operation_id_makes_the_send_idempotent(devstack_admin: AdminClient) -> None:
    client = hmac_client(devstack_admin.state)
    op = str(uuid.uuid4())
    first = client.begin_send(message(), operation_id=op, polling_interval=0).result()
    second = client.begin_send(message(), operation_id=op, polling_interval=0).result()
    assert first["id"] == second["id"] == op
    assert len(devstack_admin.emails()) == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (message(content={"plainText": "x"}), "content.subject is required"),
        (message(content={"subject": "s"}), "plainText or html"),
        (message(recipients={"to": []}), "at least one address"),
        (message(recipients={"to": [{"address": "not-an-address"}]}), "recipients.to[0].address"),
        (message(recipients={"to": [{"address": f"u{i}@x.localhost"} for i in range(51)]}), "at most 50"),
        (message(attachments=[{"name": "a", "contentType": "text/csv", "contentInBase64": "!!"}]), "base64"),
        (message(senderAddress=""), "senderAddress is required"),
        (message(colour="red"), "Unknown field 'colour'"),
        (message(headers={"X-Alert": "a\r\nBcc: eve@example.com"}), "'X-Alert' has a line break"),
        (message(headers={"Bad Name": "v"}), "not a valid header name"),
        (message(headers={"Subject": "other"}), "cannot be overridden"),
    ],
)
def test_invalid_messages_get_400_naming_the_problem(
    devstack_admin: AdminClient, body: dict, fragment: str
) -> None:
    with pytest.raises(HttpResponseError) as info:
        hmac_client(devstack_admin.state).begin_send(body, polling_interval=0)
    assert info.value.status_code == 400
    assert fragment in info.value.message
    assert devstack_admin.emails() == []


def test_line_breaks_and_lone_surrogates_are_accepted_and_kept_out_of_the_eml_headers(
    devstack_admin: AdminClient,
) -> None:
    """Alert names end up in subjects: a line break there is the sender's text, not a header of its own."""
    body = message(
        content={"subject": "VM down\r\nBcc: eve@example.com", "plainText": "lone \udc80 surrogate"},
        recipients={"to": [{"address": "oncall@alertcap.localhost", "displayName": "On\ncall"}]},
    )
    result = hmac_client(devstack_admin.state).begin_send(body, polling_interval=0).result()
    assert result["status"] == "Succeeded"
    (sent,) = devstack_admin.emails()
    assert sent["subject"] == "VM down\r\nBcc: eve@example.com"
    eml = email.message_from_bytes(devstack_admin.email_eml(sent["id"]), policy=policy.default)
    assert eml["Bcc"] is None
    assert eml["Subject"] == "VM down Bcc: eve@example.com"
    assert eml["To"].addresses[0].display_name == "On call"


def test_sender_outside_the_linked_domain_is_domain_not_linked(devstack_admin: AdminClient) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        hmac_client(devstack_admin.state).begin_send(message(senderAddress="me@example.com"))
    assert info.value.error.code == "DomainNotLinked"


def test_wrong_access_key_is_401(devstack_state: DevstackState) -> None:
    client = EmailClient(devstack_state.acs_endpoint, AzureKeyCredential("d3Jvbmcta2V5"))
    with pytest.raises(ClientAuthenticationError):
        client.begin_send(message(), polling_interval=0)


@pytest.mark.parametrize("kind", ["malformed", "expired", "wrong_signature", "wrong_audience"])
def test_bad_bearer_tokens_are_401(devstack_admin: AdminClient, kind: str) -> None:
    state = devstack_admin.state
    me, issue = state.principal_id, devstack_admin.issue_token
    token = {
        "malformed": lambda: "abc.def.ghi",
        "expired": lambda: issue(me, ACS_AUDIENCE, lifetime_seconds=-120),
        "wrong_signature": lambda: TokenIssuer(state.tenant_id).issue(me, ACS_AUDIENCE).token,
        "wrong_audience": lambda: issue(me, "https://management.azure.com"),
    }[kind]()
    client = EmailClient(state.acs_endpoint, StaticToken(token))
    with pytest.raises(ClientAuthenticationError) as info:
        client.begin_send(message(), polling_interval=0)
    assert info.value.status_code == 401


def test_missing_authorization_is_401(devstack_state: DevstackState) -> None:
    with httpx.Client(verify=devstack_state.ssl_context()) as http:
        url = f"{devstack_state.acs_endpoint}/emails:send?api-version=2025-09-01"
        response = http.post(url, json=message())
    assert response.status_code == 401 and response.json()["error"]["code"] == "Unauthorized"


def test_identity_without_role_assignment_is_403(devstack_admin: AdminClient) -> None:
    state = devstack_admin.state
    stranger = "22222222-2222-2222-2222-222222222222"
    client = EmailClient(state.acs_endpoint, StaticToken(devstack_admin.issue_token(stranger, ACS_AUDIENCE)))
    with pytest.raises(HttpResponseError) as info:
        client.begin_send(message(), polling_interval=0)
    assert info.value.status_code == 403 and stranger in info.value.message
    subscription = f"/subscriptions/{state.subscription_id}"
    devstack_admin.add_role_assignment(stranger, "Contributor", subscription)
    assert client.begin_send(message(), polling_interval=0).result()["status"] == "Succeeded"


def test_503_with_retry_after_is_retried_by_azure_core(devstack_admin: AdminClient) -> None:
    devstack_admin.add_fault(
        {"service": "acs", "operation": "Emails_Send", "status": 503, "retry_after": 0, "count": 1}
    )
    result = hmac_client(devstack_admin.state).begin_send(message(), polling_interval=0).result()
    assert result["status"] == "Succeeded"
    (fault,) = devstack_admin.faults()
    assert fault["fired"] == 1 and len(devstack_admin.emails()) == 1


def test_429_without_retry_after_on_post_reaches_the_caller(devstack_admin: AdminClient) -> None:
    devstack_admin.add_fault({"service": "acs", "operation": "Emails_Send", "status": 429, "count": 1})
    with pytest.raises(HttpResponseError) as info:
        hmac_client(devstack_admin.state).begin_send(message(), polling_interval=0)
    assert info.value.status_code == 429
    assert devstack_admin.emails() == []


def test_status_poll_of_unknown_operation_is_404(devstack_state: DevstackState) -> None:
    client = hmac_client(devstack_state)
    request_url = f"{devstack_state.acs_endpoint}/emails/operations/{uuid.uuid4()}?api-version=2025-09-01"
    response = client.send_request(HttpRequest("GET", request_url))
    assert response.status_code == 404 and response.json()["error"]["code"] == "NotFound"


def test_injected_failed_outcome_after_running_polls(devstack_admin: AdminClient) -> None:
    devstack_admin.email_outcome("Failed", polls=2, code="EmailDroppedAllRecipientsSuppressed")
    poller = hmac_client(devstack_admin.state).begin_send(message(), polling_interval=0)
    with pytest.raises(HttpResponseError):
        poller.result()
    (sent,) = devstack_admin.emails()
    assert sent["status"] == "Failed" and sent["polls"] == 3
    assert sent["error"]["code"] == "EmailDroppedAllRecipientsSuppressed"
    again = hmac_client(devstack_admin.state).begin_send(message(), polling_interval=0).result()
    assert again["status"] == "Succeeded"  # count=1: only the next send was affected


def test_bad_outcome_spec_is_400(devstack_admin: AdminClient) -> None:
    from devstack.testing import AdminError

    with pytest.raises(AdminError) as info:
        devstack_admin.email_outcome("Exploded")
    assert info.value.response.status_code == 400 and "status must be one of" in info.value.response.text
