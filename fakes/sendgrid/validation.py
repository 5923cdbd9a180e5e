"""Validates a v3 /mail/send payload as SendGrid does: every problem found, each naming its field.

Messages and help links follow SendGrid's published Mail Send error list.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#"
# SendGrid's own check is this loose: something@something.tld, no spaces.
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_EMAIL_EXAMPLE = (
    'e.g. {"email" : "example@example.com"}  or '
    '{"email" : "example@example.com", "name" : "Example Recipient"}.'
)


@dataclass(frozen=True)
class FieldError:
    message: str
    field: str | None = None
    help: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {"message": self.message, "field": self.field, "help": self.help}


def validate(payload: Any) -> list[FieldError]:
    """Every validation error in the payload; empty when SendGrid would accept it."""
    if not isinstance(payload, dict):
        return [FieldError("Bad Request")]
    return list(_errors(payload))


def recipients(payload: dict[str, Any]) -> int:
    """How many addresses a valid payload sends to: what SendGrid counts against the credits."""
    return sum(
        len(p.get(kind) or []) for p in payload["personalizations"] for kind in ("to", "cc", "bcc")
    )


def is_sandbox(payload: dict[str, Any]) -> bool:
    sandbox = (payload.get("mail_settings") or {}).get("sandbox_mode") or {}
    return sandbox.get("enable") is True


def _is_email(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("email"), str)
        and bool(_EMAIL.match(value["email"]))
    )


def _errors(payload: dict[str, Any]) -> Iterator[FieldError]:
    yield from _personalization_errors(payload.get("personalizations"))
    if not _is_email(payload.get("from")):
        yield FieldError(
            "The from object must be provided for every email send. It is an object that requires "
            f"the email parameter, but may also contain a name parameter.  {_EMAIL_EXAMPLE}",
            "from.email",
            _HELP + "message.from",
        )
    if "reply_to" in payload and not _is_email(payload["reply_to"]):
        yield FieldError(
            "The reply_to email does not contain a valid address.",
            "reply_to",
            _HELP + "message.reply_to",
        )
    has_template = isinstance(payload.get("template_id"), str) and bool(payload["template_id"])
    yield from _subject_errors(payload, has_template)
    yield from _content_errors(payload.get("content"), has_template)
    yield from _attachment_errors(payload.get("attachments"))


def _personalization_errors(personalizations: Any) -> Iterator[FieldError]:
    if not isinstance(personalizations, list) or not personalizations:
        yield FieldError(
            "The personalizations field is required and must have at least one personalization.",
            "personalizations",
            _HELP + "-Personalizations-Errors",
        )
        return
    if len(personalizations) > MAX_PERSONALIZATIONS:
        yield FieldError(
            f"The personalization block is limited to {MAX_PERSONALIZATIONS} personalizations per "
            f"API request. You have provided {len(personalizations)} personalizations. Please "
            "consider splitting this into multiple requests and resending your request.",
            "personalizations",
            _HELP + "message.personalizations",
        )
    total = 0
    for i, personalization in enumerate(personalizations):
        field = f"personalizations.{i}"
        if not isinstance(personalization, dict) or not personalization.get("to"):
            yield FieldError(
                "The to parameter is required for all personalization objects.",
                f"{field}.to",
                _HELP + "message.personalizations.to",
            )
            continue
        seen: set[str] = set()
        for kind in ("to", "cc", "bcc"):
            addresses = personalization.get(kind) or []
            if not isinstance(addresses, list):
                yield FieldError(
                    f"The {kind} parameter must be an array of email objects.",
                    f"{field}.{kind}",
                    _HELP + f"message.personalizations.{kind}",
                )
                continue
            total += len(addresses)
            for j, address in enumerate(addresses):
                if not _is_email(address):
                    yield FieldError(
                        "Does not contain a valid address.",
                        f"{field}.{kind}.{j}.email",
                        _HELP + "-Email-Address",
                    )
                    continue
                email = address["email"].lower()
                if email in seen:
                    yield FieldError(
                        "Each email address in the personalization block should be unique "
                        "between to, cc, and bcc. We found the first duplicate instance of "
                        f"[{address['email']}] in the {field}.{kind} field.",
                        field,
                        _HELP + "message.recipient.duplicates",
                    )
                seen.add(email)
    if total > MAX_RECIPIENTS:
        yield FieldError(
            f"There is a limit of {MAX_RECIPIENTS} total recipients (to + cc + bcc) per request.",
            "personalizations",
            _HELP + "message.personalizations",
        )


def _subject_errors(payload: dict[str, Any], has_template: bool) -> Iterator[FieldError]:
    personalizations = payload.get("personalizations")
    every_personalization_has_one = isinstance(personalizations, list) and all(
        isinstance(p, dict) and isinstance(p.get("subject"), str) and p["subject"]
        for p in personalizations
    )
    subject = payload.get("subject")
    if subject is not None and not isinstance(subject, str):
        yield FieldError("The subject must be a string.", "subject", _HELP + "message.subject")
    elif not (subject or has_template or every_personalization_has_one):
        yield FieldError(
            "The subject is required. You can get around this requirement if you use a template "
            "with a subject defined or if every personalization has a subject defined.",
            "subject",
            _HELP + "message.subject",
        )


def _content_errors(content: Any, has_template: bool) -> Iterator[FieldError]:
    if content is None and has_template:
        return
    if not isinstance(content, list) or not content:
        yield FieldError(
            "Unless a valid template_id is provided, the content parameter is required. There "
            "must be at least one defined content block. We typically suggest both text/plain "
            "and text/html blocks are included, but only one block is required.",
            "content",
            _HELP + "message.content",
        )
        return
    types: list[str] = []
    for i, block in enumerate(content):
        block = block if isinstance(block, dict) else {}
        if not isinstance(block.get("type"), str) or not block["type"]:
            yield FieldError(
                "The content type must be a string at least one character in length.",
                f"content.{i}.type",
                _HELP + "message.content.type",
            )
        else:
            types.append(block["type"])
        if not isinstance(block.get("value"), str) or not block["value"]:
            yield FieldError(
                "The content value must be a string at least one character in length.",
                f"content.{i}.value",
                _HELP + "message.content.value",
            )
    if "text/plain" in types and types[0] != "text/plain":
        yield FieldError(
            "If present, text/plain content must be first, followed by text/html, followed by "
            "any other content.",
            "content",
            _HELP + "message.content",
        )


def _attachment_errors(attachments: Any) -> Iterator[FieldError]:
    if attachments is None:
        return
    for i, attachment in enumerate(attachments if isinstance(attachments, list) else [None]):
        attachment = attachment if isinstance(attachment, dict) else {}
        content = attachment.get("content")
        try:
            valid = isinstance(content, str) and bool(base64.b64decode(content, validate=True))
        except binascii.Error:
            valid = False
        if not valid:
            yield FieldError(
                "The attachment content must be base64 encoded.",
                f"attachments.{i}.content",
                _HELP + "message.attachments.content",
            )
        if not isinstance(attachment.get("filename"), str) or not attachment["filename"]:
            yield FieldError(
                "The attachment filename parameter is required.",
                f"attachments.{i}.filename",
                _HELP + "message.attachments.filename",
            )
