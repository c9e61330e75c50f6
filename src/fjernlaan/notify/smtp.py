"""Sends queued e-mails over SMTP."""

from __future__ import annotations

import smtplib
from typing import Any

from fjernlaan.notify.mail import to_message
from fjernlaan.settings import Settings


def send_email(settings: Settings, payload: dict[str, Any]) -> None:
    """Deliver one outbox payload to the SMTP server; any failure raises so the worker retries."""
    message = to_message(payload, settings.smtp_sender)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as client:
        if settings.smtp_starttls:
            client.starttls()
        if settings.smtp_username:
            client.login(settings.smtp_username, settings.smtp_password or "")
        client.send_message(message)
