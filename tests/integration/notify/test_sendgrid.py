"""The sendgrid SDK (6.x) against the fake: sends recorded, errors in SendGrid's shape, faults."""

import base64
import json
from pathlib import Path

import httpx
import pytest
from python_http_client.exceptions import (
    BadRequestsError,
    PayloadTooLargeError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
)
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    Category,
    Cc,
    Disposition,
    FileContent,
    FileName,
    FileType,
    Mail,
    MailSettings,
    SandBoxMode,
)

from tests.integration.notify.support import API_KEY, Fake, fake_process


def client(fake: Fake, api_key: str = API_KEY) -> SendGridAPIClient:
    return SendGridAPIClient(api_key=api_key, host=fake.url)


def alert(to: str | list[str] = "ops@example.com") -> Mail:
    return Mail(
        from_email="alerts@spy-hybrid.example",
        to_emails=to,
        subject="Bot halted",
        plain_text_content="Kill switch engaged at 14:02",
        html_content="<p>Kill switch engaged at 14:02</p>",
    )


def errors(error: Exception) -> list[dict[str, str | None]]:
    body: list[dict[str, str | None]] = json.loads(error.body)["errors"]  # type: ignore[attr-defined]
    return body


def test_a_sent_alert_is_accepted_and_recorded(sendgrid: Fake) -> None:
    response = client(sendgrid).send(alert())
    assert response.status_code == 202
    assert response.body == b""
    [message] = sendgrid.messages()
    assert message["message_id"] == response.headers["X-Message-Id"]
    assert message["payload"]["subject"] == "Bot halted"
    assert message["payload"]["personalizations"][0]["to"] == [{"email": "ops@example.com"}]


def test_what_the_mail_helpers_build_arrives_unchanged(sendgrid: Fake) -> None:
    mail = alert()
    mail.add_cc(Cc("risk@example.com"))
    mail.category = Category("alerts")
    mail.attachment = Attachment(
        FileContent(base64.b64encode(b"time,fill\n14:02,1\n").decode()),
        FileName("fills.csv"),
        FileType("text/csv"),
        Disposition("attachment"),
    )
    assert client(sendgrid).send(mail).status_code == 202
    assert [m["payload"] for m in sendgrid.messages()] == [mail.get()]


def test_a_wrong_key_is_unauthorized_and_nothing_is_sent(sendgrid: Fake) -> None:
    with pytest.raises(UnauthorizedError) as raised:
        client(sendgrid, "SG.revoked").send(alert())
    assert errors(raised.value) == [
        {
            "message": "The provided authorization grant is invalid, expired, or revoked",
            "field": None,
            "help": None,
        }
    ]
    assert sendgrid.messages() == []


def test_an_invalid_payload_is_rejected_with_every_problem_named(sendgrid: Fake) -> None:
    payload = {
        "personalizations": [{"to": [{"email": "not-an-address"}]}],
        "from": {"email": "alerts@spy-hybrid.example"},
        "content": [{"type": "text/plain", "value": "x"}],
    }
    with pytest.raises(BadRequestsError) as raised:
        client(sendgrid).client.mail.send.post(request_body=payload)
    assert [e["field"] for e in errors(raised.value)] == [
        "personalizations.0.to.0.email",
        "subject",
    ]
    assert sendgrid.messages() == []


def test_sandbox_mode_validates_without_queueing(sendgrid: Fake) -> None:
    mail = alert()
    mail.mail_settings = MailSettings(sandbox_mode=SandBoxMode(True))
    response = client(sendgrid).send(mail)
    assert response.status_code == 200
    assert "X-Message-Id" not in response.headers
    assert sendgrid.messages() == []


@pytest.mark.parametrize(
    ("content_type", "body", "status", "message"),
    [
        ("application/json", b'{"personalizations": [', 400, "Bad Request"),
        ("text/plain", b"{}", 415, "Content-Type should be application/json."),
        (
            "application/json",
            b'{"x": "' + b"a" * (30 * 1024 * 1024) + b'"}',
            413,
            "The JSON payload you have included in your request is too large.",
        ),
    ],
    ids=["malformed-json", "wrong-content-type", "oversize"],
)
def test_bad_input_gets_sendgrids_answer_and_others_are_still_served(
    sendgrid: Fake, content_type: str, body: bytes, status: int, message: str
) -> None:
    response = httpx.post(
        f"{sendgrid.url}/v3/mail/send",
        content=body,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": content_type},
        timeout=30,
    )
    assert response.status_code == status
    assert response.json() == {"errors": [{"message": message, "field": None, "help": None}]}
    assert client(sendgrid).send(alert()).status_code == 202


def test_an_oversize_mail_reaches_the_sdk_as_payload_too_large(sendgrid: Fake) -> None:
    mail = alert()
    mail.attachment = Attachment(
        FileContent(base64.b64encode(bytes(23 * 1024 * 1024)).decode()),
        FileName("chain.bin"),
        FileType("application/octet-stream"),
    )
    with pytest.raises(PayloadTooLargeError):
        client(sendgrid).send(mail)


def test_injected_failures_reach_the_sdk_then_sending_resumes(sendgrid: Fake) -> None:
    sendgrid.admin("POST", "/faults/reject", json={"status": 503, "count": 2})
    for _ in range(2):
        with pytest.raises(ServiceUnavailableError):
            client(sendgrid).send(alert())
    assert client(sendgrid).send(alert()).status_code == 202
    assert len(sendgrid.messages()) == 1


def test_a_rate_limited_send_carries_sendgrids_headers(sendgrid: Fake) -> None:
    sendgrid.admin("POST", "/faults/reject", json={"status": 429, "retry_after": 30})
    with pytest.raises(TooManyRequestsError) as raised:
        client(sendgrid).send(alert())
    headers = raised.value.headers
    assert headers["X-RateLimit-Remaining"] == "0"
    assert int(headers["X-RateLimit-Reset"]) > 0
    assert errors(raised.value)[0]["message"] == "too many requests"


def test_added_latency_holds_each_request(sendgrid: Fake) -> None:
    sendgrid.admin("POST", "/faults/latency", json={"ms": 5000})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{sendgrid.url}/v3/mail/send", json={}, timeout=0.5)
    sendgrid.admin("DELETE", "/faults")
    assert client(sendgrid).send(alert()).status_code == 202


def test_the_daily_quota_is_answered_as_sendgrid_does(tmp_path: Path) -> None:
    with fake_process("sendgrid", tmp_path, "--api-key", API_KEY, "--daily-quota", "3") as fake:
        assert client(fake).send(alert(["a@example.com", "b@example.com"])).status_code == 202
        with pytest.raises(UnauthorizedError) as raised:
            client(fake).send(alert(["c@example.com", "d@example.com"]))
        assert errors(raised.value)[0]["message"] == "Maximum credits exceeded"
        assert client(fake).send(alert("c@example.com")).status_code == 202
        assert len(fake.messages()) == 2
