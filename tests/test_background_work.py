"""Background work that cannot be lost or leak: notices queued inside the booking's own
transaction, e-mail contexts sealed in the task table, failed e-mail tried again later, and a
bounded wait on a silent mail server."""

from __future__ import annotations

import datetime as dt
import json
from unittest import mock

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from booking.models import Appointment
from clinic_site import mail as clinic_mail
from clinic_site.accounts import services as account_services
from clinic_site.accounts.roles import Role
from clinic_site.sms import MemorySMSBackend
from tests.factories import at, book, bookable_doctor, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2030, 1, 7)
TOMORROW = TODAY + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "06:00"), tick=False)
    return time_machine


@pytest.fixture
def database_tasks(settings):
    """Production's task backend: tasks are rows, run here as `db_worker` would."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def sms(settings, monkeypatch):
    settings.CLINIC_SMS_BACKEND = "clinic_site.sms.MemorySMSBackend"
    monkeypatch.setattr(MemorySMSBackend, "outbox", [])
    return MemorySMSBackend.outbox


def ours():
    """The project's tasks (Wagtail queues search and reference-index updates as well)."""
    return DBTaskResult.objects.filter(
        task_path__regex=r"^(clinic_site|booking|records|doctors|dashboard)\."
    )


def run_ready() -> list[str]:
    """Run every task that is due, as the worker does (its `ready()` rows); their paths."""
    paths = []
    for row in ours().ready().order_by("enqueued_at", "id"):
        paths.append(row.task_path)
        try:
            row.task.call(*row.task_result.args, **row.task_result.kwargs)
        except Exception as exc:
            row.set_failed(exc)
        else:
            row.set_successful(None)
    return paths


# --- Queued with the transaction --------------------------------------------------------------


def test_the_booking_notice_is_a_task_row_of_the_booking_transaction(database_tasks):
    _, visit_type = bookable_doctor()
    patient = make_user(Role.PATIENT)

    # No on-commit callback runs in this test (the test's transaction never commits): the row is
    # there because it was written inside the booking's transaction, as a worker killed right
    # after the commit would find it.
    appointment = book(visit_type, at(TOMORROW, "09:40"), patient=patient)

    (row,) = ours()
    assert row.task_path == "booking.notifications.send_appointment_notice"
    assert row.args_kwargs["kwargs"]["reference"] == appointment.reference


def test_a_rolled_back_booking_leaves_no_task(database_tasks):
    _, visit_type = bookable_doctor()
    patient = make_user(Role.PATIENT)

    with pytest.raises(RuntimeError), transaction.atomic():
        book(visit_type, at(TOMORROW, "09:40"), patient=patient)
        raise RuntimeError("the request failed after booking")

    assert not Appointment.objects.exists()
    assert not ours().exists()


def test_on_the_immediate_backend_nothing_is_sent_before_the_commit(
    django_capture_on_commit_callbacks,
):
    _, visit_type = bookable_doctor()
    patient = make_user(Role.PATIENT)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        book(visit_type, at(TOMORROW, "09:40"), patient=patient)
        assert mail.outbox == []

    assert len(callbacks) == 1


# --- Sealed contexts --------------------------------------------------------------------------


def test_a_verification_code_is_not_readable_in_the_task_table(database_tasks):
    user = make_user(Role.PATIENT, email="new@example.test", email_verified_at=None)

    account_services.email_verification_send(user=user)

    (row,) = ours()
    stored = json.dumps(row.args_kwargs)
    run_ready()
    (message,) = mail.outbox
    code = next(word for word in message.body.split() if word.isdigit() and len(word) == 6)
    assert code not in stored
    assert user.get_short_name() not in stored
    assert "sealed_context" in row.args_kwargs["kwargs"]


def test_a_password_reset_link_is_not_readable_in_the_task_table(client, database_tasks):
    make_user(Role.PATIENT, email="pat@example.test")

    client.post("/accounts/password-reset/", {"email": "pat@example.test"})

    (row,) = ours()
    run_ready()
    (message,) = mail.outbox
    link = next(w for w in message.body.split() if "/accounts/password-reset/" in w)
    assert link.rsplit("/", 2)[-2] not in json.dumps(row.args_kwargs)  # the token


def test_a_sealed_context_opens_with_a_fallback_key_after_rotation(settings):
    sealed = clinic_mail.seal({"code": "123456"})
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "y" * 50

    assert clinic_mail.unseal(sealed) == {"code": "123456"}


def test_a_tampered_sealed_context_is_refused(settings):
    from cryptography.fernet import InvalidToken

    sealed = clinic_mail.seal({"code": "123456"})
    with pytest.raises(InvalidToken):
        clinic_mail.unseal(sealed[:-4] + "AAAA")


# --- Retries ----------------------------------------------------------------------------------


def failing_send(times: int, exc=ConnectionRefusedError):
    """EmailMultiAlternatives.send that fails `times` times, then delivers."""
    real = EmailMultiAlternatives.send
    calls = {"n": 0}

    def send(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= times:
            raise exc("the mail server is not answering")
        return real(self, *args, **kwargs)

    return mock.patch.object(EmailMultiAlternatives, "send", send), calls


def test_a_failed_email_is_tried_again_later_then_delivered(database_tasks, clock):
    user = make_user(Role.PATIENT, email="new@example.test", email_verified_at=None)
    patch, calls = failing_send(1)
    with patch:
        account_services.email_verification_send(user=user)
        assert run_ready() == ["clinic_site.mail.send_email_task"]
        assert mail.outbox == []
        retry = ours().get(status="READY")
        assert retry.args_kwargs["kwargs"]["attempt"] == 2
        assert retry.run_after == at(TODAY, "06:01")
        assert run_ready() == []  # not due yet

        clock.shift(dt.timedelta(minutes=1, seconds=1))
        assert run_ready() == ["clinic_site.mail.send_email_task"]

    assert calls["n"] == 2
    assert [m.to for m in mail.outbox] == [["new@example.test"]]


def test_an_email_stops_after_the_last_attempt(database_tasks, clock, settings):
    settings.CLINIC_EMAIL_ATTEMPTS = 3
    user = make_user(Role.PATIENT, email="new@example.test", email_verified_at=None)
    patch, calls = failing_send(99, TimeoutError)
    with patch:
        account_services.email_verification_send(user=user)
        for _ in range(5):
            run_ready()
            clock.shift(dt.timedelta(hours=2))

    assert calls["n"] == 3
    assert ours().filter(status="FAILED").count() == 1
    assert not ours().filter(status="READY").exists()
    assert mail.outbox == []


def test_an_appointment_notice_is_retried_without_sending_its_text_again(
    database_tasks, clock, sms
):
    _, visit_type = bookable_doctor()
    patient = make_user(Role.PATIENT, phone="+44 7700 900123")
    appointment = book(
        visit_type, at(TOMORROW, "09:40"), patient=patient, actor=make_user(Role.RECEPTIONIST)
    )
    patch, calls = failing_send(1)
    with patch:
        run_ready()  # the notice: the text message is queued, the e-mail fails
        run_ready()  # the text message
        clock.shift(dt.timedelta(minutes=2))
        run_ready()  # the notice again: e-mail only

    assert calls["n"] == 2
    assert len(mail.outbox) == 1
    assert appointment.reference in mail.outbox[0].body
    assert len(sms) == 1


def test_email_waits_at_most_ten_seconds_for_the_server(settings):
    from django.core.mail import get_connection

    assert settings.EMAIL_TIMEOUT == 10
    connection = get_connection("django.core.mail.backends.smtp.EmailBackend")
    assert connection.timeout == 10


def test_an_email_queued_before_contexts_were_sealed_is_still_sent(database_tasks, clock):
    # A task row an earlier version left in the table: its context in the clear.
    clinic_mail.send_email_task.enqueue(
        to=["old@example.test"],
        template="account_activated",
        context={"name": "Olive"},
    )
    patch, calls = failing_send(1)
    with patch:
        assert run_ready() == ["clinic_site.mail.send_email_task"]
        retry = ours().get(status="READY")
        assert "context" not in retry.args_kwargs["kwargs"]  # the retry is sealed
        clock.shift(dt.timedelta(minutes=2))
        run_ready()

    assert calls["n"] == 2
    (message,) = mail.outbox
    assert message.to == ["old@example.test"] and "Olive" in message.body
