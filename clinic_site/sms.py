"""Text messages through a pluggable backend, sent by a background task after commit.

`settings.CLINIC_SMS_BACKEND` names the backend class (a dotted path). The default logs each
message, so development and small clinics need no SMS provider; a real provider is one subclass
of `BaseSMSBackend`. Like e-mail, the task receives only strings, so it runs the same on the
immediate backend and on django-tasks-db's DatabaseBackend.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string
from django_tasks import task

from clinic_site.tasks import enqueue_with_transaction

logger = logging.getLogger(__name__)

DEFAULT_BACKEND = "clinic_site.sms.LoggingSMSBackend"


class BaseSMSBackend:
    """One method to implement: deliver `body` to the phone number `to` (or raise)."""

    def send(self, to: str, body: str) -> None:
        raise NotImplementedError


def _masked(number: str) -> str:
    """Keep phone numbers out of logs but for the last digits, enough to tell messages apart."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return "…" + digits[-3:] if digits else "(none)"


class LoggingSMSBackend(BaseSMSBackend):
    """The default: writes the message to the `clinic_site.sms` logger instead of sending it."""

    def send(self, to: str, body: str) -> None:
        logger.info("SMS to %s: %s", _masked(to), body)


class MemorySMSBackend(BaseSMSBackend):
    """Keeps messages in `MemorySMSBackend.outbox` (a list of (to, body)), like locmem e-mail."""

    outbox: list[tuple[str, str]] = []

    def send(self, to: str, body: str) -> None:
        type(self).outbox.append((to, body))


def get_sms_backend() -> BaseSMSBackend:
    """A fresh instance of the configured backend (read at send time, so tests can swap it)."""
    path = getattr(settings, "CLINIC_SMS_BACKEND", "") or DEFAULT_BACKEND
    return import_string(path)()


@task()
def send_sms_task(to: str, body: str) -> None:
    get_sms_backend().send(to, body)


def send_sms(*, to: str, body: str) -> None:
    """Queue a text message with the current transaction (clinic_site.tasks)."""
    if not to.strip():
        return
    enqueue_with_transaction(send_sms_task, to=to, body=body)
