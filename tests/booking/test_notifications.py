"""Appointment notifications: which service sends which e-mail (and SMS), what they say, the
calendar file they carry, that nothing leaves before the transaction commits, and reminders.

Everything goes through the services with a fixed clock; the wall clock is pinned to the same
moment (time-machine) because the task reads it for DTSTAMP and for a reminder's last check.
The clinic is in UTC unless a test says otherwise; the doctor works 09:00-13:00 with 30-minute
visits, so a day's grid is 09:00, 09:40, 10:20, 11:00, 11:40, 12:20.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone
from icalendar import Calendar

from booking import services
from booking.exceptions import SlotUnavailable
from booking.models import Appointment, HoldKind, Status
from booking.notifications import reminders_send_due
from clinic_site.accounts.roles import Role
from clinic_site.models import ClinicPolicies
from clinic_site.sms import LoggingSMSBackend, MemorySMSBackend, get_sms_backend
from home.models import ClinicDetails
from tests.factories import VisitTypeFactory, at, book, bookable_doctor, make_user

pytestmark = pytest.mark.django_db

TODAY = date(2027, 3, 1)  # a Monday: bookings are made on this day...
DAY = date(2027, 3, 2)  # ...for this one, a Tuesday
NEXT_DAY = date(2027, 3, 3)
CLINICAL = "Chest pain since Sunday"  # the patient's reason: never in a message


# --- Set-up -----------------------------------------------------------------------------------


def booked_at() -> datetime:
    return at(TODAY, "08:00")


@pytest.fixture(autouse=True)
def _clinic_in_utc(settings):
    settings.TIME_ZONE = "UTC"


@pytest.fixture(autouse=True)
def _wall_clock():
    with time_machine.travel(datetime(2027, 3, 1, 8, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def sms(settings, monkeypatch) -> list[tuple[str, str]]:
    """Text messages land in a list, like e-mail in `mail.outbox`."""
    settings.CLINIC_SMS_BACKEND = "clinic_site.sms.MemorySMSBackend"
    monkeypatch.setattr(MemorySMSBackend, "outbox", [])
    return MemorySMSBackend.outbox


@pytest.fixture(autouse=True)
def clinic() -> ClinicDetails:
    details = ClinicDetails.load()
    details.name = "Riverside Clinic"
    details.address = "12 River Street\nLondon SE1 7PB"
    details.phone = "+44 20 7946 0999"
    details.email = "hello@riverside.test"
    details.save()
    return details


def set_policies(**values) -> None:
    row = ClinicPolicies.load()
    for name, value in values.items():
        setattr(row, name, value)
    row.save()


@pytest.fixture
def doctor_and_visit():
    return bookable_doctor(name="Dr Siobhán O'Neill")


@pytest.fixture
def doctor(doctor_and_visit):
    return doctor_and_visit[0]


@pytest.fixture
def visit(doctor_and_visit):
    return doctor_and_visit[1]


@pytest.fixture
def patient():
    return make_user(Role.PATIENT, full_name="Ada Lovelace", phone="+44 7700 900123")


@pytest.fixture
def receptionist():
    return make_user(Role.RECEPTIONIST)


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run a service and its on-commit callbacks (as a real commit would); return its result."""

    def _sent(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return _sent


def requested(sent, visit, patient, hhmm="09:40", day=DAY) -> Appointment:
    return sent(book, visit, at(day, hhmm), patient=patient, now=booked_at(), reason=CLINICAL)


def confirmed(sent, visit, patient, receptionist, hhmm="09:40", day=DAY) -> Appointment:
    """Booked by the front desk on the patient's behalf: straight to CONFIRMED."""
    return sent(book, visit, at(day, hhmm), patient=patient, actor=receptionist, now=booked_at())


def act(sent, appointment, actor, action, *, reason="", now=None):
    return sent(
        services.appointment_act,
        appointment=appointment,
        actor=actor,
        action=action,
        reason=reason,
        now=now or booked_at() + timedelta(minutes=30),
    )


def move(sent, appointment, actor, new_start, *, now=None):
    return sent(
        services.appointment_reschedule,
        appointment=appointment,
        actor=actor,
        new_start=new_start,
        now=now or booked_at() + timedelta(hours=1),
    )


def calendar_of(message) -> Calendar:
    (attachment,) = [a for a in message.attachments if a[0].endswith(".ics")]
    _name, content, mimetype = attachment
    assert mimetype == "text/calendar"
    return Calendar.from_ical(content)


def event_of(message):
    (event,) = calendar_of(message).walk("VEVENT")
    return event


def html_of(message) -> str:
    (html,) = [content for content, mimetype in message.alternatives if mimetype == "text/html"]
    return html


def everything_said(message) -> str:
    parts = [message.subject, message.body, html_of(message)]
    parts += [a[1] if isinstance(a[1], str) else a[1].decode() for a in message.attachments]
    return "\n".join(parts)


# --- Each kind: recipient, subject, body ------------------------------------------------------


def test_a_request_sends_booking_received_to_the_patient_without_calendar_or_sms(
    sent, visit, patient, sms
):
    appointment = requested(sent, visit, patient)

    assert appointment.status == Status.REQUESTED
    (message,) = mail.outbox
    assert message.to == [patient.email]
    assert message.subject == "Appointment request received: Tuesday 2 March 2027 at 09:40"
    for body in (message.body, html_of(message)):
        assert appointment.reference in body
        assert "Tuesday 2 March 2027" in body
        assert "09:40–10:10 (UTC)" in body
        assert f"/portal/appointments/{appointment.reference}/" in body
        assert "Riverside Clinic" in body
        assert "12 River Street" in body
    assert "Dr Siobhán O'Neill" in message.body  # plain text is not HTML-escaped
    assert "Dr Siobhán O&#x27;Neill" in html_of(message)
    assert message.attachments == []
    assert sms == []


def test_a_front_desk_booking_is_confirmed_with_a_calendar_file_and_an_sms(
    sent, visit, patient, receptionist, sms
):
    appointment = confirmed(sent, visit, patient, receptionist)

    (message,) = mail.outbox
    assert message.to == [patient.email]
    assert message.subject == "Appointment confirmed: Tuesday 2 March 2027 at 09:40"
    assert "is confirmed" in message.body
    assert appointment.reference in message.body
    event = event_of(message)
    assert str(event["UID"]) == f"{appointment.reference}@testserver"
    assert sms == [
        (
            "+44 7700 900123",
            "Riverside Clinic: your appointment with Dr Siobhán O'Neill on Tue 2 Mar at 09:40 "
            f"is confirmed. Ref {appointment.reference}.",
        )
    ]


def test_confirming_a_request_sends_the_confirmation(sent, visit, patient, receptionist, sms):
    appointment = requested(sent, visit, patient)
    mail.outbox.clear()

    act(sent, appointment, receptionist, "confirm")

    (message,) = mail.outbox
    assert (message.to, message.subject) == (
        [patient.email],
        "Appointment confirmed: Tuesday 2 March 2027 at 09:40",
    )
    assert event_of(message)["SUMMARY"] == "Consultation with Dr Siobhán O'Neill – Riverside Clinic"
    assert [to for to, _ in sms] == [patient.phone]


def test_an_accepted_hold_that_becomes_confirmed_sends_the_confirmation(sent, visit, patient, sms):
    set_policies(confirmation_required=False)
    hold = sent(
        services.hold_create,
        patient=patient,
        visit_type=visit,
        start=at(DAY, "11:00"),
        kind=HoldKind.WAITLIST_OFFER,
        actor=patient,
        now=booked_at(),
    )
    assert mail.outbox == []  # a hold is not an appointment yet

    appointment = sent(
        services.hold_accept, hold=hold, actor=patient, now=booked_at() + timedelta(minutes=5)
    )

    assert appointment.status == Status.CONFIRMED
    (message,) = mail.outbox
    assert message.subject == "Appointment confirmed: Tuesday 2 March 2027 at 11:00"
    assert event_of(message)["UID"] == f"{appointment.reference}@testserver"
    assert len(sms) == 1


def test_an_accepted_hold_that_needs_confirmation_sends_booking_received(sent, visit, patient):
    hold = sent(
        services.hold_create,
        patient=patient,
        visit_type=visit,
        start=at(DAY, "11:00"),
        kind=HoldKind.WAITLIST_OFFER,
        actor=patient,
        now=booked_at(),
    )
    sent(services.hold_accept, hold=hold, actor=patient, now=booked_at() + timedelta(minutes=5))

    (message,) = mail.outbox
    assert message.subject.startswith("Appointment request received")


def test_a_decline_sends_the_reason_and_no_calendar_or_sms(sent, visit, patient, receptionist, sms):
    appointment = requested(sent, visit, patient)
    mail.outbox.clear()

    act(sent, appointment, receptionist, "decline", reason="The doctor is away that morning.")

    (message,) = mail.outbox
    assert message.to == [patient.email]
    assert (
        message.subject == "We could not accept your appointment request for Tuesday 2 March 2027"
    )
    assert "The doctor is away that morning." in message.body
    assert "The doctor is away that morning." in html_of(message)
    assert appointment.reference in message.body
    assert message.attachments == []
    assert sms == []


def test_a_clinic_cancellation_gives_the_reason_a_cancel_calendar_file_and_an_sms(
    sent, visit, patient, receptionist, sms
):
    appointment = confirmed(sent, visit, patient, receptionist)
    mail.outbox.clear()
    sms.clear()

    act(sent, appointment, receptionist, "cancel", reason="The clinic is closed for repairs.")

    (message,) = mail.outbox
    assert message.subject == "Appointment cancelled: Tuesday 2 March 2027 at 09:40"
    assert "the clinic has had to cancel" in message.body
    assert "The clinic is closed for repairs." in message.body
    calendar = calendar_of(message)
    assert calendar["METHOD"] == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert event["UID"] == f"{appointment.reference}@testserver"
    assert event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 1  # supersedes the confirmation's SEQUENCE:0
    assert sms == [
        (
            patient.phone,
            "Riverside Clinic: your appointment with Dr Siobhán O'Neill on Tue 2 Mar at 09:40 "
            f"has been cancelled. Ref {appointment.reference}.",
        )
    ]


def test_a_patient_cancellation_is_acknowledged_without_repeating_their_reason(
    sent, visit, patient, sms
):
    appointment = requested(sent, visit, patient)
    mail.outbox.clear()

    act(sent, appointment, patient, "cancel", reason="My symptoms have cleared up.")

    (message,) = mail.outbox
    assert message.to == [patient.email]
    assert message.subject.startswith("Appointment cancelled")
    assert "As you asked" in message.body
    assert "symptoms" not in everything_said(message)
    assert message.attachments == []  # it never was in their calendar
    assert [to for to, _ in sms] == [patient.phone]


def test_a_cancelled_hold_sends_nothing(sent, visit, patient, sms):
    hold = sent(
        services.hold_create,
        patient=patient,
        visit_type=visit,
        start=at(DAY, "11:00"),
        kind=HoldKind.PAYMENT,
        actor=patient,
        now=booked_at(),
    )
    act(sent, hold, patient, "cancel")
    assert (mail.outbox, sms) == ([], [])


def test_check_in_no_show_and_the_like_send_nothing(sent, visit, patient, receptionist, sms):
    appointment = confirmed(sent, visit, patient, receptionist)
    mail.outbox.clear()
    sms.clear()
    act(sent, appointment, receptionist, "check_in", now=at(DAY, "09:30"))
    assert (mail.outbox, sms) == ([], [])


def test_a_staff_reschedule_gives_old_and_new_time_and_an_updated_calendar_entry(
    sent, visit, patient, receptionist, sms
):
    appointment = confirmed(sent, visit, patient, receptionist)
    first = event_of(mail.outbox[0])
    mail.outbox.clear()
    sms.clear()

    appointment = move(sent, appointment, receptionist, at(NEXT_DAY, "11:00"))

    (message,) = mail.outbox
    assert message.to == [patient.email]
    assert message.subject == "Appointment moved to Wednesday 3 March 2027 at 11:00"
    for body in (message.body, html_of(message)):
        assert "Tuesday 2 March 2027" in body and "09:40" in body  # the old time
        assert "Wednesday 3 March 2027" in body and "11:00" in body  # the new time
        assert "The new time is confirmed" in body
    event = event_of(message)
    assert event["UID"] == first["UID"]
    assert (first["SEQUENCE"], event["SEQUENCE"]) == (0, 1)
    assert event.decoded("DTSTART") == appointment.start == at(NEXT_DAY, "11:00")
    assert sms == []  # SMS only for confirmed, cancelled and reminder

    mail.outbox.clear()
    move(sent, appointment, receptionist, at(NEXT_DAY, "12:20"))
    assert event_of(mail.outbox[0])["SEQUENCE"] == 2


def test_a_patient_reschedule_back_to_requested_has_no_calendar_file(
    sent, visit, patient, receptionist
):
    appointment = confirmed(sent, visit, patient, receptionist)
    mail.outbox.clear()

    appointment = move(sent, appointment, patient, at(NEXT_DAY, "11:00"))

    assert appointment.status == Status.REQUESTED
    (message,) = mail.outbox
    assert "will review the new time" in message.body
    assert message.attachments == []


# --- The calendar file ------------------------------------------------------------------------


def test_the_calendar_file_is_valid_and_matches_the_appointment(sent, visit, patient, receptionist):
    appointment = confirmed(sent, visit, patient, receptionist)

    calendar = calendar_of(mail.outbox[0])
    assert calendar["VERSION"] == "2.0"
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["PRODID"]
    (event,) = calendar.walk("VEVENT")
    assert event["UID"] == f"{appointment.reference}@testserver"
    assert event.decoded("DTSTART") == appointment.start
    assert event.decoded("DTEND") == appointment.end
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event["SEQUENCE"] == 0
    assert event["SUMMARY"] == "Consultation with Dr Siobhán O'Neill – Riverside Clinic"
    assert event["LOCATION"] == "Riverside Clinic, 12 River Street, London SE1 7PB"
    assert appointment.reference in event["DESCRIPTION"]
    assert event["URL"] == f"http://testserver/portal/appointments/{appointment.reference}/"
    assert event.decoded("DTSTAMP") == booked_at()


def test_times_are_local_in_the_messages_and_utc_in_the_calendar(
    settings, sent, visit, patient, receptionist, sms
):
    """Summer time in London: 09:40 BST is 08:40 UTC. The request that queued the e-mail may
    have another zone active (Wagtail's admin activates the user's): the clinic's still wins."""
    settings.TIME_ZONE = "Europe/London"
    summer = date(2027, 6, 15)
    with (
        time_machine.travel(datetime(2027, 6, 14, 7, 0, tzinfo=UTC), tick=False),
        timezone.override("Asia/Tokyo"),
    ):
        appointment = sent(
            book,
            visit,
            at(summer, "09:40"),
            patient=patient,
            actor=receptionist,
            now=at(date(2027, 6, 14), "08:00"),
        )

    (message,) = mail.outbox
    assert message.subject == "Appointment confirmed: Tuesday 15 June 2027 at 09:40"
    assert "09:40–10:10 (BST)" in message.body
    assert event_of(message).decoded("DTSTART") == datetime(2027, 6, 15, 8, 40, tzinfo=UTC)
    assert event_of(message).decoded("DTSTART") == appointment.start
    assert "Tue 15 Jun at 09:40" in sms[0][1]


# --- Visit modes and what is never said -------------------------------------------------------


def test_a_video_visit_gives_its_meeting_link(sent, doctor, patient, receptionist):
    video = VisitTypeFactory(doctor=doctor, mode="video", name="Video consultation")
    appointment = confirmed(sent, video, patient, receptionist)

    (message,) = mail.outbox
    link = services.meeting_url(appointment)
    assert link and link in message.body and link in html_of(message)
    assert event_of(message)["LOCATION"] == link
    assert "Where:" not in message.body


def test_a_telephone_visit_says_which_number_we_will_call(sent, doctor, patient, receptionist):
    phone = VisitTypeFactory(doctor=doctor, mode="telephone", name="Telephone consultation")
    confirmed(sent, phone, patient, receptionist)

    (message,) = mail.outbox
    assert "we will call you on +44 7700 900123" in message.body
    assert "We will call you on +44 7700 900123" in html_of(message)
    assert event_of(message)["LOCATION"] == "Telephone call"


def test_no_message_carries_clinical_content(sent, visit, patient, receptionist, sms):
    appointment = requested(sent, visit, patient)
    act(sent, appointment, receptionist, "confirm")
    move(sent, appointment, receptionist, at(NEXT_DAY, "11:00"))
    sent(reminders_send_due, now=at(NEXT_DAY, "08:00"))

    subjects = [m.subject for m in mail.outbox]
    assert [s.split(" ")[1] for s in subjects] == ["request", "confirmed:", "moved", "your"]
    for message in mail.outbox:
        assert "Chest pain" not in everything_said(message)
    assert sms and all("Chest pain" not in body for _, body in sms)


# --- Only after commit ------------------------------------------------------------------------


def test_nothing_is_sent_before_the_transaction_commits(
    django_capture_on_commit_callbacks, visit, patient, receptionist, sms
):
    with django_capture_on_commit_callbacks() as callbacks:
        book(visit, at(DAY, "09:40"), patient=patient, actor=receptionist, now=booked_at())
        assert mail.outbox == []

    assert (mail.outbox, sms) == ([], [])
    assert len(callbacks) == 1

    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    assert len(mail.outbox) == 1
    assert len(sms) == 1


def test_a_rolled_back_booking_sends_nothing(
    django_capture_on_commit_callbacks, visit, patient, receptionist, sms
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        book(visit, at(DAY, "09:40"), patient=patient, actor=receptionist, now=booked_at())
        raise RuntimeError("the caller's transaction fails after the booking")

    assert callbacks == []
    assert (mail.outbox, sms) == ([], [])
    assert not Appointment.objects.exists()


def test_a_refused_booking_sends_nothing(
    sent, django_capture_on_commit_callbacks, visit, patient, receptionist
):
    requested(sent, visit, patient)
    mail.outbox.clear()
    other = make_user(Role.PATIENT)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(SlotUnavailable),
    ):
        book(visit, at(DAY, "09:40"), patient=other, now=booked_at())

    assert callbacks == []
    assert mail.outbox == []


def test_the_task_gets_only_json_friendly_arguments(
    django_capture_on_commit_callbacks, monkeypatch, visit, patient, receptionist
):
    from booking import notifications

    queued = []
    fake_task = SimpleNamespace(
        enqueue=lambda **kwargs: queued.append(kwargs),
        get_backend=notifications.send_appointment_notice.get_backend,
    )
    monkeypatch.setattr(notifications, "send_appointment_notice", fake_task)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(
            visit, at(DAY, "09:40"), patient=patient, actor=receptionist, now=booked_at()
        )
        services.appointment_reschedule(
            appointment=appointment,
            actor=receptionist,
            new_start=at(DAY, "11:00"),
            now=booked_at(),
        )

    assert queued == [
        {
            "reference": appointment.reference,
            "kind": "confirmed",
            "old_start": None,
            "by_clinic": False,
        },
        {
            "reference": appointment.reference,
            "kind": "rescheduled",
            "old_start": "2027-03-02T09:40:00+00:00",
            "by_clinic": False,
        },
    ]
    assert json.loads(json.dumps(queued)) == queued


def test_on_the_database_backend_the_booking_queues_a_task_a_worker_can_run(
    settings, django_capture_on_commit_callbacks, visit, patient, receptionist, sms
):
    """Production's backend stores the task with its JSON arguments; running it as `db_worker`
    does sends the e-mail and queues the SMS as a task of its own."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    def run_queued() -> list[str]:
        paths = []
        with django_capture_on_commit_callbacks(execute=True):
            for row in DBTaskResult.objects.filter(status="READY").order_by("enqueued_at"):
                paths.append(row.task_path)
                row.task.call(*row.task_result.args, **row.task_result.kwargs)
                row.set_successful(None)
        return paths

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(
            visit, at(DAY, "09:40"), patient=patient, actor=receptionist, now=booked_at()
        )
    (row,) = DBTaskResult.objects.all()
    assert row.args_kwargs["kwargs"]["reference"] == appointment.reference
    assert (mail.outbox, sms) == ([], [])

    assert run_queued() == ["booking.notifications.send_appointment_notice"]
    assert len(mail.outbox) == 1
    assert run_queued() == ["clinic_site.sms.send_sms_task"]
    assert [to for to, _ in sms] == [patient.phone]


# --- Reminders --------------------------------------------------------------------------------


def reminders(sent, now):
    return sent(reminders_send_due, now=now)


def test_a_due_reminder_is_sent_once_with_a_calendar_file_and_an_sms(
    sent, visit, patient, receptionist, sms, _wall_clock
):
    appointment = confirmed(sent, visit, patient, receptionist)  # Tuesday 09:40
    mail.outbox.clear()
    sms.clear()
    now = at(TODAY, "09:40")  # exactly 24 hours before
    _wall_clock.move_to(now)

    assert reminders(sent, now) == [appointment.reference]

    (message,) = mail.outbox
    assert message.to == [patient.email]
    assert message.subject == "Reminder: your appointment on Tuesday 2 March 2027 at 09:40"
    assert appointment.reference in message.body and "Dr Siobhán O'Neill" in message.body
    assert event_of(message).decoded("DTSTART") == appointment.start
    (text,) = sms
    assert text[0] == patient.phone
    assert text[1].startswith("Riverside Clinic reminder: Dr Siobhán O'Neill, Tue 2 Mar at 09:40")
    assert Appointment.objects.get(pk=appointment.pk).reminder_sent_at == now

    assert reminders(sent, now + timedelta(minutes=10)) == []
    assert len(mail.outbox) == 1 and len(sms) == 1


def test_reminders_skip_visits_not_yet_due_and_those_not_confirmed(
    sent, visit, patient, receptionist
):
    due = confirmed(sent, visit, patient, receptionist, "09:00")
    later = confirmed(sent, visit, make_user(Role.PATIENT), receptionist, "11:00", NEXT_DAY)
    waiting = requested(sent, visit, make_user(Role.PATIENT), "10:20")
    gone = confirmed(sent, visit, make_user(Role.PATIENT), receptionist, "11:00")
    act(sent, gone, receptionist, "cancel", reason="The doctor is ill.")
    mail.outbox.clear()

    assert reminders(sent, at(TODAY, "12:00")) == [due.reference]

    assert [m.to for m in mail.outbox] == [[patient.email]]
    for appointment in (later, waiting, gone):
        assert Appointment.objects.get(pk=appointment.pk).reminder_sent_at is None


def test_a_rescheduled_appointment_gets_a_new_reminder(
    sent, visit, patient, receptionist, _wall_clock
):
    appointment = confirmed(sent, visit, patient, receptionist)
    reminders(sent, at(TODAY, "10:00"))
    appointment = move(
        sent, appointment, receptionist, at(NEXT_DAY, "11:00"), now=at(TODAY, "10:30")
    )
    assert Appointment.objects.get(pk=appointment.pk).reminder_sent_at is None
    mail.outbox.clear()

    assert reminders(sent, at(TODAY, "12:00")) == []  # the new time is not due yet
    _wall_clock.move_to(at(DAY, "11:30"))
    assert reminders(sent, at(DAY, "11:30")) == [appointment.reference]

    (message,) = mail.outbox
    assert message.subject == "Reminder: your appointment on Wednesday 3 March 2027 at 11:00"
    assert event_of(message)["SEQUENCE"] == 1


def test_a_reminder_claimed_before_a_cancellation_is_not_sent(
    django_capture_on_commit_callbacks, sent, visit, patient, receptionist
):
    """The worker may run later than the claim: a visit cancelled meanwhile gets no reminder."""
    appointment = confirmed(sent, visit, patient, receptionist)
    with django_capture_on_commit_callbacks() as queued:
        reminders_send_due(now=at(TODAY, "10:00"))
    act(sent, appointment, receptionist, "cancel", reason="Ill.", now=at(TODAY, "10:05"))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()

    assert mail.outbox == []


def test_the_send_reminders_command_queues_the_due_ones(
    sent, visit, patient, receptionist, capsys, _wall_clock
):
    confirmed(sent, visit, patient, receptionist)
    _wall_clock.move_to(at(TODAY, "10:00"))
    mail.outbox.clear()

    call_command("send_reminders")  # pytest-django runs on-commit callbacks only when asked
    assert "Queued 1 reminder(s)." in capsys.readouterr().out
    call_command("send_reminders")
    assert "Queued 0 reminder(s)." in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_reminder_runs_send_each_reminder_once(visit, receptionist):
    """Two runs at the same moment: the second waits for the first's row locks, then finds the
    reminders claimed — each due visit is reminded exactly once between them."""
    for hhmm in ("09:00", "09:40", "10:20", "11:00"):
        book(
            visit,
            at(DAY, hhmm),
            patient=make_user(Role.PATIENT),
            actor=receptionist,
            now=booked_at(),
        )
    mail.outbox.clear()
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[index] = reminders_send_due(now=at(TODAY, "12:00"))
        except BaseException as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert all(isinstance(r, list) for r in results), results
    claimed = results[0] + results[1]
    assert sorted(claimed) == sorted(Appointment.objects.values_list("reference", flat=True))
    assert len(mail.outbox) == 4


# --- The SMS backend --------------------------------------------------------------------------


def test_the_default_sms_backend_logs_with_the_number_masked(settings, caplog):
    settings.CLINIC_SMS_BACKEND = "clinic_site.sms.LoggingSMSBackend"
    backend = get_sms_backend()
    assert isinstance(backend, LoggingSMSBackend)
    with caplog.at_level(logging.INFO, logger="clinic_site.sms"):
        backend.send("+44 7700 900123", "Hello")
    assert "SMS to …123: Hello" in caplog.text
    assert "900123" not in caplog.text


def test_no_sms_without_a_phone_number(sent, visit, receptionist, sms):
    patient = make_user(Role.PATIENT, phone="")
    confirmed(sent, visit, patient, receptionist)
    assert len(mail.outbox) == 1
    assert sms == []
    assert "phone number in your profile" not in mail.outbox[0].body  # in person: no call
