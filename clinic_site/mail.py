"""Templated e-mail, sent by a background task that is queued with the surrounding transaction.

Templates live in `templates/emails/<name>/`: `subject.txt`, `body.txt` and `body.html`.
The task receives only JSON-friendly values, so it runs the same on the immediate backend
(development, tests) and on django-tasks-db's DatabaseBackend (production).

The task table keeps what it was given, so the template context (verification codes,
password-reset links, names) is stored sealed: encrypted and authenticated with a key derived
from SECRET_KEY (or one of SECRET_KEY_FALLBACKS, so a key rotation does not lose queued mail).

A failure to reach the mail server (CLINIC_EMAIL_TIMEOUT seconds at most) is tried again
later, up to CLINIC_EMAIL_ATTEMPTS times in all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import smtplib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django_tasks import task

from clinic_site.tasks import enqueue_with_transaction, retry_later

logger = logging.getLogger(__name__)


def _fernet() -> MultiFernet:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    keys = [
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"clinic.mail:{s}".encode()).digest()))
        for s in secrets
    ]
    return MultiFernet(keys)


def seal(context: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(context).encode()).decode()


def unseal(sealed: str) -> dict[str, Any]:
    return json.loads(_fernet().decrypt(sealed.encode()))


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    ctx = {"site_url": settings.WAGTAILADMIN_BASE_URL.rstrip("/"), **context}
    subject = " ".join(render_to_string(f"emails/{template}/subject.txt", ctx).split())
    text = render_to_string(f"emails/{template}/body.txt", ctx)
    html = render_to_string(f"emails/{template}/body.html", ctx)
    return subject, text, html


@task()
def send_email_task(
    to: list[str],
    template: str,
    sealed_context: str = "",
    attempt: int = 1,
    context: dict[str, Any] | None = None,
) -> None:
    # `context` in the clear: tasks queued before contexts were sealed, still in the table when
    # this version starts; they are sealed for their retries.
    if context is None:
        try:
            context = unseal(sealed_context)
        except InvalidToken:
            logger.error("An e-mail (%s) could not be opened: the secret key changed.", template)
            raise
    else:
        sealed_context = seal(context)
    subject, text, html = render_email(template, context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (OSError, smtplib.SMTPException):
        # OSError covers refused connections and timeouts; SMTP errors that are the server's
        # answer (a full mailbox, a refused recipient) are worth another try as well.
        if attempt >= settings.CLINIC_EMAIL_ATTEMPTS:
            raise
        logger.warning("E-mail %s (try %s) failed; trying again later.", template, attempt)
        retry_later(
            send_email_task,
            attempt=attempt,
            to=to,
            template=template,
            sealed_context=sealed_context,
        )


def send_templated_email(*, to: list[str], template: str, context: dict[str, Any]) -> None:
    """Queue an e-mail with the current transaction (clinic_site.tasks)."""
    enqueue_with_transaction(
        send_email_task, to=list(to), template=template, sealed_context=seal(context)
    )
