"""SendGrid's mail/send validation: what it accepts, and each error it names when it rejects."""

import base64
from typing import Any

import pytest

from fakes.sendgrid.validation import is_sandbox, recipients, validate


def mail(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "personalizations": [{"to": [{"email": "ops@example.com", "name": "Ops"}]}],
        "from": {"email": "alerts@example.com"},
        "subject": "Bot halted",
        "content": [{"type": "text/plain", "value": "halted"}],
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def fields(payload: Any) -> list[str | None]:
    return [error.field for error in validate(payload)]


def test_a_complete_mail_is_valid() -> None:
    assert validate(mail()) == []


def test_what_the_sdk_helper_sends_with_attachments_and_cc_is_valid() -> None:
    payload = mail(
        personalizations=[
            {
                "to": [{"email": "a@example.com"}],
                "cc": [{"email": "b@example.com"}],
                "bcc": [{"email": "c@example.com"}],
            }
        ],
        content=[{"type": "text/plain", "value": "x"}, {"type": "text/html", "value": "<b>x</b>"}],
        attachments=[{"content": base64.b64encode(b"csv").decode(), "filename": "fills.csv"}],
        categories=["alerts"],
    )
    assert validate(payload) == []
    assert recipients(payload) == 3


def test_an_empty_object_names_each_missing_part() -> None:
    assert fields({}) == ["personalizations", "from.email", "subject", "content"]


@pytest.mark.parametrize("body", [[], "mail", 3, None])
def test_a_body_that_is_not_an_object_is_a_bad_request(body: Any) -> None:
    assert [e.message for e in validate(body)] == ["Bad Request"]


def test_every_bad_recipient_is_named_by_position() -> None:
    payload = mail(
        personalizations=[
            {"to": [{"email": "ok@example.com"}, {"email": "not-an-address"}]},
            {"to": [{"email": "x@example.com"}], "cc": [{"name": "no address"}]},
        ]
    )
    assert fields(payload) == ["personalizations.0.to.1.email", "personalizations.1.cc.0.email"]


def test_a_personalization_without_to_is_rejected() -> None:
    assert fields(mail(personalizations=[{"cc": [{"email": "a@example.com"}]}])) == [
        "personalizations.0.to"
    ]


def test_an_address_twice_in_one_personalization_is_rejected() -> None:
    payload = mail(
        personalizations=[{"to": [{"email": "a@example.com"}], "bcc": [{"email": "A@example.com"}]}]
    )
    [error] = validate(payload)
    assert error.field == "personalizations.0"
    assert "[A@example.com] in the personalizations.0.bcc field" in error.message


def test_more_than_a_thousand_recipients_is_rejected() -> None:
    to = [{"email": f"u{i}@example.com"} for i in range(1001)]
    assert fields(mail(personalizations=[{"to": to}])) == ["personalizations"]


def test_a_template_replaces_subject_and_content() -> None:
    assert validate(mail(subject=None, content=None, template_id="d-123")) == []


def test_a_subject_in_every_personalization_replaces_the_top_level_one() -> None:
    payload = mail(
        subject=None, personalizations=[{"to": [{"email": "a@example.com"}], "subject": "s"}]
    )
    assert validate(payload) == []


def test_empty_content_values_and_types_are_named() -> None:
    payload = mail(content=[{"type": "text/plain", "value": ""}, {"value": "x"}])
    assert fields(payload) == ["content.0.value", "content.1.type"]


def test_text_plain_must_come_first() -> None:
    payload = mail(
        content=[{"type": "text/html", "value": "<b>x</b>"}, {"type": "text/plain", "value": "x"}]
    )
    assert fields(payload) == ["content"]


def test_attachments_must_be_base64_and_named() -> None:
    payload = mail(attachments=[{"content": "not base64!"}])
    assert fields(payload) == ["attachments.0.content", "attachments.0.filename"]


def test_errors_carry_sendgrids_help_links() -> None:
    [error] = validate(mail(**{"from": {"email": "nope"}}))
    assert error.as_json() == {
        "message": error.message,
        "field": "from.email",
        "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.from",
    }


def test_sandbox_mode_is_read_from_mail_settings() -> None:
    assert is_sandbox(mail(mail_settings={"sandbox_mode": {"enable": True}}))
    assert not is_sandbox(mail(mail_settings={"sandbox_mode": {"enable": False}}))
    assert not is_sandbox(mail())
