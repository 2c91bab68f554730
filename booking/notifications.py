"""Appointment notifications to the patient: e-mail (HTML and text, .ics when it is confirmed)
and a short SMS for the kinds that warrant one.

Services call `notify_appointment(...)` inside their transaction; it queues
`send_appointment_notice` with JSON-friendly arguments (the reference, the kind, the old start
of a reschedule) as part of that transaction (clinic_site.tasks): with django-tasks-db the task
row commits with the booking, on the immediate backend it is sent after the commit. A
rolled-back booking therefore sends nothing, a committed one cannot lose its notice, and the
task reads the committed row.

Reminders are claimed by `reminders_send_due` (run by `manage.py send_reminders`): it stamps
`reminder_sent_at` under a row lock before enqueueing, so overlapping runs never send one twice.

Nothing clinical goes into a message: not the patient's reason for the visit, not the record.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import dateformat, timezone
from django_tasks import task

from clinic_site.mail import render_email
from clinic_site.policies import clinic_tz, get_policies
from clinic_site.sms import send_sms
from clinic_site.tasks import enqueue_with_transaction, retry_later
from doctors.models import VisitMode

from .ics import CalendarEntry, build_ics
from .models import Appointment, Status

logger = logging.getLogger(__name__)


class Kind(StrEnum):
    RECEIVED = "received"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    REMINDER = "reminder"


SMS_KINDS = frozenset({Kind.CONFIRMED, Kind.CANCELLED, Kind.REMINDER})
PORTAL_PATH = "/portal/appointments/{reference}/"
DEFAULT_CLINIC_NAME = "Clinic Portal"


# --- Queueing (called by the services, inside their transaction) -------------------------------


def notify_appointment(
    appointment: Appointment,
    kind: Kind,
    *,
    old_start: datetime | None = None,
    by_clinic: bool = False,
) -> None:
    """Queue the patient's notice for after the current transaction commits."""
    _queue(appointment.reference, Kind(kind), old_start=old_start, by_clinic=by_clinic)


_quiet = threading.local()


@contextmanager
def notices_suppressed():
    """Write bookings without telling anyone: for loading demo or imported history, where the
    "patients" must not get hundreds of e-mails about visits that happened weeks ago."""
    previous = getattr(_quiet, "on", False)
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = previous


def _queue(
    reference: str, kind: Kind, *, old_start: datetime | None = None, by_clinic: bool = False
) -> None:
    if getattr(_quiet, "on", False):
        return
    kwargs = {
        "reference": reference,
        "kind": str(kind),
        "old_start": old_start.isoformat() if old_start else None,
        "by_clinic": bool(by_clinic),
    }
    enqueue_with_transaction(send_appointment_notice, **kwargs)


def notify_for_status(appointment: Appointment) -> None:
    """A new (or converted) booking: "received" while it waits for the clinic, else "confirmed".

    A payment hold says nothing yet: it is not an appointment until it is paid.
    """
    if appointment.status == Status.REQUESTED:
        notify_appointment(appointment, Kind.RECEIVED)
    elif appointment.status == Status.CONFIRMED:
        notify_appointment(appointment, Kind.CONFIRMED)


# --- Reminders --------------------------------------------------------------------------------


def reminders_send_due(*, now: datetime | None = None) -> list[str]:
    """Claim and queue the reminders of confirmed visits that start within the reminder window.

    One transaction: the due rows are locked, stamped with `reminder_sent_at` and the tasks are
    enqueued on commit. A concurrent run waits for the lock and then finds them stamped (on
    PostgreSQL the locked rows are re-checked after the wait; SQLite serialises writers), so a
    reminder is never sent twice. Walk-ins are left out: the patient is already at the desk.
    Returns the references queued.
    """
    now = now or timezone.now()
    window = timedelta(hours=get_policies().reminder_hours_before)
    with transaction.atomic():
        due = list(
            Appointment.objects.select_for_update()
            .filter(
                status=Status.CONFIRMED,
                reminder_sent_at__isnull=True,
                walk_in=False,
                start__gt=now,
                start__lte=now + window,
            )
            .order_by("pk")
            .values_list("pk", "reference")
        )
        if not due:
            return []
        Appointment.objects.filter(pk__in=[pk for pk, _ in due]).update(
            reminder_sent_at=now, updated_at=now
        )
        for _, reference in due:
            _queue(reference, Kind.REMINDER)
    return [reference for _, reference in due]


# --- The task ---------------------------------------------------------------------------------


@task()
def send_appointment_notice(
    reference: str,
    kind: str,
    old_start: str | None = None,
    by_clinic: bool = False,
    attempt: int = 1,
) -> bool:
    """Send one notice (e-mail, and SMS for some kinds). Returns whether anything was sent.

    An e-mail the mail server did not take is tried again later (clinic_site.mail's rule);
    the text message went out on the first try and is not repeated."""
    try:
        return deliver_notice(
            reference=reference,
            kind=Kind(kind),
            old_start=datetime.fromisoformat(old_start) if old_start else None,
            by_clinic=by_clinic,
            sms=attempt == 1,
        )
    except (OSError, smtplib.SMTPException):
        if attempt >= settings.CLINIC_EMAIL_ATTEMPTS:
            raise
        logger.warning(
            "The %s notice of %s (try %s) failed; trying again later.", kind, reference, attempt
        )
        retry_later(
            send_appointment_notice,
            attempt=attempt,
            reference=reference,
            kind=kind,
            old_start=old_start,
            by_clinic=by_clinic,
        )
        return False


def deliver_notice(
    *,
    reference: str,
    kind: Kind,
    old_start: datetime | None = None,
    by_clinic: bool = False,
    now: datetime | None = None,
    sms: bool = True,
) -> bool:
    now = now or timezone.now()
    appointment = (
        Appointment.objects.select_related("doctor", "patient", "visit_type")
        .filter(reference=reference)
        .first()
    )
    if appointment is None:
        logger.warning("No appointment %s for a %s notice", reference, kind)
        return False
    if kind == Kind.REMINDER and not _reminder_still_wanted(appointment, now):
        return False
    context = notice_context(appointment, kind, old_start=old_start, by_clinic=by_clinic)
    patient = appointment.patient
    if sms and kind in SMS_KINDS and patient.phone:
        send_sms(to=patient.phone, body=render_sms(kind, context))
    if patient.email:
        build_email(appointment, kind, context, now=now).send()
    return True


def _reminder_still_wanted(appointment: Appointment, now: datetime) -> bool:
    """Between the claim and the worker, the visit may have been cancelled, moved (the stamp is
    cleared and a new reminder will follow) or have begun."""
    return (
        appointment.status == Status.CONFIRMED
        and appointment.reminder_sent_at is not None
        and appointment.start > now
    )


# --- Content ----------------------------------------------------------------------------------


def clinic_details() -> dict[str, Any]:
    """The clinic's name and contact details as plain values.

    They live in Wagtail's generic setting `home.ClinicDetails`; it is looked up by label
    through Wagtail's settings registry (as `{% get_settings %}` does), because booking must
    not import `home`. Without it, the portal's own name stands in.
    """
    from wagtail.contrib.settings.registry import registry

    model = registry.get_by_natural_key("home", "clinicdetails")
    details = model.load() if model is not None else None
    if details is None:
        return {"name": DEFAULT_CLINIC_NAME, "address_lines": [], "phone": "", "email": ""}
    return {
        "name": details.name or DEFAULT_CLINIC_NAME,
        "address_lines": list(details.address_lines),
        "phone": details.phone,
        "email": details.email,
    }


def _site_url() -> str:
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/")


def portal_url(reference: str) -> str:
    return _site_url() + PORTAL_PATH.format(reference=reference)


def _fmt(value: datetime, pattern: str) -> str:
    """Format in the clinic's zone, whatever zone the request that queued it had activated."""
    return dateformat.format(value.astimezone(clinic_tz()), pattern)


def _moment(value: datetime) -> dict[str, str]:
    return {
        "date": _fmt(value, "l j F Y"),  # Tuesday 2 March 2027
        "short_date": _fmt(value, "D j M"),  # Tue 2 Mar
        "time": _fmt(value, "H:i"),
        "zone": value.astimezone(clinic_tz()).tzname() or "",
    }


def notice_context(
    appointment: Appointment,
    kind: Kind,
    *,
    old_start: datetime | None = None,
    by_clinic: bool = False,
) -> dict[str, Any]:
    """Everything the templates show, as plain values (no clinical fields on purpose)."""
    from .services import meeting_url  # services import this module to queue notices

    patient = appointment.patient
    visit_type = appointment.visit_type
    mode = visit_type.mode
    confirmed = appointment.status == Status.CONFIRMED
    clinic = clinic_details()
    reason = ""
    if kind == Kind.DECLINED or (kind == Kind.CANCELLED and by_clinic):
        reason = appointment.cancellation_reason
    return {
        "site_url": _site_url(),
        "kind": str(kind),
        "name": patient.full_name or patient.email,
        "reference": appointment.reference,
        "doctor": appointment.doctor.name,
        "visit_type": visit_type.name,
        "mode": mode,
        "mode_label": visit_type.get_mode_display(),
        "duration_minutes": visit_type.duration_minutes,
        "is_in_person": mode == VisitMode.IN_PERSON,
        "is_video": mode == VisitMode.VIDEO,
        "is_telephone": mode == VisitMode.TELEPHONE,
        "meeting_url": meeting_url(appointment) if mode == VisitMode.VIDEO else None,
        "call_phone": patient.phone,
        "start": _moment(appointment.start),
        "end": _moment(appointment.end),
        "old_start": _moment(old_start) if old_start else None,
        "status_label": appointment.get_status_display(),
        "is_confirmed": confirmed,
        "show_where": kind not in (Kind.DECLINED, Kind.CANCELLED),
        "has_calendar": _calendar_method(kind, appointment) is not None,
        "by_clinic": by_clinic,
        "reason": reason,
        "clinic": clinic,
        "portal_url": portal_url(appointment.reference),
    }


def _calendar_method(kind: Kind, appointment: Appointment) -> str | None:
    """Which calendar file goes with a notice: the event itself whenever the visit is confirmed,
    a cancellation when a visit is withdrawn, none while it still waits for the clinic."""
    if kind in (Kind.CONFIRMED, Kind.REMINDER) or (
        kind == Kind.RESCHEDULED and appointment.status == Status.CONFIRMED
    ):
        return "PUBLISH"
    if kind == Kind.CANCELLED and appointment.confirmed_at is not None:
        return "CANCEL"  # only a visit that was once confirmed can be in a calendar
    return None


def calendar_entry(appointment: Appointment, context: dict[str, Any]) -> CalendarEntry:
    clinic = context["clinic"]
    if context["is_in_person"]:
        location = ", ".join([clinic["name"], *clinic["address_lines"]])
    elif context["is_video"]:
        location = context["meeting_url"] or "Video call"
    else:
        location = "Telephone call"
    description = render_to_string("emails/appointment_base/calendar.txt", context).strip()
    return CalendarEntry(
        reference=appointment.reference,
        start=appointment.start,
        end=appointment.end,
        summary=f"{context['visit_type']} with {context['doctor']} – {clinic['name']}",
        location=location,
        description=description,
        url=context["portal_url"],
        sequence=_sequence(appointment),
    )


def _sequence(appointment: Appointment) -> int:
    """Each reschedule moves the event on; a cancellation supersedes the last version."""
    cancelled = appointment.status == Status.CANCELLED
    return appointment.reschedules.count() + (1 if cancelled else 0)


def build_email(
    appointment: Appointment,
    kind: Kind,
    context: dict[str, Any],
    *,
    now: datetime | None = None,
) -> EmailMultiAlternatives:
    subject, text, html = render_email(f"appointment_{kind}", context)
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [appointment.patient.email]
    )
    message.attach_alternative(html, "text/html")
    method = _calendar_method(kind, appointment)
    if method is not None:
        ics = build_ics(calendar_entry(appointment, context), cancel=method == "CANCEL", now=now)
        message.attach(f"appointment-{appointment.reference}.ics", ics, "text/calendar")
    return message


def render_sms(kind: Kind, context: dict[str, Any]) -> str:
    return " ".join(render_to_string(f"emails/appointment_{kind}/sms.txt", context).split())
