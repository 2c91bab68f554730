"""Templated e-mail, sent by a background task after the surrounding transaction commits.

Templates live in `templates/emails/<name>/`: `subject.txt`, `body.txt` and `body.html`.
The task receives only JSON-friendly values, so it runs the same on the immediate backend
(development, tests) and on django-tasks-db's DatabaseBackend (production).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django_tasks import task


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    ctx = {"site_url": settings.WAGTAILADMIN_BASE_URL.rstrip("/"), **context}
    subject = " ".join(render_to_string(f"emails/{template}/subject.txt", ctx).split())
    text = render_to_string(f"emails/{template}/body.txt", ctx)
    html = render_to_string(f"emails/{template}/body.html", ctx)
    return subject, text, html


@task()
def send_email_task(to: list[str], template: str, context: dict[str, Any]) -> None:
    subject, text, html = render_email(template, context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    message.attach_alternative(html, "text/html")
    message.send()


def send_templated_email(*, to: list[str], template: str, context: dict[str, Any]) -> None:
    """Queue an e-mail once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        lambda: send_email_task.enqueue(to=list(to), template=template, context=context)
    )
