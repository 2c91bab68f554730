"""The patient's side of booking: the slot picker (public), the review step and the booked page,
my appointments, an appointment's details, cancelling, rescheduling and the "my data" download
(the visit summary is records.views).

Views parse input, call one selector or service and render; every rule lives in the services,
`rules.py` and `permissions.py`. The slot picker works as plain links and forms; a small script
(static/js/slot-picker.js) swaps weeks and visit types in place, asking for the picker fragment.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import dateformat, timezone
from django.views import View

from clinic_site.accounts.exceptions import EmailNotVerified
from clinic_site.accounts.models import PatientProfile
from clinic_site.accounts.roles import Role
from clinic_site.dates import parse_query_date, parse_query_datetime
from clinic_site.exceptions import ClinicError, Forbidden
from clinic_site.policies import clinic_tz, get_policies
from doctors import rules as slot_rules
from doctors.models import Doctor, VisitMode, VisitType

from . import notifications, selectors, services
from .exceptions import IdempotencyKeyReused, PatientOverlap, SlotUnavailable
from .forms import BookingForm, CancelForm, RescheduleForm
from .ics import build_ics
from .models import INACTIVE_STATUSES, Appointment, Status
from .permissions import appointment_get_for_user, duration_words, patient_action_notes

PICKER_DAYS = 7
FRAGMENT_HEADER = "fetch"  # X-Requested-With of the slot picker's script
HISTORY_PAGE_SIZE = 20


def _home_for(user) -> str:
    if user.uses_admin_area:
        return reverse("wagtailadmin_home")
    return reverse("portal:home")


class PatientPortalMixin(LoginRequiredMixin):
    """Signed-in patients only; staff are sent to their dashboard (booking on a patient's behalf
    happens there)."""

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and user.role != Role.PATIENT:
            messages.info(
                request, "The patient portal is for patients; staff work in the dashboard."
            )
            return redirect(_home_for(user))
        return super().dispatch(request, *args, **kwargs)


def _bookable_doctor(slug: str) -> Doctor:
    return get_object_or_404(
        Doctor.objects.prefetch_related(
            Prefetch(
                "visit_types",
                queryset=VisitType.objects.filter(is_active=True),
                to_attr="active_visit_types",
            ),
            "specialties",
        ),
        slug=slug,
        is_active=True,
    )


def _chosen_visit_type(doctor: Doctor, value) -> VisitType | None:
    visit_types = doctor.active_visit_types
    chosen = None
    if value and re.fullmatch(r"[0-9]{1,18}", str(value)):
        chosen = next((vt for vt in visit_types if vt.pk == int(value)), None)
    chosen = chosen or (visit_types[0] if visit_types else None)
    if chosen is not None:
        chosen.doctor = doctor
    return chosen


def _picker_url(doctor: Doctor, visit_type: VisitType, week: date) -> str:
    query = urlencode({"visit_type": visit_type.pk, "week": week.isoformat()})
    return f"{reverse('booking:pick', args=[doctor.slug])}?{query}"


def _review_url(doctor: Doctor, visit_type: VisitType, start: datetime) -> str:
    query = urlencode({"visit_type": visit_type.pk, "start": start.isoformat()})
    return f"{reverse('booking:review', args=[doctor.slug])}?{query}"


def pending_booking(url: str | None) -> dict | None:
    """The slot a visitor chose before being asked to sign in or register, read back from the
    review URL they will return to (`next`): doctor, visit type, start and end in the clinic's
    zone, and the picker to choose again. None for any other URL or a slot no longer bookable
    by its description (a doctor gone, a visit type withdrawn): the page then says nothing."""
    if not url:
        return None
    parts = urlsplit(url)
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    if match.view_name != "booking:review":
        return None
    query = parse_qs(parts.query)
    start = parse_query_datetime((query.get("start") or [""])[0])
    wanted = (query.get("visit_type") or [""])[0]
    try:
        doctor = _bookable_doctor(match.kwargs["slug"])
    except Http404:
        return None
    visit_type = _chosen_visit_type(doctor, wanted)
    if start is None or visit_type is None or str(visit_type.pk) != wanted:
        return None
    local = start.astimezone(clinic_tz())
    return {
        "doctor": doctor,
        "visit_type": visit_type,
        "start": local,
        "end": local + timedelta(minutes=visit_type.duration_minutes),
        "picker_url": _picker_url(doctor, visit_type, local.date()),
    }


# --- The slot picker --------------------------------------------------------------------------


@dataclass
class PickerDay:
    day: date
    slots: list  # of (slot, url)


@dataclass
class SlotWeek:
    start: date
    end: date
    days: list[PickerDay]
    slots: list


def slot_week(
    *,
    visit_type: VisitType,
    requested: date | None,
    now: datetime,
    policies,
    slot_url,
    exclude_appointment: int | None = None,
    front_desk: bool = False,
) -> SlotWeek:
    """A week of offered slots from `requested` (kept between today and the booking horizon),
    grouped by the clinic's local date, each with where choosing it leads (`slot_url(slot)`).
    The patient's picker, the dashboard's reschedule and the desk's booking all show this."""
    today = now.astimezone(clinic_tz()).date()
    last_day = today + timedelta(days=policies.booking_horizon_days)
    start = min(max(requested or today, today), last_day)
    end = min(start + timedelta(days=PICKER_DAYS - 1), last_day)
    slots = selectors.slot_search(
        visit_type=visit_type,
        date_from=start,
        date_to=end,
        now=now,
        policies=policies,
        exclude_appointment=exclude_appointment,
        front_desk=front_desk,
    )
    tz = clinic_tz()
    by_day: dict[date, list] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(tz).date(), []).append((slot, slot_url(slot)))
    days = [
        PickerDay(day, by_day.get(day, []))
        for day in (start + timedelta(days=i) for i in range((end - start).days + 1))
    ]
    return SlotWeek(start, end, days, slots)


def _without_own_clashes(user, days, week_start, week_end, now, exclude_appointment):
    """A signed-in patient's week with the times that overlap their own other appointments (any
    doctor) marked instead of offered: booking one would only be refused at the end
    (`patient_overlap`). Their link becomes None; the template says why. One query, and none
    for visitors and staff."""
    if not (user.is_authenticated and getattr(user, "role", None) == Role.PATIENT):
        return days
    lo, hi = selectors.local_day_range(week_start)[0], selectors.local_day_range(week_end)[1]
    own = list(
        Appointment.objects.filter(patient=user, start__lt=hi, end__gt=lo)
        .exclude(status__in=INACTIVE_STATUSES)
        .exclude(status=Status.HELD, hold_expires_at__lte=now)
        .exclude(pk=exclude_appointment)
        .values_list("start", "end")
    )
    if not own:
        return days
    return [
        PickerDay(
            day.day,
            [
                (slot, None if any(s < slot.end and slot.start < e for s, e in own) else url)
                for slot, url in day.slots
            ],
        )
        for day in days
    ]


def picker_context(
    request,
    *,
    doctor: Doctor,
    visit_type: VisitType,
    slot_url,
    picker_url: str,
    exclude_appointment: int | None = None,
    front_desk: bool = False,
) -> dict:
    """One week of offered slots for the picker, with links to the previous and next weeks.

    `slot_url(slot)` is where choosing a slot leads (the review step, or a reschedule's
    confirmation); `picker_url` is the picker's own address, for the week and visit-type links.
    """
    policies = get_policies(request)
    now = timezone.now()
    today = now.astimezone(clinic_tz()).date()
    last_day = today + timedelta(days=policies.booking_horizon_days)
    week = slot_week(
        visit_type=visit_type,
        requested=parse_query_date(request.GET.get("week")),
        now=now,
        policies=policies,
        slot_url=slot_url,
        exclude_appointment=exclude_appointment,
        front_desk=front_desk,
    )
    week_start, week_end, days, slots = week.start, week.end, week.days, week.slots
    tz = clinic_tz()
    if not front_desk:
        days = _without_own_clashes(
            request.user, days, week_start, week_end, now, exclude_appointment
        )

    def week_link(day: date | None) -> str | None:
        if day is None:
            return None
        return f"{picker_url}?{urlencode({'visit_type': visit_type.pk, 'week': day.isoformat()})}"

    previous_week = (
        max(week_start - timedelta(days=PICKER_DAYS), today) if week_start > today else None
    )
    next_week = week_start + timedelta(days=PICKER_DAYS)
    first_available = None
    if not slots:
        found = selectors.next_available([visit_type], now=now, policies=policies).get(
            visit_type.pk
        )
        if found is not None and found.astimezone(tz).date() > week_end:
            first_available = (found, week_link(found.astimezone(tz).date()))
    return {
        "doctor": doctor,
        "visit_type": visit_type,
        "visit_types": [
            (vt, f"{picker_url}?{urlencode({'visit_type': vt.pk, 'week': week_start.isoformat()})}")
            for vt in doctor.active_visit_types
        ],
        "days": days,
        "slot_count": len(slots),
        "week_start": week_start,
        "week_end": week_end,
        "previous_week_url": week_link(previous_week),
        "next_week_url": week_link(next_week if next_week <= last_day else None),
        "first_available": first_available,
        "picker_url": picker_url,
        "online_booking_closed": not doctor.accepting_bookings and not front_desk,
    }


def _render_picker(request, template: str, context: dict) -> HttpResponse:
    if request.headers.get("X-Requested-With") == FRAGMENT_HEADER:
        return render(request, "booking/includes/slot_picker.html", context)
    return render(request, template, context)


class SlotPickerView(View):
    """Week by week, per visit type: the doctor's offered slots, each a link to the review."""

    def get(self, request, slug: str):
        doctor = _bookable_doctor(slug)
        visit_type = _chosen_visit_type(doctor, request.GET.get("visit_type"))
        if visit_type is None:
            return render(request, "booking/slot_picker.html", {"doctor": doctor, "days": []})
        context = picker_context(
            request,
            doctor=doctor,
            visit_type=visit_type,
            slot_url=lambda slot: _review_url(doctor, visit_type, slot.start),
            picker_url=reverse("booking:pick", args=[doctor.slug]),
        )
        context["doctor_page_url"] = _doctor_page_url(request, doctor)
        return _render_picker(request, "booking/slot_picker.html", context)


def _doctor_page_url(request, doctor: Doctor) -> str | None:
    """The doctor's public page (home.DoctorPage, reached through the reverse relation)."""
    try:
        page = doctor.page
    except ObjectDoesNotExist:
        return None
    return page.get_url(request) if page.live else None


# --- Review and book --------------------------------------------------------------------------


def _policy_sentences(doctor: Doctor, policies) -> list[str]:
    needs_confirmation = (
        doctor.confirmation_required
        if doctor.confirmation_required is not None
        else policies.confirmation_required
    )
    sentences = []
    if needs_confirmation:
        sentences.append(
            "The clinic confirms every request; we e-mail you as soon as yours is confirmed."
        )
    else:
        sentences.append("Your booking is confirmed straight away; we e-mail you the details.")
    sentences.append(
        "You can cancel online until "
        f"{duration_words(policies.cancellation_cutoff)} before the visit, and move it to "
        f"another time until {duration_words(policies.reschedule_cutoff)} before "
        f"(up to {policies.max_reschedules} times). After that, please call the clinic."
    )
    return sentences


# Session key: the reason typed for a time taken meanwhile, for the alternative chosen next.
KEPT_REASON = "clinic_booking_reason"


class ReviewView(PatientPortalMixin, View):
    """The chosen slot in full — doctor, visit type, time, price, policy — and the reason;
    POST books it."""

    template_name = "booking/review.html"

    def _setup(self, request, slug):
        doctor = _bookable_doctor(slug)
        visit_type = _chosen_visit_type(doctor, request.GET.get("visit_type"))
        start = parse_query_datetime(request.GET.get("start"))
        if visit_type is None or start is None:
            raise Http404("Choose a time from the doctor's available slots.")
        if str(visit_type.pk) != str(request.GET.get("visit_type")):
            raise Http404("This doctor offers no such visit type.")
        return doctor, visit_type, start

    def _context(self, request, doctor, visit_type, start, form, **extra):
        policies = get_policies(request)
        return {
            "doctor": doctor,
            "visit_type": visit_type,
            "start": start.astimezone(clinic_tz()),
            "end": start + timedelta(minutes=visit_type.duration_minutes),
            "form": form,
            "policy_sentences": _policy_sentences(doctor, policies),
            "picker_url": _picker_url(doctor, visit_type, start.astimezone(clinic_tz()).date()),
            **extra,
        }

    def _taken(self, request, doctor, visit_type, start, form, message, alternatives=None):
        reason = form.cleaned_data.get("reason") if form.is_bound and form.is_valid() else ""
        if reason:
            # The patient picks an alternative next: its review starts with what they wrote
            # (kept in the session, never in a URL).
            request.session[KEPT_REASON] = {"doctor": doctor.pk, "reason": reason}
        if alternatives is None:
            alternatives = selectors.slot_alternatives(
                visit_type, start, policies=get_policies(request)
            )
        alternatives = [
            alt if isinstance(alt, slot_rules.Slot) else slot_rules.Slot(alt["start"], alt["end"])
            for alt in alternatives
        ]
        context = self._context(
            request,
            doctor,
            visit_type,
            start,
            form,
            taken_message=message,
            alternatives=[
                (alt, _review_url(doctor, visit_type, alt.start)) for alt in alternatives
            ],
        )
        return render(request, self.template_name, context, status=409)

    def _verify_first(self, request):
        messages.info(request, "Please confirm your e-mail address first; then you can book.")
        return redirect(
            f"{reverse('accounts:verify')}?{urlencode({'next': request.get_full_path()})}"
        )

    def get(self, request, slug: str):
        doctor, visit_type, start = self._setup(request, slug)
        if not request.user.email_verified:
            return self._verify_first(request)
        kept = request.session.pop(KEPT_REASON, None)
        reason = kept["reason"] if kept and kept.get("doctor") == doctor.pk else ""
        form = BookingForm(initial={"reason": reason})
        if (
            selectors.slot_offered(
                visit_type=visit_type, start=start, policies=get_policies(request)
            )
            is None
        ):
            return self._taken(
                request,
                doctor,
                visit_type,
                start,
                form,
                "Sorry — that time is no longer available.",
            )
        return render(
            request, self.template_name, self._context(request, doctor, visit_type, start, form)
        )

    def post(self, request, slug: str):
        doctor, visit_type, start = self._setup(request, slug)
        form = BookingForm(request.POST)
        if not form.is_valid():
            context = self._context(request, doctor, visit_type, start, form)
            return render(request, self.template_name, context, status=400)
        try:
            appointment = services.appointment_book(
                actor=request.user,
                patient=request.user,
                visit_type=visit_type,
                start=start,
                reason=form.cleaned_data["reason"],
                idempotency_key=form.cleaned_data["request_key"],
            )
        except SlotUnavailable as exc:
            if not doctor.accepting_bookings:
                form.add_error(
                    None,
                    f"{doctor.name} is not taking online bookings at the moment; "
                    "please call the clinic.",
                )
                context = self._context(request, doctor, visit_type, start, form)
                return render(request, self.template_name, context, status=409)
            return self._taken(
                request,
                doctor,
                visit_type,
                start,
                form,
                "Sorry — someone has just taken that time.",
                exc.extra.get("alternatives", []),
            )
        except EmailNotVerified:
            return self._verify_first(request)
        except (PatientOverlap, IdempotencyKeyReused, Forbidden) as exc:
            form.add_error(None, exc.detail)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("booking:booked", reference=appointment.reference)
        context = self._context(request, doctor, visit_type, start, form)
        return render(request, self.template_name, context, status=409)


class BookedView(PatientPortalMixin, View):
    def get(self, request, reference: str):
        appointment = appointment_get_for_user(request.user, reference)
        return render(request, "booking/booked.html", {"appointment": appointment})


# --- My appointments --------------------------------------------------------------------------


class AppointmentListView(PatientPortalMixin, View):
    def get(self, request):
        now = timezone.now()
        tab = "history" if request.GET.get("tab") == "history" else "upcoming"
        if tab == "upcoming":
            appointments = list(selectors.patient_upcoming(request.user, now=now))
            page = None
        else:
            page = Paginator(selectors.patient_history(request.user, now=now), HISTORY_PAGE_SIZE)
            page = page.get_page(request.GET.get("page"))
            appointments = list(page.object_list)
        return render(
            request,
            "booking/appointment_list.html",
            {"tab": tab, "appointments": appointments, "page_obj": page, "now": now},
        )


@dataclass
class TimelineEvent:
    at: datetime
    title: str
    detail: str = ""
    kind: str = ""  # a status in lower case, or "moved"


def _who(user, viewer) -> str:
    if user is None:
        return "the clinic"
    return "you" if user.pk == viewer.pk else "the clinic"


def timeline(appointment, viewer) -> list[TimelineEvent]:
    """The appointment's story for its patient: status changes and moves, oldest first."""
    tz = clinic_tz()
    events = []
    for t in appointment.transitions.all():
        who = _who(t.by, viewer)
        details = t.details or {}
        if t.to_status == Status.CANCELLED and details.get("declined"):
            title = "Declined by the clinic"
        elif t.to_status == Status.CANCELLED:
            title = f"Cancelled by {who}"
        elif t.to_status == Status.REQUESTED and details.get("rescheduled"):
            title = "Moved — waiting for the clinic to confirm the new time"
        elif t.to_status == Status.REQUESTED:
            title = f"Requested by {who}"
        elif t.to_status == Status.CONFIRMED:
            title = "Confirmed" if t.from_status else f"Booked and confirmed by {who}"
        else:
            title = _EVENT_TITLES.get(t.to_status, t.get_to_status_display())
        events.append(TimelineEvent(t.at, title, t.reason, t.to_status.lower()))
    for r in appointment.reschedules.all():
        old, new = r.old_start.astimezone(tz), r.new_start.astimezone(tz)
        title = (
            f"Moved by {_who(r.changed_by, viewer)} from {dateformat.format(old, 'D j M, H:i')} "
            f"to {dateformat.format(new, 'D j M, H:i')}"
        )
        events.append(TimelineEvent(r.changed_at, title, r.reason, "moved"))
    return sorted(events, key=lambda e: e.at)


_EVENT_TITLES = {
    Status.HELD: "Time held for you",
    Status.CHECKED_IN: "Checked in at the clinic",
    Status.COMPLETED: "Visit completed",
    Status.NO_SHOW: "Marked as missed",
    Status.RELEASED: "Hold ended",
}


def _book_again_url(appointment) -> str | None:
    """For a cancelled or missed visit: the doctor's slot picker on the same visit type, when the
    doctor still takes bookings online."""
    if appointment.status not in (Status.CANCELLED, Status.NO_SHOW, Status.RELEASED):
        return None
    doctor, visit_type = appointment.doctor, appointment.visit_type
    if not (doctor.is_active and doctor.accepting_bookings):
        return None
    url = reverse("booking:pick", args=[doctor.slug])
    return f"{url}?visit_type={visit_type.pk}" if visit_type.is_active else url


class AppointmentDetailView(PatientPortalMixin, View):
    def get(self, request, reference: str):
        appointment = selectors.appointment_history(
            appointment_get_for_user(request.user, reference)
        )
        now = timezone.now()
        policies = get_policies(request)
        notes = patient_action_notes(request.user, appointment, now=now, policies=policies)
        return render(
            request,
            "booking/appointment_detail.html",
            {
                "appointment": appointment,
                "notes": notes,
                "can_cancel": notes["cancel"] is None,
                "can_reschedule": notes["reschedule"] is None,
                "meeting_url": services.meeting_url(appointment)
                if appointment.visit_type.mode == VisitMode.VIDEO
                else None,
                "timeline": timeline(appointment, request.user),
                "reschedules": list(appointment.reschedules.all()),
                "has_summary": appointment.status == Status.COMPLETED,
                "book_again_url": _book_again_url(appointment),
                # How to get there or join only matters while the visit is still ahead.
                "is_ahead": appointment.status in selectors.UPCOMING_STATUSES
                and appointment.end > now,
            },
        )


class CalendarFileView(PatientPortalMixin, View):
    """The visit as an .ics file, to add to the patient's own calendar (same UID as the e-mails'
    attachments, so re-importing updates the event instead of duplicating it)."""

    def get(self, request, reference: str):
        appointment = appointment_get_for_user(request.user, reference)
        if appointment.status not in (Status.REQUESTED, Status.CONFIRMED):
            raise Http404("Only upcoming visits can be added to a calendar.")
        context = notifications.notice_context(appointment, notifications.Kind.CONFIRMED)
        body = build_ics(notifications.calendar_entry(appointment, context))
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="appointment-{appointment.reference}.ics"'
        )
        return response


class CancelView(PatientPortalMixin, View):
    template_name = "booking/cancel.html"

    def _context(self, request, appointment, form):
        policies = get_policies(request)
        return {
            "appointment": appointment,
            "form": form,
            "cutoff": duration_words(policies.cancellation_cutoff),
            "note": patient_action_notes(
                request.user, appointment, now=timezone.now(), policies=policies
            )["cancel"],
        }

    def get(self, request, reference: str):
        appointment = appointment_get_for_user(request.user, reference)
        return render(
            request, self.template_name, self._context(request, appointment, CancelForm())
        )

    def post(self, request, reference: str):
        appointment = appointment_get_for_user(request.user, reference)
        form = CancelForm(request.POST)
        if form.is_valid():
            try:
                services.appointment_act(
                    appointment=appointment,
                    actor=request.user,
                    action="cancel",
                    reason=form.cleaned_data["reason"],
                )
            except ClinicError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, "Your appointment is cancelled. We have e-mailed you.")
                return redirect("booking:detail", reference=appointment.reference)
        context = self._context(request, appointment, form)
        return render(request, self.template_name, context, status=400 if form.errors else 200)


class RescheduleView(PatientPortalMixin, View):
    """The slot picker again, for the same doctor and visit type; a slot leads to confirmation."""

    def get(self, request, reference: str):
        appointment = appointment_get_for_user(request.user, reference)
        note = patient_action_notes(
            request.user, appointment, now=timezone.now(), policies=get_policies(request)
        )["reschedule"]
        if note is not None:
            messages.warning(request, note)
            return redirect("booking:detail", reference=appointment.reference)
        doctor = _bookable_doctor(appointment.doctor.slug)
        visit_type = appointment.visit_type
        visit_type.doctor = doctor
        doctor.active_visit_types = [visit_type]
        confirm_url = reverse("booking:reschedule_confirm", args=[appointment.reference])
        context = picker_context(
            request,
            doctor=doctor,
            visit_type=visit_type,
            slot_url=lambda slot: f"{confirm_url}?{urlencode({'start': slot.start.isoformat()})}",
            picker_url=reverse("booking:reschedule", args=[appointment.reference]),
            exclude_appointment=appointment.pk,
        )
        context["appointment"] = appointment
        return _render_picker(request, "booking/reschedule.html", context)


class RescheduleConfirmView(PatientPortalMixin, View):
    template_name = "booking/reschedule_confirm.html"

    def _setup(self, request, reference):
        appointment = appointment_get_for_user(request.user, reference)
        new_start = parse_query_datetime(request.GET.get("start"))
        if new_start is None:
            raise Http404("Choose a new time from the available slots.")
        return appointment, new_start

    def _context(self, request, appointment, new_start, form, **extra):
        return {
            "appointment": appointment,
            "new_start": new_start.astimezone(clinic_tz()),
            "new_end": new_start + timedelta(minutes=appointment.visit_type.duration_minutes),
            "form": form,
            "picker_url": reverse("booking:reschedule", args=[appointment.reference]),
            **extra,
        }

    def get(self, request, reference: str):
        appointment, new_start = self._setup(request, reference)
        note = patient_action_notes(
            request.user, appointment, now=timezone.now(), policies=get_policies(request)
        )["reschedule"]
        if note is not None:  # an old link: the appointment can no longer be moved online
            messages.warning(request, note)
            return redirect("booking:detail", reference=appointment.reference)
        return render(
            request,
            self.template_name,
            self._context(request, appointment, new_start, RescheduleForm()),
        )

    def post(self, request, reference: str):
        appointment, new_start = self._setup(request, reference)
        form = RescheduleForm(request.POST)
        if form.is_valid():
            try:
                services.appointment_reschedule(
                    appointment=appointment,
                    actor=request.user,
                    new_start=new_start,
                    reason=form.cleaned_data["reason"],
                )
            except SlotUnavailable:
                form.add_error(
                    None,
                    "Sorry — that time has just been taken. Please choose another one.",
                )
            except ClinicError as exc:
                form.add_error(None, exc.detail)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Your appointment is moved. We have e-mailed you.")
                return redirect("booking:detail", reference=appointment.reference)
        context = self._context(request, appointment, new_start, form)
        return render(request, self.template_name, context, status=409)


# --- "My data" ------------------------------------------------------------------------------------


def _plain(value):
    """Countries (django-countries) as their codes; everything else as it is."""
    return getattr(value, "code", value) if value is not None else None


def _person(user) -> str | None:
    return user.full_name if user is not None else None


class MyDataView(PatientPortalMixin, View):
    """Everything the clinic holds about the patient's account and bookings, as JSON."""

    def get(self, request):
        user = request.user
        profile = PatientProfile.objects.filter(user=user).first()
        appointments = (
            selectors.appointments_visible_to(user)
            .prefetch_related("transitions__by", "reschedules__changed_by")
            .order_by("start", "pk")
        )
        data = {
            "exported_at": timezone.now(),
            "account": {
                "email": user.email,
                "full_name": user.full_name,
                "phone": user.phone,
                "national_id": user.national_id,
                "email_verified": user.email_verified,
                "date_joined": user.date_joined,
            },
            "profile": None
            if profile is None
            else {
                field.name: _plain(getattr(profile, field.name))
                for field in PatientProfile._meta.concrete_fields
                if field.name not in ("user", "updated_at")
            },
            "appointments": [
                {
                    "reference": a.reference,
                    "doctor": a.doctor.name,
                    "visit_type": a.visit_type.name,
                    "mode": a.visit_type.mode,
                    "start": a.start,
                    "end": a.end,
                    "status": a.status,
                    "reason": a.reason,
                    "cancellation_reason": a.cancellation_reason,
                    "price": a.price,
                    "payment_status": a.payment_status,
                    "created_at": a.created_at,
                    "transitions": [
                        {
                            "from": t.from_status or None,
                            "to": t.to_status,
                            "by": _person(t.by),
                            "at": t.at,
                            "reason": t.reason,
                        }
                        for t in a.transitions.all()
                    ],
                    "reschedules": [
                        {
                            "old_start": r.old_start,
                            "new_start": r.new_start,
                            "changed_by": _person(r.changed_by),
                            "reason": r.reason,
                            "changed_at": r.changed_at,
                        }
                        for r in a.reschedules.all()
                    ],
                }
                for a in appointments
            ],
        }
        body = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="my-clinic-data-{stamp}.json"'
        return response
