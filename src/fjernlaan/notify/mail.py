"""E-mails from templates: subject and body in Danish or English, optional attachments (e.g. .ics)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from fjernlaan.errors import DomainError

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("da", "en")
_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    undefined=StrictUndefined,  # a missing value is a bug to see, not a blank in a patron's mail
    autoescape=False,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a mail."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    """A rendered e-mail, ready to queue."""

    to: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    def to_payload(self) -> dict[str, Any]:
        """The outbox payload (JSON-safe)."""
        return {
            "to": list(self.to),
            "subject": self.subject,
            "body": self.body,
            "attachments": [
                {
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "data": base64.b64encode(a.data).decode("ascii"),
                }
                for a in self.attachments
            ],
        }


def render(
    template: str,
    lang: str,
    context: dict[str, Any],
    to: list[str] | tuple[str, ...],
    attachments: tuple[Attachment, ...] = (),
) -> Mail:
    """Render `templates/{template}.{lang}.txt`: its first line is `Subject: …`, the rest the body."""
    if lang not in LANGUAGES:
        lang = "da"
    if not to:
        raise DomainError("an e-mail needs at least one recipient", field="to")
    try:
        text = _env.get_template(f"{template}.{lang}.txt").render(**context)
    except TemplateNotFound as exc:
        raise DomainError(f"no e-mail template {template!r} in {lang}", field="template") from exc
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise DomainError(f"template {template}.{lang}.txt must start with 'Subject: '", field="template")
    return Mail(
        to=tuple(to),
        subject=first.removeprefix("Subject: ").strip(),
        body=body.lstrip("\n"),
        attachments=attachments,
    )


def to_message(payload: dict[str, Any], sender: str) -> EmailMessage:
    """The MIME message of an outbox payload (UTF-8 throughout, so æøå survive)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(payload["to"])
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "fjernlaan.local")
    message.set_content(payload["body"], charset="utf-8")
    for attachment in payload.get("attachments", []):
        maintype, _, subtype = attachment["content_type"].partition("/")
        params = {}
        if attachment["content_type"].startswith("text/calendar"):
            subtype = "calendar"
            params = {"method": "REQUEST"}
        message.add_attachment(
            base64.b64decode(attachment["data"]),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
            params=params,
        )
    return message
